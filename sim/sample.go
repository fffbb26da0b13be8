package sim

import (
	"time"

	"github.com/spillway-sim/spillway/summary"
)

var seriesColumns = func() []string {
	cols := []string{"t_s", "messages", "context_needed", "context_ok", "context_lost", "context_stale_used"}
	for _, c := range Causes() {
		cols = append(cols, "lost."+c.String())
	}
	return append(cols, "restored", "stale_discarded", "spilled_keys", "redis_keys", "redis_ops",
		"consumer_lag_max", "pods", "rebalances", "latency_p50_ms", "latency_p99_ms",
		"redis_used_memory_bytes", "redis_rss_bytes", "redis_cow_bytes", "redis_maxmemory_bytes",
		"redis_system_memory_bytes", "redis_evicted_keys")
}()

// sample appends one row of the time series.
func (r *runner) sample() {
	r.auditMemory()
	lag := max(r.lagWindow, r.lagNow())
	r.lagWindow = 0
	ns := r.redis.stats()
	worst, total := r.redis.memory()
	row := []float64{r.eng.Now().Seconds(), float64(r.c.messages), float64(r.c.needed), float64(r.c.ok),
		float64(r.c.lost), float64(r.c.staleUsed)}
	for _, c := range Causes() {
		row = append(row, float64(r.c.lostBy[c]))
	}
	row = append(row, float64(r.c.restored), float64(r.c.staleDiscard), float64(r.c.spilledKeys),
		float64(r.redis.keys()), float64(ns.Ops), float64(lag), float64(r.livePods()), float64(r.group.Rebalances()),
		ms(r.latWindow.quantile(0.5)), ms(r.latWindow.quantile(0.99)),
		float64(worst.UsedBytes), float64(worst.RSSBytes), float64(worst.COWBytes),
		float64(r.sc.Redis.MaxMemory.Bytes()), float64(r.sc.Redis.SystemMemory.Bytes()), float64(total.Evicted))
	r.series.Rows = append(r.series.Rows, row)
	r.latWindow.reset()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// lagNow is the largest per-partition lag: records appended but not yet processed
// by the partition's consumer (or not committed, while it has none).
func (r *runner) lagNow() int64 {
	var worst int64
	for p := int32(0); int(p) < r.log.Partitions(); p++ {
		pos := r.group.Committed(p)
		if owner, _, ok := r.group.Owner(p); ok {
			if pd := r.byID[owner]; pd != nil && pd.alive() {
				if v, ok := pd.pos[p]; ok {
					pos = v
				}
			}
		}
		worst = max(worst, r.log.HighWatermark(p)-pos)
	}
	return worst
}

// totals is what the run counted, for the summary table (package summary).
func (r *runner) totals() summary.Totals {
	c := &r.c
	ns := r.redis.stats()
	_, mem := r.redis.memory()
	lostBy := make([]int64, numCauses)
	copy(lostBy, c.lostBy[:])
	return summary.Totals{
		Messages: c.messages, Replayed: c.replayed,
		Needed: c.needed, OK: c.ok, Lost: c.lost, StaleUsed: c.staleUsed, LostBy: lostBy,
		LocalHits: c.localHits, Restored: c.restored, StaleDiscarded: c.staleDiscard, RedisLookupsMissed: c.redisMissed,
		SpilledKeys: c.spilledKeys, SpillBytes: c.spillBytes,
		SpillFailed: c.spillFailed, FencedWrites: c.fencedWrites, SpillRewrites: c.spillRewritten,
		SpillMax: c.spillMax, CommitsFailed: c.commitsFailed, Crashes: c.crashes,

		RedisOps: ns.Ops, RedisRoundTrips: ns.RoundTrips, RedisBytesIn: ns.BytesIn, RedisBytesOut: ns.BytesOut,
		RedisExpired:  ns.ExpiredKeys,
		RedisUsedPeak: mem.PeakUsedBytes, RedisRSSPeak: mem.PeakRSSBytes, RedisCOWPeak: mem.PeakCOWBytes,
		RedisEvicted: mem.Evicted, RedisOOMKills: mem.OOMKills, RedisForkFailures: mem.ForkFailures,
		RedisRejectedWrites: mem.RejectedWrites,

		Latency: r.lat.quantile, LagMax: r.lagMax,
		Rebalances: int64(r.group.Rebalances()), RebalancePauseTotal: r.group.RebalancePauseTotal(),
	}
}

// result builds the run's summary: every metric of the table (package
// summary, in its order), then per-cause stale counts and the self-audit.
func (r *runner) result() *RunResult {
	t := r.totals()
	var s Summary
	for _, m := range summary.Metrics() {
		unit := ""
		if m.Unit == summary.UnitSeconds {
			unit = "s"
		}
		s = append(s, Metric{Name: m.Name, Value: m.Value(&t), Unit: unit})
	}
	for _, cause := range Causes() {
		if r.c.staleBy[cause] > 0 {
			s = append(s, Metric{Name: "stale_by_cause." + cause.String(), Value: float64(r.c.staleBy[cause])})
		}
	}
	s = append(s, r.audit.metrics()...)
	return &RunResult{Summary: s, Series: r.series, Events: r.events, Latency: r.lat.cdf()}
}
