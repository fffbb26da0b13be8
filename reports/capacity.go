package reports

import (
	"math"
	"strconv"

	"github.com/montanaflynn/stats"

	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim/calibration"
	"github.com/spillway-sim/spillway/sim/workload"
)

// Capacity recommendations are computed from a run's own numbers; each carries
// the numbers behind it so a reader can check the arithmetic.

// headroomFraction is the share of maxmemory kept free above the spilled
// context's peak: ElastiCache's reserved-memory-percent default (25 %), which
// reserves room for fork buffers and replication.
const headroomFraction = 0.25

// memoryNeed is the Redis memory the spilled context of one run needs.
type memoryNeed struct {
	run, strategy, ttl string
	// peakKeys is the most keys Redis held at once (redis_keys series).
	peakKeys float64
	// meanValueBytes is spill_bytes / spilled_keys: one stored entry.
	meanValueBytes float64
	// keyBytes is the length of one Redis key name the core writes.
	keyBytes int
	// estUsedBytes and estRSSBytes are the calibrated model's used_memory and
	// RSS for peakKeys keys of that shape, with a TTL each.
	estUsedBytes, estRSSBytes int64
	// measuredUsedBytes and measuredRSSBytes are the run's own peaks, when the
	// Redis memory model reported them (0 otherwise).
	measuredUsedBytes, measuredRSSBytes float64
	// allKeysBytes is the model's used_memory if every datapoint's context were
	// in Redis at once (an eager rebalance of the whole group), the upper bound.
	allKeysBytes int64
	datapoints   int
	// rewritten is spill_rewritten_keys: copies already written that Redis had
	// lost (evicted, or lost with the node) by the time a handoff checked.
	rewritten float64
	evicted   bool // the run's Redis evicted keys (else the copies left with the node)
}

// needBytes is the peak used memory the recommendation is based on: measured
// when available, else the model estimate.
func (m memoryNeed) needBytes() float64 {
	if m.measuredUsedBytes > 0 {
		return m.measuredUsedBytes
	}
	return float64(m.estUsedBytes)
}

// graceFit compares a run's longest spill with its termination grace.
type graceFit struct {
	run, strategy    string
	spillSeconds     float64
	graceSeconds     float64
	graceOverrunLost float64
}

// fits reports whether the longest spill finished inside the grace period.
func (g graceFit) fits() bool { return g.spillSeconds < g.graceSeconds }

// headroomSeconds is grace minus the longest spill (negative when it does not fit).
func (g graceFit) headroomSeconds() float64 { return g.graceSeconds - g.spillSeconds }

// lossPerHandoff is a run's context loss per partition handoff.
type lossPerHandoff struct {
	run, strategy   string
	rebalances      float64
	handoffs        float64 // rebalances after the one that formed the group
	lost, staleUsed float64
	needed          float64
}

// perHandoff divides by the handoffs; NaN when there were none.
func (l lossPerHandoff) perHandoff(v float64) float64 {
	if l.handoffs <= 0 {
		return math.NaN()
	}
	return v / l.handoffs
}

// forkFit is the maxmemory that keeps a run's peak footprint (RSS plus fork
// copy-on-write) under system memory.
type forkFit struct {
	run string
	// systemBytes is the node's memory; maxmemoryBytes the configured maxmemory (0 unlimited).
	systemBytes, maxmemoryBytes float64
	// peakFootprintBytes is the largest RSS sampled (it includes the fork's copied pages); peakUsedBytes the
	// largest used_memory.
	peakFootprintBytes, peakUsedBytes float64
	// footprintRatio is the largest RSS / used_memory sampled: how
	// much memory one byte of data costs at the worst moment of the run.
	footprintRatio float64
	// fragmentation is the largest RSS / used_memory sampled.
	fragmentation float64
	// cowP99Bytes is the 99th percentile of the sampled COW (montanaflynn/stats).
	cowP99Bytes float64
	forks, ooms int
}

// observedMax is the highest maxmemory whose footprint, at the ratio seen in
// this run, stays under system memory.
func (f forkFit) observedMax() float64 { return f.systemBytes / f.footprintRatio }

// worstCaseMax is the highest maxmemory that survives a fork during which the
// parent dirties every page: footprint = 2 x fragmentation x used memory.
func (f forkFit) worstCaseMax() float64 { return f.systemBytes / (2 * f.fragmentation) }

// capacity holds every recommendation the data supports.
type capacity struct {
	memory []memoryNeed
	grace  []graceFit
	loss   []lossPerHandoff
	fork   []forkFit
}

func (v *view) capacity() capacity {
	var c capacity
	cal := calibration.Default()
	for _, r := range v.runs {
		strategy := string(r.sc.State.Strategy)
		spilled := r.metricOr("spilled_keys", 0)
		if spilled > 0 {
			c.memory = append(c.memory, memoryNeedOf(cal, r, strategy, spilled))
			if s, ok := r.metric("spill_duration_max"); ok {
				c.grace = append(c.grace, graceFit{run: r.Label, strategy: strategy, spillSeconds: s,
					graceSeconds:     r.sc.Consumers.TerminationGrace.Std().Seconds(),
					graceOverrunLost: r.metricOr(lostByCausePrefix+"grace_overrun", 0)})
			}
		}
		if reb, ok := r.metric("rebalances"); ok {
			c.loss = append(c.loss, lossPerHandoff{run: r.Label, strategy: strategy, rebalances: reb,
				handoffs: math.Max(0, reb-1), lost: r.metricOr("context_lost", 0),
				staleUsed: r.metricOr("context_stale_used", 0), needed: r.metricOr("context_needed", 0)})
		}
		if f, ok := forkFitOf(r); ok {
			c.fork = append(c.fork, f)
		}
	}
	return c
}

func memoryNeedOf(cal calibration.Calibration, r runView, strategy string, spilled float64) memoryNeed {
	m := memoryNeed{run: r.Label, strategy: strategy, ttl: ttlText(r.sc.State),
		keyBytes: workload.RedisKeyLen(r.sc.Log.Partitions), datapoints: r.sc.Workload.Datapoints}
	m.meanValueBytes = r.metricOr("spill_bytes", 0) / spilled
	if keys := r.col(colRedisKeys); len(keys) > 0 {
		m.peakKeys, _ = stats.Max(keys)
	} else {
		m.peakKeys = spilled
	}
	value := int(math.Ceil(m.meanValueBytes))
	m.estUsedBytes = cal.UsedMemory(int64(m.peakKeys), m.keyBytes, value, true)
	m.estRSSBytes = cal.RSSBytes(m.estUsedBytes)
	m.allKeysBytes = cal.UsedMemory(int64(m.datapoints), m.keyBytes, value, true)
	m.measuredUsedBytes = peakOf(r, "redis_used_memory_peak_bytes", colUsedMemory)
	m.measuredRSSBytes = peakOf(r, "redis_rss_peak_bytes", colRSS)
	m.rewritten = r.metricOr("spill_rewritten_keys", 0)
	m.evicted = r.metricOr("redis_evicted_keys", 0) > 0
	return m
}

// peakOf is the summary metric, or the column's maximum, or 0.
func peakOf(r runView, metric, col string) float64 {
	if v, ok := r.metric(metric); ok && v > 0 {
		return v
	}
	if xs := r.col(col); len(xs) > 0 {
		m, _ := stats.Max(xs)
		return m
	}
	return 0
}

func ttlText(st scenarios.State) string {
	if st.TTLIntervals > 0 {
		return strconv.Itoa(st.TTLIntervals) + " × each key's interval"
	}
	if st.TTL == 0 {
		return "none"
	}
	return FormatSeconds(st.TTL.Std().Seconds())
}

func forkFitOf(r runView) (forkFit, bool) {
	used, rss := r.col(colUsedMemory), r.col(colRSS)
	if len(used) == 0 || len(rss) == 0 {
		return forkFit{}, false
	}
	cow := r.col(colCOW)
	f := forkFit{run: r.Label, systemBytes: float64(r.sc.Redis.SystemMemory.Bytes()),
		maxmemoryBytes: float64(r.sc.Redis.MaxMemory.Bytes())}
	if sys := r.col(colSystemMemory); len(sys) > 0 && sys[len(sys)-1] > 0 {
		f.systemBytes = sys[len(sys)-1]
	}
	if mm := r.col(colMaxMemory); len(mm) > 0 {
		f.maxmemoryBytes = mm[len(mm)-1]
	}
	for i := range used {
		foot := rss[i] // the node's RSS already includes the fork's copied pages
		base := foot
		if cow != nil {
			base -= cow[i]
		}
		f.peakFootprintBytes = math.Max(f.peakFootprintBytes, foot)
		f.peakUsedBytes = math.Max(f.peakUsedBytes, used[i])
		if used[i] > 0 {
			f.footprintRatio = math.Max(f.footprintRatio, foot/used[i])
			f.fragmentation = math.Max(f.fragmentation, base/used[i])
		}
	}
	if len(cow) > 0 {
		f.cowP99Bytes, _ = stats.Percentile(cow, 99)
	}
	for _, e := range r.Events {
		switch e.Kind {
		case "fork":
			f.forks++
		case "oom":
			f.ooms++
		}
	}
	if f.footprintRatio == 0 || f.systemBytes <= 0 {
		return forkFit{}, false
	}
	return f, true
}
