package sim

import (
	"time"
)

var seriesColumns = func() []string {
	cols := []string{"t_s", "messages", "context_needed", "context_ok", "context_lost", "context_stale_used"}
	for _, c := range Causes() {
		cols = append(cols, "lost."+c.String())
	}
	return append(cols, "restored", "stale_discarded", "spilled_keys", "redis_keys", "redis_ops",
		"consumer_lag_max", "pods", "rebalances", "latency_p50_ms", "latency_p99_ms")
}()

// sample appends one row of the time series.
func (r *runner) sample() {
	lag := max(r.lagWindow, r.lagNow())
	r.lagWindow = 0
	ns := r.node.Stats()
	row := []float64{r.eng.Now().Seconds(), float64(r.c.messages), float64(r.c.needed), float64(r.c.ok),
		float64(r.c.lost), float64(r.c.staleUsed)}
	for _, c := range Causes() {
		row = append(row, float64(r.c.lostBy[c]))
	}
	row = append(row, float64(r.c.restored), float64(r.c.staleDiscard), float64(r.c.spilledKeys),
		float64(r.node.Keys()), float64(ns.Ops), float64(lag), float64(r.livePods()), float64(r.group.Rebalances()),
		ms(r.latWindow.quantile(0.5)), ms(r.latWindow.quantile(0.99)))
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

// result builds the run's summary (docs/design.md metric names, in contract order).
func (r *runner) result() *RunResult {
	c := &r.c
	ns := r.node.Stats()
	ratio := 0.0
	if c.needed > 0 {
		ratio = float64(c.lost) / float64(c.needed)
	}
	s := Summary{
		{Name: "messages", Value: float64(c.messages)},
		{Name: "messages_replayed", Value: float64(c.replayed)},
		{Name: "context_needed", Value: float64(c.needed)},
		{Name: "context_ok", Value: float64(c.ok)},
		{Name: "context_lost", Value: float64(c.lost)},
		{Name: "context_stale_used", Value: float64(c.staleUsed)},
		{Name: "context_loss_ratio", Value: round(ratio, 6)},
	}
	for _, cause := range Causes() {
		s = append(s, Metric{Name: "lost_by_cause." + cause.String(), Value: float64(c.lostBy[cause])})
	}
	for _, cause := range Causes() {
		if c.staleBy[cause] > 0 {
			s = append(s, Metric{Name: "stale_by_cause." + cause.String(), Value: float64(c.staleBy[cause])})
		}
	}
	s = append(s,
		Metric{Name: "local_hits", Value: float64(c.localHits)},
		Metric{Name: "restored", Value: float64(c.restored)},
		Metric{Name: "stale_discarded", Value: float64(c.staleDiscard)},
		Metric{Name: "redis_lookups_missed", Value: float64(c.redisMissed)},
		Metric{Name: "spilled_keys", Value: float64(c.spilledKeys)},
		Metric{Name: "spill_bytes", Value: float64(c.spillBytes)},
		Metric{Name: "spill_duration_max", Value: c.spillMax.Seconds(), Unit: "s"},
		Metric{Name: "spill_failed_keys", Value: float64(c.spillFailed)},
		Metric{Name: "fenced_writes", Value: float64(c.fencedWrites)},
		Metric{Name: "redis_ops", Value: float64(ns.Ops)},
		Metric{Name: "redis_round_trips", Value: float64(ns.RoundTrips)},
		Metric{Name: "redis_bytes_in", Value: float64(ns.BytesIn)},
		Metric{Name: "redis_bytes_out", Value: float64(ns.BytesOut)},
		Metric{Name: "redis_expired_keys", Value: float64(ns.ExpiredKeys)},
		Metric{Name: "latency_p50", Value: r.lat.quantile(0.5).Seconds(), Unit: "s"},
		Metric{Name: "latency_p99", Value: r.lat.quantile(0.99).Seconds(), Unit: "s"},
		Metric{Name: "latency_p999", Value: r.lat.quantile(0.999).Seconds(), Unit: "s"},
		Metric{Name: "consumer_lag_max", Value: float64(r.lagMax)},
		Metric{Name: "rebalances", Value: float64(r.group.Rebalances())},
		Metric{Name: "rebalance_pause_total", Value: r.group.RebalancePauseTotal().Seconds(), Unit: "s"},
		Metric{Name: "crashes", Value: float64(c.crashes)},
		Metric{Name: "commits_failed", Value: float64(c.commitsFailed)},
	)
	return &RunResult{Summary: s, Series: r.series, Events: r.events, Latency: r.lat.cdf()}
}

func round(v float64, digits int) float64 {
	p := 1.0
	for i := 0; i < digits; i++ {
		p *= 10
	}
	return float64(int64(v*p+0.5)) / p
}
