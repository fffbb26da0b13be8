package redisnode

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestCPUMeterWindows: busy intervals are split over the 1 s windows they span,
// commands count in the window their service starts in, and the peaks include
// the open window.
func TestCPUMeterWindows(t *testing.T) {
	var c cpuMeter
	ms := time.Millisecond
	// Five back-to-back calls of 300 ms from 0: 0-1.5 s busy.
	s := time.Duration(0)
	for range 5 {
		c.add(s, 300*ms, 10)
		s += 300 * ms
	}
	got := c.stats()
	if got.PeakUtilization != 1 || got.PeakOpsPerSec != 40 || got.Busy != 1500*ms || got.Ops != 50 {
		t.Fatalf("stats %+v, want peak 100 %% busy, 40 ops/s (4 calls start in [0,1s)), 1.5 s busy, 50 ops", got)
	}
	// A later, lighter window does not lower the peak; an idle gap is skipped.
	c.add(5*time.Second+100*ms, 200*ms, 1)
	if got := c.stats(); got.PeakUtilization != 1 || got.PeakOpsPerSec != 40 {
		t.Fatalf("after a light window: %+v", got)
	}
	var d cpuMeter
	d.add(2*time.Second+900*ms, 200*ms, 1) // 100 ms in each of two windows
	if got := d.stats(); math.Abs(got.PeakUtilization-0.1) > 1e-9 {
		t.Fatalf("an interval across a boundary: peak %v, want 0.1", got.PeakUtilization)
	}
}

// loadNode sends, every 10 ms for 2 s, one action of a pipeline of per GETs
// (flat model: 10 µs each), then one probe GET starting at the same instant,
// and returns the node's CPU stats and the probes' mean latency.
func loadNode(t *testing.T, per int) (CPUStats, time.Duration) {
	t.Helper()
	eng, n := newNode(t, Config{RTT: 100 * time.Microsecond, OpTime: 10 * time.Microsecond})
	rdb := n.NewClient(1)
	var probe time.Duration
	probes := 0
	for at := time.Duration(0); at < 2*time.Second; at += 10 * time.Millisecond {
		eng.RunUntil(at)
		ctx := WithMeter(context.Background(), &Meter{Start: at})
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := 0; i < per; i++ {
				p.Get(ctx, fmt.Sprintf("k%d", i))
			}
			return nil
		})
		if err != nil && err != redis.Nil {
			t.Fatal(err)
		}
		m := &Meter{Start: at}
		rdb.Get(WithMeter(context.Background(), m), "probe")
		probe += m.Elapsed()
		probes++
	}
	eng.RunUntil(3 * time.Second)
	return n.CPU(), probe / time.Duration(probes)
}

// TestBusyFractionFromTraffic: the busy fraction is the service time the node
// served over wall time, and the queueing delay a request meets grows with it.
func TestBusyFractionFromTraffic(t *testing.T) {
	half, halfWait := loadNode(t, 500) // 500 × 10 µs every 10 ms: 50 % busy
	busy, busyWait := loadNode(t, 900) // 90 %
	t.Logf("50 %%: %+v, probe %v; 90 %%: %+v, probe %v", half, halfWait, busy, busyWait)
	near := func(got, want float64) bool { return math.Abs(got-want) < 0.005 }
	if !near(half.PeakUtilization, 0.5+0.001) || !near(busy.PeakUtilization, 0.9+0.001) {
		t.Fatalf("busy fractions %v and %v, want ~0.501 and ~0.901 (the probes add 0.1 %%)",
			half.PeakUtilization, busy.PeakUtilization)
	}
	if half.PeakOpsPerSec != 50100 || busy.PeakOpsPerSec != 90100 {
		t.Fatalf("ops/s %v and %v, want 50100 and 90100", half.PeakOpsPerSec, busy.PeakOpsPerSec)
	}
	// The probe waits behind the pipeline queued at its instant: 5 ms vs 9 ms.
	if halfWait < 5*time.Millisecond || busyWait < 9*time.Millisecond || busyWait-halfWait < 4*time.Millisecond {
		t.Fatalf("probe latency %v at 50 %% and %v at 90 %%: queueing does not show", halfWait, busyWait)
	}
}
