package engine

import (
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

// TestGCFloorPercent: the goal is live + max(live, floor). Bugs caught:
// the floor applied above itself (GOGC below 100), the ratio inverted,
// no bound for an empty heap (division by zero).
func TestGCFloorPercent(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		live, floor uint64
		want        int
	}{
		{128 * mb, 128 * mb, 100},
		{512 * mb, 128 * mb, 100},
		{64 * mb, 128 * mb, 200},
		{16 * mb, 128 * mb, 800},
		{1 * mb, 128 * mb, gcPercentMax}, // 12,800 % bounded
		{0, 128 * mb, gcPercentMax},
	} {
		if got := gcFloorPercent(c.live, c.floor); got != c.want {
			t.Errorf("gcFloorPercent(%d MB, %d MB) = %d, want %d", c.live/mb, c.floor/mb, got, c.want)
		}
	}
}

// TestGCFloorFollowsTheLiveHeap runs the process's floor (started by the
// first server of the process, or here): after collections that leave a
// small live heap GOGC is above 100; with a live heap above the floor,
// after the next collections, it is 100; and above 100 again once that
// heap is garbage. Bugs caught: the sentinel not re-armed after its first
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
	runtime.KeepAlive(live)
	live = nil
	waitFor("small live heap again", func(p int) bool { return p > 100 })
}
