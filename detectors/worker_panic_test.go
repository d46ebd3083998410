package detectors

import (
	"runtime"
	"strings"
	"testing"
)

// TestWorkerPanicRaisedInCaller: a panic in one of the goroutines of
// Model.parallel (scoring large batches) reaches the caller as a
// *WorkerPanic with the worker's stack, after every worker is done,
// instead of ending the process. Catches: a worker goroutine without
// catchWorkerPanic (the test binary dies) and a caught panic that is
// dropped (parallel returns normally).
func TestWorkerPanicRaisedInCaller(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs two workers (GOMAXPROCS >= 2)")
	}
	m := &Model{}
	m.pool.New = func() any { return (*scratch)(nil) }
	var got any
	func() {
		defer func() { got = recover() }()
		m.parallel(4*minRowsPerWorker, func(lo, hi int, _ *scratch) error {
			if lo > 0 {
				panic("worker boom")
			}
			return nil
		})
	}()
	wp, ok := got.(*WorkerPanic)
	if !ok {
		t.Fatalf("parallel with a panicking worker: recovered %#v, want a *WorkerPanic", got)
	}
	if wp.Value != "worker boom" || wp.Error() != "worker boom" {
		t.Errorf("WorkerPanic value %v, want the worker's", wp.Value)
	}
	if !strings.Contains(string(wp.Stack), "TestWorkerPanicRaisedInCaller") {
		t.Errorf("WorkerPanic stack does not show the worker's function:\n%s", wp.Stack)
	}
}
