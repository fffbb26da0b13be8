package bench

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim"
)

// scaleInScenario is BenchmarkSimScaleIn's run: 100,000 datapoints at a 60 s
// interval for one virtual hour (6 M messages), 24 partitions, 6 pods, a scale-in
// and a rolling restart, spill-on-revoke with lz4.
const scaleInScenario = `version: 1
name: bench-scale-in
seed: 1
duration: 60m
sample_every: 10s
workload: {datapoints: 100000, interval: 60s, jitter: 5s, context_bytes: 64, counter_fraction: 0.7}
log: {partitions: 24, assignor: cooperative-sticky}
consumers: {replicas: 6}
state: {strategy: spill-on-revoke, compression: lz4}
timeline:
  - {at: 20m, scale: 3}
  - {at: 40m, rolling_restart: true}
`

// peakHeap samples the live heap every 20 ms until stop is closed.
func peakHeap(stop <-chan struct{}) func() uint64 {
	var mu sync.Mutex
	var peak uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peak = max(peak, ms.HeapAlloc)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { <-done; mu.Lock(); defer mu.Unlock(); return peak }
}

// BenchmarkSimScaleIn reports simulated messages per wall second (msgs/s), the
// virtual-to-wall speedup (speedup) and the peak live heap (peak_heap_bytes).
func BenchmarkSimScaleIn(b *testing.B) {
	sc, err := scenarios.Parse("bench-scale-in.yaml", []byte(scaleInScenario))
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	stop := make(chan struct{})
	peak := peakHeap(stop)
	b.ResetTimer()
	msgs := runEach(b, sc, func(s sim.Summary) {
		if lost, _ := s.Get("context_lost"); lost != 0 {
			b.Fatalf("context_lost = %v: the benchmark's handoffs should lose nothing", lost)
		}
	})
	b.StopTimer()
	close(stop)
	wall := b.Elapsed().Seconds()
	b.ReportMetric(msgs/wall, "msgs/s")
	b.ReportMetric(float64(b.N)*sc.Duration.Std().Seconds()/wall, "speedup")
	b.ReportMetric(float64(peak()), "peak_heap_bytes")
}

// runEach runs sc b.N times, checks each run's summary with check (nil: only
// that messages were processed) and returns the messages processed in all.
func runEach(b *testing.B, sc *scenarios.Scenario, check func(sim.Summary)) float64 {
	var msgs float64
	for i := 0; i < b.N; i++ {
		plan, err := sc.Plan()
		if err != nil {
			b.Fatal(err)
		}
		res, err := sim.Run(context.Background(), plan, sim.Options{})
		if err != nil {
			b.Fatal(err)
		}
		s := res.Runs[0].Summary
		m, _ := s.Get("messages")
		if m == 0 {
			b.Fatal("no messages processed")
		}
		if check != nil {
			check(s)
		}
		msgs += m
	}
	return msgs
}
