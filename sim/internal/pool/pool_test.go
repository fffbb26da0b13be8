package pool

import (
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRunDoesEveryItemOnce: every item is worked on exactly once and extra runs
// once, on any number of goroutines, job after job.
func TestRunDoesEveryItemOnce(t *testing.T) {
	for _, n := range []int{0, 1, 2, 4} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			p := New(n)
			defer p.Close()
			for round := range 50 {
				counts := make([]atomic.Int32, 7+round%5)
				var extra atomic.Int32
				p.Run(len(counts), func(i int) { counts[i].Add(1) }, func() { extra.Add(1) })
				for i := range counts {
					if c := counts[i].Load(); c != 1 {
						t.Fatalf("round %d: item %d done %d times", round, i, c)
					}
				}
				for extra.Load() == 0 { // a helper may still be running it
					runtime.Gosched()
				}
				if e := extra.Load(); e != 1 {
					t.Fatalf("round %d: extra ran %d times", round, e)
				}
			}
		})
	}
}

// TestRunRaisesAPanicAndCloses: a panic in an item reaches Run's caller, and
// Close (idempotent) stops every helper.
func TestRunRaisesAPanicAndCloses(t *testing.T) {
	before := runtime.NumGoroutine()
	p := New(3)
	for range 3 {
		func() {
			defer func() {
				if v := recover(); v == nil || !strings.Contains(fmt.Sprint(v), "item 2") {
					t.Fatalf("recovered %v", v)
				}
			}()
			p.Run(6, func(i int) {
				if i == 2 {
					panic("item 2")
				}
			}, nil)
			t.Fatal("Run returned normally")
		}()
	}
	p.Close()
	p.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after Close, %d before", n, before)
	}
}
