package engine

// A floor under the garbage collector's heap goal.
//
// Go collects when the heap has grown by GOGC % (100) of the live heap
// after the last collection. A server whose live heap is small (tens of
// MB between statements, the cache empty or small) therefore collects
// every few MB of garbage: with 16 connections inserting single rows a
// fifth of the CPU went to the collector. The floor makes the goal
// live + max(live, floor) instead of 2·live: below the floor the heap may
// grow by the floor before a collection; at or above it Go's default
// applies unchanged. The resident set grows by at most the floor, a
// constant, whatever the tables' sizes, and the soft memory limit
// (--max-memory, memory_limit.go) still makes the collector work harder
// near the limit.
//
// The goal is adjusted once per collection: a sentinel object's
// finalizer runs after each collection that found it unreachable, sets
// GOGC from the live heap that collection left (runtime/metrics
// /gc/heap/live:bytes), and arms a new sentinel. GOGC is left alone if
// the environment sets it.

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// gcFloorMax bounds the floor, which is otherwise an eighth of
// --max-memory.
const gcFloorMax = 128 << 20

// gcPercentMax bounds the GOGC the floor sets, for a nearly empty heap.
const gcPercentMax = 10000

// gcFloorPercent returns the GOGC that puts the heap goal at live +
// max(live, floor): 100 at or above the floor, floor·100/live below it
// (at most gcPercentMax).
func gcFloorPercent(live, floor uint64) int {
	if live >= floor {
		return 100
	}
	if live == 0 || floor/live >= gcPercentMax/100 {
		return gcPercentMax
	}
	return int(floor * 100 / live)
}

// gcFloorOnce starts the process's floor once, processGCFloor: every
// server of a process shares its garbage collector.
var (
	gcFloorOnce    sync.Once
	processGCFloor *gcFloor // nil until started, or if GOGC is set
)

// startGCFloor sets a floor of min(limit/8, gcFloorMax) bytes under the
// collector's goal for the rest of the process (the first call's
// limit), unless GOGC is set in the environment.
func startGCFloor(limit int64) {
	gcFloorOnce.Do(func() {
		if _, set := os.LookupEnv("GOGC"); set {
			return
		}
		floor := uint64(min(limit/8, gcFloorMax))
		if floor == 0 {
			return
		}
		processGCFloor = &gcFloor{floor: floor, percent: 100, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
		processGCFloor.arm()
	})
}

// gcFloor is the running floor.
type gcFloor struct {
	floor   uint64
	percent int // the GOGC last set
	sample  []metrics.Sample
}

// gcSentinel is garbage as soon as it is made; its finalizer runs after
// the next collection.
type gcSentinel struct{ g *gcFloor }

func (g *gcFloor) arm() {
	runtime.SetFinalizer(&gcSentinel{g: g}, func(s *gcSentinel) {
		s.g.adjust()
		s.g.arm()
	})
}

// adjust sets GOGC for the live heap the last collection left, if it
// changed (SetGCPercent briefly stops the world).
func (g *gcFloor) adjust() {
	metrics.Read(g.sample)
	if p := gcFloorPercent(g.sample[0].Value.Uint64(), g.floor); p != g.percent {
		debug.SetGCPercent(p)
		g.percent = p
	}
}
