package promstore

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spillway-sim/spillway/core"
)

// Metrics is a core.Metrics sink that turns spill and restore reports into
// Prometheus counters and histograms, and a prometheus.Collector that exports
// them. It is safe for concurrent use. Every series exists from creation, at 0,
// so rate() and absent() behave before the first spill.
type Metrics struct {
	spillDuration   prometheus.Histogram
	restoreDuration prometheus.Histogram

	spillKeys     *prometheus.CounterVec // result
	spillWritten  prometheus.Counter
	spillAlready  prometheus.Counter
	spillNot      prometheus.Counter
	spillFailures *prometheus.CounterVec                               // reason
	byReason      [len(core.SpillReport{}.ByReason)]prometheus.Counter // nil for ReasonNone and unused indices
	spillBytes    *prometheus.CounterVec                               // stage
	spillRaw      prometheus.Counter
	spillWire     prometheus.Counter
	spillDropped  prometheus.Counter
	spillBatches  prometheus.Counter
	spillRewrite  prometheus.Counter

	restoreKeys      *prometheus.CounterVec // outcome
	byOutcome        [len(outcomes)]prometheus.Counter
	restoreUndeleted prometheus.Counter
}

// outcomes lists the restore outcomes in core.Outcome order with the report field
// that counts each.
var outcomes = [...]struct {
	o     core.Outcome
	count func(*core.RestoreReport) int
}{
	{core.OutcomeLocal, func(r *core.RestoreReport) int { return r.Local }},
	{core.OutcomeRestored, func(r *core.RestoreReport) int { return r.Restored }},
	{core.OutcomeMissing, func(r *core.RestoreReport) int { return r.Missing }},
	{core.OutcomeStale, func(r *core.RestoreReport) int { return r.Stale }},
	{core.OutcomeCorrupt, func(r *core.RestoreReport) int { return r.Corrupt }},
	{core.OutcomeFailed, func(r *core.RestoreReport) int { return r.Failed }},
}

var (
	_ core.Metrics         = (*Metrics)(nil)
	_ prometheus.Collector = (*Metrics)(nil)
)

// New returns a Metrics to pass to core.WithMetrics and to register with a
// prometheus.Registerer. Use one per store (told apart by ConstLabels), or share
// one between stores to export their sum. It panics on invalid DurationBuckets;
// invalid names or label names are reported by Register.
func New(opts ...Option) *Metrics {
	c := newConfig(opts)
	checkBuckets(c.bucketSeconds)
	ns, cl := c.namespace, c.constLabels
	counter := func(subsystem, name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: subsystem, Name: name, Help: help, ConstLabels: cl})
	}
	vec := func(subsystem, name, help, label string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: subsystem, Name: name, Help: help, ConstLabels: cl}, []string{label})
	}
	hist := func(subsystem, help string) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: subsystem, Name: "duration_seconds", Help: help, ConstLabels: cl,
			Buckets: c.bucketSeconds})
	}
	m := &Metrics{
		spillDuration: hist("spill",
			"Time one Spill, SpillAll or Sync took, by the store's clock."),
		restoreDuration: hist("restore",
			"Time one Restore or Warm that asked Redis took, by the store's clock."),
		spillKeys: vec("spill", "keys_total",
			"Entries considered by spills: written (Redis acknowledged), already_written (clean, Redis copy current), "+
				"not_written (kept in memory; see spill_failures_total).", "result"),
		spillFailures: vec("spill", "failures_total",
			"Entries not written by spills, by reason (core.Reason; disabled = memory-only strategy).", "reason"),
		spillBytes: vec("spill", "bytes_total",
			"Bytes of the entries spills wrote: raw = payload before compression, wire = envelope as stored.", "stage"),
		spillDropped: counter("spill", "dropped_total",
			"Entries spills removed from memory (acknowledged by Redis, or memory-only)."),
		spillBatches: counter("spill", "batches_total",
			"Script calls or pipelines spills sent to Redis, retries included."),
		spillRewrite: counter("spill", "rewritten_total",
			"Entries already written (write-through, checkpoint) that Redis no longer had, or could not confirm it "+
				"had, when a spill checked: written again (counted in keys_total too). Non-zero means Redis lost "+
				"copies: a restart without persistence, a flush, eviction, a failover that lost writes."),
		restoreKeys: vec("restore", "keys_total",
			"Keys asked of Restore and Warm calls that asked Redis, by outcome (duplicates included).", "outcome"),
		restoreUndeleted: counter("restore", "undeleted_total",
			"Keys taken from Redis whose delete was not confirmed: they may stay in Redis until their TTL."),
	}
	m.spillWritten = m.spillKeys.WithLabelValues("written")
	m.spillAlready = m.spillKeys.WithLabelValues("already_written")
	m.spillNot = m.spillKeys.WithLabelValues("not_written")
	for _, r := range core.Reasons() {
		m.byReason[r] = m.spillFailures.WithLabelValues(r.String())
	}
	m.spillRaw = m.spillBytes.WithLabelValues("raw")
	m.spillWire = m.spillBytes.WithLabelValues("wire")
	for i, o := range outcomes {
		m.byOutcome[i] = m.restoreKeys.WithLabelValues(o.o.String())
	}
	return m
}

// ObserveSpill implements core.Metrics: one histogram observation and the
// report's counts added to the counters.
func (m *Metrics) ObserveSpill(r *core.SpillReport) {
	m.spillDuration.Observe(r.Duration.Seconds())
	add(m.spillWritten, "Written", int64(r.Written))
	add(m.spillAlready, "AlreadyWritten", int64(r.AlreadyWritten))
	add(m.spillNot, "NotWritten", int64(r.NotWritten))
	for i, n := range r.ByReason {
		if n == 0 {
			continue
		}
		if m.byReason[i] == nil {
			panic(fmt.Sprintf("promstore: spill report counts %d entries under reason %d (%v), which has no series", n, i, core.Reason(i)))
		}
		add(m.byReason[i], "ByReason", int64(n))
	}
	add(m.spillRaw, "RawBytes", r.RawBytes)
	add(m.spillWire, "WireBytes", r.WireBytes)
	add(m.spillDropped, "Dropped", int64(r.Dropped))
	add(m.spillBatches, "Batches", int64(r.Batches))
	add(m.spillRewrite, "Rewritten", int64(r.Rewritten))
}

// ObserveRestore implements core.Metrics: one histogram observation and the
// report's counts added to the counters.
func (m *Metrics) ObserveRestore(r *core.RestoreReport) {
	m.restoreDuration.Observe(r.Duration.Seconds())
	for i, o := range outcomes {
		add(m.byOutcome[i], o.o.String(), int64(o.count(r)))
	}
	add(m.restoreUndeleted, "Undeleted", int64(r.Undeleted))
}

// add adds n to c. A negative count is a broken report: it panics with the field's
// name (Counter.Add would panic too, without it).
func add(c prometheus.Counter, field string, n int64) {
	if n < 0 {
		panic(fmt.Sprintf("promstore: report field %s is negative (%d)", field, n))
	}
	if n > 0 {
		c.Add(float64(n))
	}
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		m.spillDuration, m.restoreDuration,
		m.spillKeys, m.spillFailures, m.spillBytes, m.spillDropped, m.spillBatches, m.spillRewrite,
		m.restoreKeys, m.restoreUndeleted,
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
}
