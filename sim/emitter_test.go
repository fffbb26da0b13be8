package sim

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/spillway-sim/spillway/sim/workload"
)

func testWorkload(t *testing.T) *workload.Workload {
	t.Helper()
	wl, err := workload.New(workload.Config{Datapoints: 2000, Interval: 10 * time.Second, Jitter: time.Second,
		CounterFraction: 0.5, ContextBytes: 16, Partitions: 6}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	return wl
}

// TestEmitterMatchesInPlace: windows computed ahead give exactly the records,
// in order, that computing them in place gives.
func TestEmitterMatchesInPlace(t *testing.T) {
	var want [][]emittedRec
	ref := testWorkload(t)
	for i := range 50 {
		from, to := time.Duration(i)*Tick, time.Duration(i+1)*Tick
		want = append(want, slices.Clone(emit(ref, from, to, nil)))
	}
	e := newEmitter(testWorkload(t))
	defer e.close()
	total := 0
	for i := range 50 {
		from, to := time.Duration(i)*Tick, time.Duration(i+1)*Tick
		got := e.window(from, to)
		if !slices.Equal(got, want[i]) {
			t.Fatalf("window %d: %d records differ from the in-place %d", i, len(got), len(want[i]))
		}
		total += len(got)
		switch {
		case i%7 == 6: // now and then, no prefetch: the next window is computed in place
		case i%2 == 0:
			e.prefetch(to, to+Tick, got, onGoroutine)
		default: // as a task handed to a helper, run before the next window is asked for
			var task func()
			e.prefetch(to, to+Tick, got, func(f func()) { task = f })
			go task()
		}
	}
	if total == 0 {
		t.Fatal("no records emitted: the test checks nothing")
	}
}

func TestEmitterRejectsAnotherWindow(t *testing.T) {
	e := newEmitter(testWorkload(t))
	e.prefetch(0, Tick, nil, onGoroutine)
	defer func() {
		if recover() == nil {
			t.Fatal("asking for a window other than the one in flight should panic")
		}
	}()
	e.window(0, 2*Tick)
}

func TestEmitterReraisesPanics(t *testing.T) {
	e := newEmitter(testWorkload(t))
	e.window(0, Tick)
	e.prefetch(5*Tick, 6*Tick, nil, onGoroutine) // not contiguous: Workload.Emit panics on the emitter's goroutine
	defer func() {
		if recover() == nil {
			t.Fatal("a panic in Emit should reach the simulator's goroutine")
		}
	}()
	e.window(5*Tick, 6*Tick)
}
