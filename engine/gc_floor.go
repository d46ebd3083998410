package engine

// Bounds on the garbage collector's headroom.
//
// Go collects when the heap has grown by GOGC % (100) of the live heap
// after the last collection: the headroom, garbage let accumulate, is the
// live heap itself. Both ends of that fit a database server badly:
//   - a small live heap (tens of MB between statements, the cache empty
//     or small) is collected every few MB of garbage: with 16 connections
//     inserting single rows a fifth of the CPU went to the collector;
//   - a large one (the cache full: --cache-memory) lets as much garbage
//     pile up again, so that a scan of a table larger than the cache
//     held about twice the cache (1.2 GB with a 512 MB cache).
// So the headroom is clamped: at least a floor (an eighth of
// --max-memory, at most 128 MB) and at most the larger of a cap (twice
// the floor) and a quarter of the live heap. The resident set then
// exceeds the live heap by at most a constant up to a heap of four times
// the cap, and by a quarter beyond (where the collector's work per byte
// allocated is at most four times Go's default); the soft memory limit
// (--max-memory, memory_limit.go) still makes the collector work harder
// near the limit.
//
// The headroom is set once per collection: a sentinel object's finalizer
// runs after each collection that found it unreachable, sets GOGC from
// the live heap that collection left (runtime/metrics
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
// --max-memory; the cap is twice the floor.
const gcFloorMax = 128 << 20

// gcPercentMax bounds the GOGC the floor sets, for a nearly empty heap;
// gcPercentMin is the least the cap sets (a headroom of a quarter of the
// live heap).
const (
	gcPercentMax = 10000
	gcPercentMin = 25
)

// gcFloorPercent returns the GOGC whose headroom is the live heap clamped
// to [floor, max(ceil, live/4)]: floor·100/live below the floor (at most
// gcPercentMax), 100 between floor and ceil, ceil·100/live above ceil (at
// least gcPercentMin).
func gcFloorPercent(live, floor, ceil uint64) int {
	switch {
	case live == 0 || live < floor && floor/live >= gcPercentMax/100:
		return gcPercentMax
	case live < floor:
		return int(floor * 100 / live)
	case live <= ceil:
		return 100
	}
	return max(int(ceil*100/live), gcPercentMin)
}

// gcFloorOnce starts the process's floor once, processGCFloor: every
// server of a process shares its garbage collector.
var (
	gcFloorOnce    sync.Once
	processGCFloor *gcFloor // nil until started, or if GOGC is set
)

// startGCFloor bounds the collector's headroom (a floor of
// min(limit/8, gcFloorMax) bytes, a cap of twice that) for the rest of the
// process (the first call's limit), unless GOGC is set in the
// environment.
func startGCFloor(limit int64) {
	gcFloorOnce.Do(func() {
		if _, set := os.LookupEnv("GOGC"); set {
			return
		}
		floor := uint64(min(limit/8, gcFloorMax))
		if floor == 0 {
			return
		}
		processGCFloor = &gcFloor{floor: floor, ceil: 2 * floor, percent: 100, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
		processGCFloor.arm()
	})
}

// gcFloor is the running floor.
type gcFloor struct {
	floor   uint64 // least headroom
	ceil    uint64 // most headroom, up to a heap of 4·ceil
	percent int    // the GOGC last set
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
	if p := gcFloorPercent(g.sample[0].Value.Uint64(), g.floor, g.ceil); p != g.percent {
		debug.SetGCPercent(p)
		g.percent = p
	}
}
