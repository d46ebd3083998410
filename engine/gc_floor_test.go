package engine

import (
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

// TestGCFloorPercent: the headroom is the live heap clamped to [floor,
// max(ceil, live/4)]. Bugs caught: the floor applied above itself, the
// ratio inverted, no bound for an empty heap (division by zero), no cap
// (GOGC 100 for a large heap), no lower bound on GOGC for a huge one.
func TestGCFloorPercent(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		live uint64
		want int
	}{
		{128 * mb, 100},
		{256 * mb, 100},
		{64 * mb, 200},
		{16 * mb, 800},
		{1 * mb, gcPercentMax}, // 12,800 % bounded
		{0, gcPercentMax},
		{512 * mb, 50},
		{1024 * mb, 25},
		{8192 * mb, gcPercentMin},
	} {
		if got := gcFloorPercent(c.live, 128*mb, 256*mb); got != c.want {
			t.Errorf("gcFloorPercent(%d MB, 128 MB, 256 MB) = %d, want %d", c.live/mb, got, c.want)
		}
	}
}

// TestGCFloorFollowsTheLiveHeap runs the process's bounds (started by
// the first server of the process, or here): after collections that
// leave a small live heap GOGC is above 100; with a live heap above the
// floor, after the next collections, it is 100; above the ceiling below
// 100; and above 100 again once that heap is garbage. Bugs caught: the sentinel not re-armed after its first
// finalizer (GOGC stuck at its first value), the floor never started.
func TestGCFloorFollowsTheLiveHeap(t *testing.T) {
	startGCFloor(1 << 30)
	g := processGCFloor
	if g == nil {
		t.Skip("GOGC is set in the environment: the floor is off")
	}
	gogc := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	waitFor := func(what string, want func(int) bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
			runtime.GC()
			time.Sleep(20 * time.Millisecond) // the finalizer runs after the collection
			metrics.Read(gogc)
			if want(int(gogc[0].Value.Uint64())) {
				return
			}
		}
		t.Fatalf("%s: GOGC %d (floor %d MB)", what, gogc[0].Value.Uint64(), g.floor>>20)
	}
	waitFor("small live heap", func(p int) bool { return p > 100 })
	live := make([][]byte, g.floor>>20+32)
	for i := range live {
		live[i] = make([]byte, 1<<20)
	}
	waitFor("live heap above the floor", func(p int) bool { return p == 100 })
	for range (g.ceil - g.floor) >> 20 {
		live = append(live, make([]byte, 1<<20))
	}
	waitFor("live heap above the ceiling", func(p int) bool { return p < 100 && p >= gcPercentMin })
	runtime.KeepAlive(live)
	live = nil
	waitFor("small live heap again", func(p int) bool { return p > 100 })
}
