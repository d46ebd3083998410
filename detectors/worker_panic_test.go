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
// CatchWorkerPanic (the test binary dies) and a caught panic that is
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

// TestShardPanicRaisedInCaller: a panic while a training shard runs in
// its worker goroutine reaches the caller of the step as a *WorkerPanic,
// after the other shard is done, and the runner's workers then stop.
// Catches: a shard worker without CatchWorkerPanic (the test binary dies)
// and a runner that drops the panic (run returns normally).
func TestShardPanicRaisedInCaller(t *testing.T) {
	opts, err := normalizeOptions("test", deepSVDD{}, opts("hidden", "4,2"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := deepSVDD{}.Init(3, opts, newRand(1))
	if err != nil {
		t.Fatal(err)
	}
	shards, err := buildShards(deepSVDD{}, st, 2*minShardRows, 3, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) < 2 {
		t.Fatalf("%d shards, want several", len(shards))
	}
	boom := shards[1].prog
	boom.steps = append(boom.steps, progStep{node: shards[1].loss, run: func() error { panic("shard boom") }})
	r := startShards(shards)
	defer r.stop()
	x := make([]float64, 2*minShardRows*3)
	idx := make([]int, 2*minShardRows)
	var got any
	func() {
		defer func() { got = recover() }()
		r.run(x, 3, idx, nil)
	}()
	wp, ok := got.(*WorkerPanic)
	if !ok || wp.Value != "shard boom" {
		t.Fatalf("a panicking shard: recovered %#v, want a *WorkerPanic of the shard's", got)
	}
	if !strings.Contains(string(wp.Stack), "TestShardPanicRaisedInCaller") {
		t.Errorf("WorkerPanic stack does not show the shard's step:\n%s", wp.Stack)
	}
}
