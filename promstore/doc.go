// Package promstore exports a core.Store's spills, restores and local hit rate to
// Prometheus. It owns the adapter only: Metrics is a core.Metrics sink (one call
// per spill and per restore that asked Redis, never per Get) that feeds counters
// and histograms, and StatsCollector reads what the store counts itself (local
// hits and misses, entries in memory) on each scrape. It must not be imported by
// core, whose local path stays free of metrics calls; core never imports
// client_golang.
//
// Series (namespace "spillway" by default, ConstLabels on every series):
//
//	spillway_spill_duration_seconds            histogram, one observation per Spill, SpillAll, Sync
//	spillway_restore_duration_seconds          histogram, one per Restore or Warm that asked Redis
//	spillway_spill_keys_total{result}          written | already_written | not_written
//	spillway_spill_failures_total{reason}      one series per core.Reason but none (deadline, fenced, oom, ...)
//	spillway_spill_bytes_total{stage}          raw (before compression) | wire (as stored)
//	spillway_spill_dropped_total               entries removed from memory by spills
//	spillway_spill_batches_total               script calls or pipelines sent, retries included
//	spillway_spill_rewritten_total             already-written entries Redis had lost, written again
//	spillway_restore_keys_total{outcome}       local | restored | missing | stale | corrupt | failed
//	spillway_restore_undeleted_total           taken keys whose delete was not confirmed
//	spillway_local_hits_total                  StatsCollector: Get found the key in memory
//	spillway_local_misses_total                StatsCollector: Get did not
//	spillway_entries                           StatsCollector: entries in memory (gauge)
//
// Usage:
//
//	m := promstore.New(promstore.ConstLabels(prometheus.Labels{"store": "rates"}))
//	reg.MustRegister(m)
//	store, err := core.New[V](rdb, codec, core.Namespace("rates"), core.WithMetrics(m))
//	...
//	reg.MustRegister(promstore.NewStatsCollector(store, promstore.ConstLabels(prometheus.Labels{"store": "rates"})))
//
// Useful queries: spill keys not written by reason,
// rate(spillway_spill_failures_total[5m]); the compression ratio,
// rate(spillway_spill_bytes_total{stage="wire"}[1h]) / rate(spillway_spill_bytes_total{stage="raw"}[1h]);
// the local miss ratio, rate(spillway_local_misses_total[5m]) /
// (rate(spillway_local_hits_total[5m]) + rate(spillway_local_misses_total[5m])); the
// slow spills against the termination grace,
// histogram_quantile(0.99, rate(spillway_spill_duration_seconds_bucket[1h])).
package promstore
