package sim

import (
	"time"

	"github.com/spillway-sim/spillway/sim/redisnode"
	"github.com/spillway-sim/spillway/summary"
)

// sampleNow is what one sample reads besides the runner: measured once per row.
type sampleNow struct {
	lag          int64 // largest per-partition lag since the last sample
	ns           redisnode.Stats
	worst, total redisnode.MemoryStats // the fullest active node; totals over every node
}

// seriesColumn is one column of the time series: its name and how a sample
// computes it.
type seriesColumn struct {
	name  string
	value func(r *runner, now *sampleNow) float64
}

// seriesTable is the time series' columns, in order: the one list of them
// (Series.Columns and each row are built from it).
var seriesTable = func() []seriesColumn {
	cols := []seriesColumn{
		{"t_s", func(r *runner, _ *sampleNow) float64 { return r.eng.Now().Seconds() }},
		{"messages", func(r *runner, _ *sampleNow) float64 { return float64(r.c.messages) }},
		{"context_needed", func(r *runner, _ *sampleNow) float64 { return float64(r.c.needed) }},
		{"context_ok", func(r *runner, _ *sampleNow) float64 { return float64(r.c.ok) }},
		{"context_lost", func(r *runner, _ *sampleNow) float64 { return float64(r.c.lost) }},
		{"context_stale_used", func(r *runner, _ *sampleNow) float64 { return float64(r.c.staleUsed) }},
	}
	for _, c := range Causes() {
		cols = append(cols, seriesColumn{"lost." + c.String(),
			func(r *runner, _ *sampleNow) float64 { return float64(r.c.lostBy[c]) }})
	}
	return append(cols, []seriesColumn{
		{"restored", func(r *runner, _ *sampleNow) float64 { return float64(r.c.restored) }},
		{"stale_discarded", func(r *runner, _ *sampleNow) float64 { return float64(r.c.staleDiscard) }},
		{"spilled_keys", func(r *runner, _ *sampleNow) float64 { return float64(r.c.spilledKeys) }},
		{"redis_keys", func(r *runner, _ *sampleNow) float64 { return float64(r.redis.keys()) }},
		{"redis_ops", func(_ *runner, n *sampleNow) float64 { return float64(n.ns.Ops) }},
		{"consumer_lag_max", func(_ *runner, n *sampleNow) float64 { return float64(n.lag) }},
		{"pods", func(r *runner, _ *sampleNow) float64 { return float64(r.livePods()) }},
		{"rebalances", func(r *runner, _ *sampleNow) float64 { return float64(r.group.Rebalances()) }},
		{"latency_p50_ms", func(r *runner, _ *sampleNow) float64 { return ms(r.latWindow.quantile(0.5)) }},
		{"latency_p99_ms", func(r *runner, _ *sampleNow) float64 { return ms(r.latWindow.quantile(0.99)) }},
		{"redis_used_memory_bytes", func(_ *runner, n *sampleNow) float64 { return float64(n.worst.UsedBytes) }},
		{"redis_rss_bytes", func(_ *runner, n *sampleNow) float64 { return float64(n.worst.RSSBytes) }},
		{"redis_cow_bytes", func(_ *runner, n *sampleNow) float64 { return float64(n.worst.COWBytes) }},
		{"redis_maxmemory_bytes", func(r *runner, _ *sampleNow) float64 { return float64(r.cfg.maxMemoryBytes) }},
		{"redis_system_memory_bytes", func(r *runner, _ *sampleNow) float64 {
			return float64(r.cfg.systemMemoryBytes)
		}},
		{"redis_evicted_keys", func(_ *runner, n *sampleNow) float64 { return float64(n.total.Evicted) }},
		{"redis_host_rss_bytes", func(r *runner, _ *sampleNow) float64 { return float64(r.redis.hostRSS()) }},
	}...)
}()

// seriesColumns is the names of seriesTable's columns (Series.Columns).
var seriesColumns = func() []string {
	out := make([]string, len(seriesTable))
	for i, c := range seriesTable {
		out[i] = c.name
	}
	return out
}()

// sample appends one row of the time series.
func (r *runner) sample() {
	r.auditMemory()
	if r.streams != nil {
		r.streams.sample()
	}
	now := sampleNow{lag: max(r.lagWindow, r.lagNow()), ns: r.redis.stats()}
	r.lagWindow = 0
	now.worst, now.total = r.redis.memory()
	row := make([]float64, len(seriesTable))
	for i, c := range seriesTable {
		row[i] = c.value(r, &now)
		if r.cfg.weight > 1 && sampledCounts[c.name] {
			row[i] *= float64(r.cfg.weight)
		}
	}
	r.series.Rows = append(r.series.Rows, row)
	r.latWindow.reset()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// lagNow is the largest per-partition lag: records appended but not yet processed
// by the partition's consumer (or not committed, while it has none).
func (r *runner) lagNow() int64 {
	if r.streams != nil {
		return r.streams.lag()
	}
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
	t := summary.Totals{
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
		RedisKeysPeak:       mem.PeakKeys, RedisUsedAtRSSPeak: mem.PeakRSSUsedBytes, RedisUsedAtCOWPeak: mem.PeakCOWUsedBytes,
		RedisOOMUsed: mem.OOMUsedBytes, RedisOOMRSS: mem.OOMRSSBytes, RedisForkFailedUsed: mem.ForkFailedUsedBytes,
		HandoffSpillKeysMax: r.handoff.keysMax, HandoffSpillMax: r.handoff.longest, HandoffSpillWorkerRate: r.handoff.workerRate,
		RedisHostRSSPeak: r.redis.hostPeak(), RedisHostForksMax: int64(r.redis.hostForksMax()),

		Latency: r.lat.quantile, LagMax: r.lagMax,
		Rebalances: int64(r.group.Rebalances()), RebalancePauseTotal: r.group.RebalancePauseTotal(),
	}
	if s := r.streams; s != nil {
		t.Redelivered, t.Unclaimable, t.Trimmed, t.Handoffs = s.redelivered, s.unclaimable, s.trimmed, s.handoffs
		t.StreamUsedPeak, t.PendingMax = s.memPeak, s.pendingMax
		if p := s.producers; p != nil {
			t.Duplicates, t.MissedTicks, t.TickDelayP99 = p.Duplicates(), p.Missed(), s.tickDelayQuantile(0.99)
		}
	}
	cpu := r.redis.cpu()
	t.RedisCPUPeak, t.RedisOpsPerSecPeak = cpu.PeakUtilization, cpu.PeakOpsPerSec
	// Clients and value format (clientpool.go, valueformat.go); the pool's
	// waits are real round trips already, the breakdown is per real key.
	t.Duration, t.PoolWaits, t.PoolWaitMax = r.eng.Now(), r.clients.waits, r.clients.waitMax
	t.ValueBytes = r.valueBytes()
	t.NodesNeeded, t.NodeBudgetBytes = r.nodesNeeded(mem.PeakUsedBytes)
	r.redis.replTotals(&t)
	scaleTotals(&t, int64(r.cfg.weight))
	return t
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
			s = append(s, Metric{Name: "stale_by_cause." + cause.String(), Value: float64(r.c.staleBy[cause] * int64(r.cfg.weight))})
		}
	}
	r.auditCluster() // cluster.go
	s = append(s, r.audit.metrics()...)
	rr := &RunResult{Summary: s, Series: r.series, Events: r.events, Latency: r.lat.cdf()}
	if w := r.cfg.weight; w > 1 || r.sc.Workload.SampleRate.IsAuto() {
		rr.Sampling = &Sampling{Rate: 1 / float64(w), Weight: w, Datapoints: r.sc.Workload.Datapoints,
			Simulated: r.wl.Datapoints(), Auto: r.sc.Workload.SampleRate.IsAuto()}
	}
	return rr
}

// sampledCounts are the series columns the runner counts per simulated
// datapoint (message, context, key): with sampling each stands for weight of
// them, so a sample multiplies them by it. The Redis columns come from the
// nodes, which already count what the simulated keys stand for
// (redisnode/weight.go).
var sampledCounts = func() map[string]bool {
	m := map[string]bool{"messages": true, "context_needed": true, "context_ok": true, "context_lost": true,
		"context_stale_used": true, "restored": true, "stale_discarded": true, "spilled_keys": true,
		"consumer_lag_max": true}
	for _, c := range Causes() {
		m["lost."+c.String()] = true
	}
	return m
}()

// scaleTotals makes the runner's own counts of a sampled run stand for the real
// datapoints (each simulated one stands for w). Counts of whole things
// (crashes, rebalances, failed commits, OOM kills) and what the nodes report
// (already weighted) stay as they are.
func scaleTotals(t *summary.Totals, w int64) {
	if w <= 1 {
		return
	}
	for _, v := range []*int64{&t.Messages, &t.Replayed, &t.Needed, &t.OK, &t.Lost, &t.StaleUsed,
		&t.LocalHits, &t.Restored, &t.StaleDiscarded, &t.RedisLookupsMissed,
		&t.SpilledKeys, &t.SpillBytes, &t.SpillFailed, &t.FencedWrites, &t.SpillRewrites, &t.LagMax,
		&t.HandoffSpillKeysMax} {
		*v *= w
	}
	t.HandoffSpillWorkerRate *= float64(w)
	for i := range t.LostBy {
		t.LostBy[i] *= w
	}
}
