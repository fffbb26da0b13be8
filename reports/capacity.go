package reports

import (
	"math"
	"strconv"

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
	// peakKeys is the most keys Redis held at once (redis_keys_peak, tracked at
	// every change; spilled_keys when the run lacks it).
	peakKeys float64
	// meanValueBytes is spill_bytes / spilled_keys: one stored entry.
	meanValueBytes float64
	// keyBytes is the length of one Redis key name the core writes.
	keyBytes int
	// estUsedBytes and estRSSBytes are the calibrated model's used_memory and
	// RSS for peakKeys keys of that shape, with a TTL each.
	estUsedBytes, estRSSBytes int64
	// measuredUsedBytes and measuredRSSBytes are the run's own event-exact peaks,
	// when the Redis memory model reported them (0 otherwise).
	measuredUsedBytes, measuredRSSBytes float64
	// allKeysBytes is the model's used_memory if every datapoint's context were
	// in Redis at once (an eager rebalance of the whole group), the upper bound.
	allKeysBytes int64
	datapoints   int
	// rewritten is spill_rewritten_keys: copies already written that Redis had
	// lost (evicted, or lost with the node) by the time a handoff checked.
	rewritten float64
	evicted   bool // the run's Redis evicted keys (else the copies left with the node)
	// rec is the run's recommendation (recommend.go), ok when it has one.
	rec   recommendation
	recOK bool
}

// needBytes is the peak used memory the recommendation is based on: the
// recommendation's (measured, or every datapoint's when the run cut its peak
// short), else the model estimate.
func (m memoryNeed) needBytes() float64 {
	if m.recOK && m.rec.needBytes > 0 {
		return m.rec.needBytes
	}
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

// capacity holds every recommendation the data supports.
type capacity struct {
	memory []memoryNeed
	grace  []graceFit
	loss   []lossPerHandoff
	// recs are the runs' recommendations (recommend.go), for those that have one.
	recs []recommendation
}

func (v *view) capacity() capacity {
	var c capacity
	cal := calibration.Default()
	for _, r := range v.runs {
		strategy := string(r.sc.State.Strategy)
		spilled := r.metricOr("spilled_keys", 0)
		if spilled > 0 {
			c.memory = append(c.memory, memoryNeedOf(cal, r, strategy, spilled))
			s, ok := r.metric("handoff_spill_duration_max")
			if !ok {
				s, ok = r.metric("spill_duration_max")
			}
			if ok {
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
		if rec, ok := recommend(r); ok {
			c.recs = append(c.recs, rec)
		}
	}
	return c
}

func memoryNeedOf(cal calibration.Calibration, r runView, strategy string, spilled float64) memoryNeed {
	m := memoryNeed{run: r.Label, strategy: strategy, ttl: ttlText(r.sc.State),
		keyBytes: workload.RedisKeyLen(r.sc.Log.Partitions), datapoints: r.sc.Workload.Datapoints}
	m.meanValueBytes = r.metricOr("spill_bytes", 0) / spilled
	m.peakKeys = r.metricOr("redis_keys_peak", spilled)
	value := int(math.Ceil(m.meanValueBytes))
	m.estUsedBytes = cal.UsedMemory(int64(m.peakKeys), m.keyBytes, value, true)
	m.estRSSBytes = cal.RSSBytes(m.estUsedBytes)
	m.allKeysBytes = cal.UsedMemory(int64(m.datapoints), m.keyBytes, value, true)
	m.measuredUsedBytes = r.metricOr("redis_used_memory_peak_bytes", 0)
	m.measuredRSSBytes = r.metricOr("redis_rss_peak_bytes", 0)
	m.rewritten = r.metricOr("spill_rewritten_keys", 0)
	m.evicted = r.metricOr("redis_evicted_keys", 0) > 0
	m.rec, m.recOK = recommend(r)
	return m
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
