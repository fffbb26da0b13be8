package bench

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spillway-sim/spillway/scenarios"
)

// largeScenario is BenchmarkSimLarge's run, scaled: datapoints keys at a 60 s
// interval for the given virtual duration, 256 partitions, 40 pods, a scale-in to
// 30 at a third of the run and a rolling restart at two thirds, spill-on-revoke
// with lz4, and a Redis node whose maxmemory is small enough that the scale-in's
// spill meets eviction (volatile-lru: every spilled key has a TTL).
func largeScenario(datapoints int, duration time.Duration, maxmemory string) string {
	return fmt.Sprintf(`version: 1
name: bench-large
seed: 1
duration: %s
sample_every: 30s
workload: {datapoints: %d, interval: 60s, jitter: 5s, context_bytes: 64, counter_fraction: 0.7}
log: {partitions: 256, assignor: cooperative-sticky}
consumers: {replicas: 40}
state: {strategy: spill-on-revoke, compression: lz4}
redis: {maxmemory: %s, maxmemory_policy: volatile-lru, system_memory: 64GiB}
timeline:
  - {at: %s, scale: 30}
  - {at: %s, rolling_restart: true}
`, duration, datapoints, maxmemory, duration/3, 2*duration/3)
}

// peakRSS is the process's peak resident set (VmHWM), in bytes, or 0 where
// /proc/self/status is not available.
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}

// runLarge runs the scenario once per b.N and reports msgs/s, wall_s (per run)
// and peak_rss_bytes (the whole process: run it alone, -run '^$' -bench
// BenchmarkSimLarge, so that no other benchmark's memory is counted).
func runLarge(b *testing.B, yaml string) {
	sc, err := scenarios.Parse("bench-large.yaml", []byte(yaml))
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	b.ResetTimer()
	msgs := runEach(b, sc, nil)
	b.StopTimer()
	wall := b.Elapsed().Seconds()
	b.ReportMetric(msgs/wall, "msgs/s")
	b.ReportMetric(wall/float64(b.N), "wall_s")
	b.ReportMetric(peakRSS(), "peak_rss_bytes")
}

// BenchmarkSimLarge: 10,000,000 datapoints at a 60 s interval for one virtual
// hour (600 M messages), 256 partitions, 40 pods, a scale-in and a rolling
// restart, spill-on-revoke with lz4, maxmemory with eviction. The target is to
// complete with a peak RSS ≤ 8 GiB on a 2-core machine. It takes minutes: run it
// alone with -benchtime 1x.
func BenchmarkSimLarge(b *testing.B) {
	runLarge(b, largeScenario(10_000_000, time.Hour, "1GiB"))
}

// hugeScenario is BenchmarkSimHuge's run: 50,000,000 datapoints of 256 B on one
// Redis node, sampled at 1 % (workload.sample_rate: each simulated datapoint
// stands for 100), every 5 min for 30 virtual minutes (300 M represented
// messages), 48 partitions, 12 pods scaled in to 8, then a BGSAVE.
const hugeScenario = `version: 1
name: bench-huge
seed: 7
duration: 30m
sample_every: 30s
workload: {datapoints: 50000000, interval: 5m, jitter: 10s, context_bytes: 256, counter_fraction: 1, sample_rate: 0.01}
log: {partitions: 48, assignor: cooperative-sticky}
consumers: {replicas: 12, termination_grace: 30s, process_time: 5us}
state: {strategy: spill-on-revoke, ttl: 30m, spill_parallelism: 8, spill_batch: 500}
redis: {system_memory: 32GiB}
timeline:
  - {at: 10m, scale: 8}
  - {at: 20m, bgsave: true}
`

// BenchmarkSimHuge: 50 M datapoints of 256 B on one node at sample rate 0.01.
// It reports represented msgs/s (the messages the run stands for), wall_s and
// peak_rss_bytes; the target is ≤ 3 minutes and ≤ 4 GiB on a 2-core machine.
// Run it alone (make bench BENCH=SimHuge) so peak_rss_bytes is its own.
func BenchmarkSimHuge(b *testing.B) {
	runLarge(b, hugeScenario)
}
