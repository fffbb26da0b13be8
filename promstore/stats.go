package promstore

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spillway-sim/spillway/core"
)

// StatsSource is what a StatsCollector reads on each scrape. *core.Store[V]
// implements it for any V.
type StatsSource interface {
	// Stats returns the store's counters (core.Store.Stats: one lock per partition).
	Stats() core.Stats
	// Len returns the entries in memory (core.Store.Len: one lock per partition).
	Len() int
}

// StatsCollector exports what the store counts itself and reports to no
// core.Metrics: Get's local hits and misses (the local path makes no interface
// calls) and the entries in memory. It reads its source on every scrape, so the
// values are as fresh as the scrape. The rest of core.Stats is left out: Metrics
// exports it from the reports, and exporting both would count it twice.
type StatsCollector struct {
	src                   StatsSource
	hits, misses, entries *prometheus.Desc
}

var (
	_ prometheus.Collector = (*StatsCollector)(nil)
	_ StatsSource          = (*core.Store[[]byte])(nil)
)

// NewStatsCollector returns a collector over src; register it beside the store's
// Metrics with the same Namespace and ConstLabels. DurationBuckets does not apply.
// It panics if src is nil.
func NewStatsCollector(src StatsSource, opts ...Option) *StatsCollector {
	if src == nil {
		panic("promstore: NewStatsCollector needs a non-nil StatsSource (e.g. a *core.Store)")
	}
	c := newConfig(opts)
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(c.namespace, "", name), help, nil, c.constLabels)
	}
	return &StatsCollector{
		src:     src,
		hits:    desc("local_hits_total", "Get calls that found the key in memory."),
		misses:  desc("local_misses_total", "Get calls that did not find the key in memory."),
		entries: desc("entries", "Entries in memory."),
	}
}

// Describe implements prometheus.Collector.
func (s *StatsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- s.hits
	ch <- s.misses
	ch <- s.entries
}

// Collect implements prometheus.Collector: one Stats and one Len call per scrape.
func (s *StatsCollector) Collect(ch chan<- prometheus.Metric) {
	st := s.src.Stats()
	ch <- prometheus.MustNewConstMetric(s.hits, prometheus.CounterValue, float64(st.LocalHits))
	ch <- prometheus.MustNewConstMetric(s.misses, prometheus.CounterValue, float64(st.LocalMisses))
	ch <- prometheus.MustNewConstMetric(s.entries, prometheus.GaugeValue, float64(s.src.Len()))
}
