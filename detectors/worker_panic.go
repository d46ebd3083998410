package detectors

import (
	"fmt"
)

// WorkerPanic is a panic of one of the goroutines this package starts
// (ScoreBatch and ScoreMatrix over large inputs, training shards), raised
// again in the goroutine that started them once they are done, so that a
// recover there sees it (a panic in any other goroutine ends the
// process). Value is what the worker panicked with and Stack its stack
// at that moment.
type WorkerPanic struct {
	Value any
	Stack []byte
}

// Error implements error.
func (p *WorkerPanic) Error() string { return fmt.Sprint(p.Value) }

// repanic raises again the first panic of workers, if any: call it after
// waiting for them.
func repanic(panics []*WorkerPanic) {
	for _, p := range panics {
		if p != nil {
			panic(p)
		}
	}
}
