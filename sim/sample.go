package sim

import (
	"fmt"

	"github.com/spillway-sim/spillway/scenarios"
	"time"
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

// result builds the run's summary: every metric of the contract
// (scenarios.MetricNames, in its order), then per-cause stale counts.
func (r *runner) result() *RunResult {
	c := &r.c
	ns := r.redis.stats()
	_, mem := r.redis.memory()
	ratio := 0.0
	if c.needed > 0 {
		ratio = float64(c.lost) / float64(c.needed)
	}
	values := map[string]float64{
		"messages": float64(c.messages), "messages_replayed": float64(c.replayed),
		"context_needed": float64(c.needed), "context_ok": float64(c.ok), "context_lost": float64(c.lost),
		"context_stale_used": float64(c.staleUsed), "context_loss_ratio": round(ratio, 6),
		"local_hits": float64(c.localHits), "restored": float64(c.restored),
		"stale_discarded": float64(c.staleDiscard), "redis_lookups_missed": float64(c.redisMissed),
		"spilled_keys": float64(c.spilledKeys), "spill_bytes": float64(c.spillBytes),
		"spill_duration_max": c.spillMax.Seconds(),
		"redis_ops":          float64(ns.Ops), "redis_bytes_in": float64(ns.BytesIn), "redis_bytes_out": float64(ns.BytesOut),
		"redis_used_memory_peak_bytes": float64(mem.PeakUsedBytes), "redis_rss_peak_bytes": float64(mem.PeakRSSBytes),
		"redis_cow_peak_bytes": float64(mem.PeakCOWBytes), "redis_evicted_keys": float64(mem.Evicted),
		"redis_expired_keys": float64(ns.ExpiredKeys), "redis_oom_kills": float64(mem.OOMKills),
		"redis_fork_failures": float64(mem.ForkFailures), "redis_rejected_writes": float64(mem.RejectedWrites),
		"latency_p50": r.lat.quantile(0.5).Seconds(), "latency_p99": r.lat.quantile(0.99).Seconds(),
		"latency_p999": r.lat.quantile(0.999).Seconds(), "consumer_lag_max": float64(r.lagMax),
		"rebalances": float64(r.group.Rebalances()), "rebalance_pause_total": r.group.RebalancePauseTotal().Seconds(),
		"spill_failed_keys": float64(c.spillFailed), "fenced_writes": float64(c.fencedWrites),
		"redis_round_trips": float64(ns.RoundTrips), "crashes": float64(c.crashes),
		"commits_failed": float64(c.commitsFailed), "spill_rewritten_keys": float64(c.spillRewritten),
	}
	for _, cause := range Causes() {
		values["lost_by_cause."+cause.String()] = float64(c.lostBy[cause])
	}
	var s Summary
	for _, name := range scenarios.MetricNames() {
		v, ok := values[name]
		if !ok {
			panic(fmt.Sprintf("sim: the summary does not compute contract metric %s", name))
		}
		unit := ""
		if u, _ := scenarios.MetricUnit(name); u == scenarios.UnitSeconds {
			unit = "s"
		}
		s = append(s, Metric{Name: name, Value: v, Unit: unit})
	}
	for _, cause := range Causes() {
		if c.staleBy[cause] > 0 {
			s = append(s, Metric{Name: "stale_by_cause." + cause.String(), Value: float64(c.staleBy[cause])})
		}
	}
	s = append(s, r.audit.metrics()...)
	return &RunResult{Summary: s, Series: r.series, Events: r.events, Latency: r.lat.cdf()}
}

func round(v float64, digits int) float64 {
	p := 1.0
	for i := 0; i < digits; i++ {
		p *= 10
	}
	return float64(int64(v*p+0.5)) / p
}
