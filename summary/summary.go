package summary

import (
	"math"
	"strconv"
	"time"
)

// Unit is the kind of quantity a summary metric measures.
type Unit int

// The units of summary metrics. Sizes are reported in bytes and durations in
// seconds (float64), so that a bound written as "7GiB" or "50ms" compares as is.
const (
	UnitCount   Unit = iota // a number of things (messages, keys, ops, events)
	UnitRatio               // a fraction in [0, 1]
	UnitBytes               // bytes
	UnitSeconds             // seconds
)

// String returns "count", "ratio", "bytes" or "seconds".
func (u Unit) String() string {
	switch u {
	case UnitCount:
		return "count"
	case UnitRatio:
		return "ratio"
	case UnitBytes:
		return "bytes"
	case UnitSeconds:
		return "seconds"
	}
	return "Unit(" + strconv.Itoa(int(u)) + ")"
}

// LossCauses are the causes a lost or stale context is attributed to
// (docs/design.md "Context accounting"); each has a metric lost_by_cause.<cause>.
var LossCauses = []string{
	"crash", "grace_overrun", "ttl_expired", "evicted", "redis_lost", "stale_discarded", "ring_moved", "not_spilled",
	// Extensions (the simulator's causes beyond docs/design.md's list).
	"zombie", "corrupt", "redis_unavailable", "fenced", "replay",
	// Redis Streams: the latest context is in another consumer's memory (a
	// shared stream has no key affinity); the key's previous message was never
	// processed (trimmed, or dropped from a deleted consumer's pending entries).
	"other_consumer", "message_lost",
	// Replication: an acknowledged write the promoted replica never received.
	"failover_lost",
	// Redis Cluster: refused (TRYAGAIN, ASK inside a transaction) while the
	// key's slot was being migrated by a reshard.
	"cluster_migrating",
	"unknown",
}

// Totals is what a run counted, as plain numbers: the inputs of every metric's
// Value. The simulator fills it once, at the end of a run.
type Totals struct {
	Messages, Replayed                       int64
	Needed, OK, Lost, StaleUsed              int64
	LostBy                                   []int64 // contexts lost, by cause, in LossCauses order
	LocalHits, Restored, StaleDiscarded      int64
	RedisLookupsMissed                       int64
	SpilledKeys, SpillBytes                  int64
	SpillFailed, FencedWrites, SpillRewrites int64
	SpillMax                                 time.Duration
	CommitsFailed, Crashes                   int64

	// Redis, summed over every node (peaks: the highest of any node).
	RedisOps, RedisRoundTrips, RedisBytesIn, RedisBytesOut, RedisExpired int64
	RedisUsedPeak, RedisRSSPeak, RedisCOWPeak                            int64
	RedisEvicted, RedisOOMKills, RedisForkFailures, RedisRejectedWrites  int64
	// Event-exact peaks and failure levels of one node (tracked at every change,
	// not read from the time series): the most keys held at once, used memory when
	// RSS peaked and when copy-on-write peaked, used memory and RSS at the
	// lowest-used OOM kill, and the lowest used memory at which a fork was refused
	// (0: none).
	RedisKeysPeak, RedisUsedAtRSSPeak, RedisUsedAtCOWPeak int64
	RedisOOMUsed, RedisOOMRSS, RedisForkFailedUsed        int64

	// Handoff spills (revoke, lost, shutdown): the most keys one had to write, the
	// longest, and the longest's throughput in keys per worker-second.
	HandoffSpillKeysMax    int64
	HandoffSpillMax        time.Duration
	HandoffSpillWorkerRate float64

	// Latency returns the q-quantile of append → processed over the run.
	Latency             func(q float64) time.Duration
	LagMax              int64 // largest per-partition lag seen
	Rebalances          int64
	RebalancePauseTotal time.Duration // partition-time no consumer could process

	// Redis Streams and producers (zero on a Kafka log).
	Redelivered, Unclaimable, Trimmed    int64 // entries claimed again; dropped from a deleted consumer's PEL; trimmed unprocessed
	Duplicates, MissedTicks              int64 // producer ticks emitted more than once; never emitted
	TickDelayP99                         time.Duration
	StreamUsedPeak, PendingMax, Handoffs int64 // modelled stream + PEL bytes; largest PEL; lease handoffs

	// Hosts and server CPU (sim/redisnode/host.go, cpu.go): the highest RSS of one
	// host (its instances' RSS and their children's copies, event-exact), the most
	// fork children alive at once on one host, and the busiest node's main-thread
	// busy fraction and ops/s in one window (redisnode.CPUWindow, 1 s).
	RedisHostRSSPeak, RedisHostForksMax int64
	RedisCPUPeak, RedisOpsPerSecPeak    float64
	// Clients and value format (sim/clientpool.go, sim/valueformat.go).
	Duration        time.Duration // the run's length (messages_per_second)
	PoolWaits       int64         // real round trips that waited for a pool connection
	PoolWaitMax     time.Duration // the longest such wait
	ValueBytes      ValueBytes    // one stored context, by component
	NodesNeeded     int64         // Redis nodes the run's peak used memory needs (0: unknown)
	NodeBudgetBytes int64         // the memory one node may use for data, behind NodesNeeded
	// Replication (zero without replicas or WAIT): replicas promoted, full syncs,
	// the longest replication lag of a write, and the time spills spent in WAIT
	// (summed over calls) and the WAITs that timed out.
	RedisFailovers, RedisFullSyncs, RedisWaitTimeouts int64
	RedisReplLagMax, RedisWaitTotal                   time.Duration
}

// ValueBytes is the Redis memory of one stored context, by component: the key
// name, the core's envelope (header and checksum), the codec's payload before
// compression, what compression changed (negative: saved), and Redis's own
// per-key overhead (dict entries, object headers, SDS headers, the expire
// entry, allocator rounding). Total is their sum: used_memory per key.
type ValueBytes struct {
	KeyName, Envelope, Payload, Compression, RedisOverhead, Total float64
}

// Metric is one summary metric: a row of the table.
type Metric struct {
	Name string
	Unit Unit
	// Value computes the metric from a run's totals.
	Value func(t *Totals) float64
	// Golden is true when the golden summaries (sim/testdata/golden) pin it
	// (lost_by_cause.* only when non-zero).
	Golden bool
}

func count(v int64) float64           { return float64(v) }
func seconds(d time.Duration) float64 { return d.Seconds() }
func latency(q float64) func(*Totals) float64 {
	return func(t *Totals) float64 { return t.Latency(q).Seconds() }
}

// metrics is the table: docs/design.md's summary metric list, in its order,
// with lost_by_cause.* expanded in place, then the extensions.
var metrics = func() []Metric {
	c, r, b, s := UnitCount, UnitRatio, UnitBytes, UnitSeconds
	const pin = true
	out := []Metric{
		{"messages", c, func(t *Totals) float64 { return count(t.Messages) }, pin},
		{"messages_replayed", c, func(t *Totals) float64 { return count(t.Replayed) }, pin},
		{"context_needed", c, func(t *Totals) float64 { return count(t.Needed) }, pin},
		{"context_ok", c, func(t *Totals) float64 { return count(t.OK) }, false},
		{"context_lost", c, func(t *Totals) float64 { return count(t.Lost) }, pin},
		{"context_stale_used", c, func(t *Totals) float64 { return count(t.StaleUsed) }, pin},
		{"context_loss_ratio", r, func(t *Totals) float64 {
			if t.Needed == 0 {
				return 0
			}
			return round(float64(t.Lost)/float64(t.Needed), 6)
		}, pin},
	}
	for i, cause := range LossCauses {
		out = append(out, Metric{"lost_by_cause." + cause, c, func(t *Totals) float64 { return count(t.LostBy[i]) }, pin})
	}
	return append(out, []Metric{
		{"local_hits", c, func(t *Totals) float64 { return count(t.LocalHits) }, false},
		{"restored", c, func(t *Totals) float64 { return count(t.Restored) }, pin},
		{"stale_discarded", c, func(t *Totals) float64 { return count(t.StaleDiscarded) }, false},
		{"redis_lookups_missed", c, func(t *Totals) float64 { return count(t.RedisLookupsMissed) }, false},
		{"spilled_keys", c, func(t *Totals) float64 { return count(t.SpilledKeys) }, pin},
		{"spill_bytes", b, func(t *Totals) float64 { return count(t.SpillBytes) }, pin},
		{"spill_duration_max", s, func(t *Totals) float64 { return seconds(t.SpillMax) }, false},
		{"redis_ops", c, func(t *Totals) float64 { return count(t.RedisOps) }, pin},
		{"redis_bytes_in", b, func(t *Totals) float64 { return count(t.RedisBytesIn) }, false},
		{"redis_bytes_out", b, func(t *Totals) float64 { return count(t.RedisBytesOut) }, false},
		{"redis_used_memory_peak_bytes", b, func(t *Totals) float64 { return count(t.RedisUsedPeak) }, pin},
		{"redis_rss_peak_bytes", b, func(t *Totals) float64 { return count(t.RedisRSSPeak) }, pin},
		{"redis_cow_peak_bytes", b, func(t *Totals) float64 { return count(t.RedisCOWPeak) }, pin},
		{"redis_evicted_keys", c, func(t *Totals) float64 { return count(t.RedisEvicted) }, pin},
		{"redis_expired_keys", c, func(t *Totals) float64 { return count(t.RedisExpired) }, false},
		{"redis_oom_kills", c, func(t *Totals) float64 { return count(t.RedisOOMKills) }, pin},
		{"redis_fork_failures", c, func(t *Totals) float64 { return count(t.RedisForkFailures) }, pin},
		{"redis_rejected_writes", c, func(t *Totals) float64 { return count(t.RedisRejectedWrites) }, pin},
		{"latency_p50", s, latency(0.5), false},
		{"latency_p99", s, latency(0.99), false},
		{"latency_p999", s, latency(0.999), false},
		{"consumer_lag_max", c, func(t *Totals) float64 { return count(t.LagMax) }, false},
		{"rebalances", c, func(t *Totals) float64 { return count(t.Rebalances) }, pin},
		{"rebalance_pause_total", s, func(t *Totals) float64 { return seconds(t.RebalancePauseTotal) }, false},
		// Extensions.
		{"spill_failed_keys", c, func(t *Totals) float64 { return count(t.SpillFailed) }, pin},
		{"fenced_writes", c, func(t *Totals) float64 { return count(t.FencedWrites) }, pin},
		{"redis_round_trips", c, func(t *Totals) float64 { return count(t.RedisRoundTrips) }, false},
		{"crashes", c, func(t *Totals) float64 { return count(t.Crashes) }, false},
		{"commits_failed", c, func(t *Totals) float64 { return count(t.CommitsFailed) }, false},
		{"spill_rewritten_keys", c, func(t *Totals) float64 { return count(t.SpillRewrites) }, pin},
		{"redis_keys_peak", c, func(t *Totals) float64 { return count(t.RedisKeysPeak) }, pin},
		{"redis_used_memory_at_rss_peak_bytes", b, func(t *Totals) float64 { return count(t.RedisUsedAtRSSPeak) }, false},
		{"redis_used_memory_at_cow_peak_bytes", b, func(t *Totals) float64 { return count(t.RedisUsedAtCOWPeak) }, false},
		{"redis_oom_used_memory_bytes", b, func(t *Totals) float64 { return count(t.RedisOOMUsed) }, false},
		{"redis_oom_rss_bytes", b, func(t *Totals) float64 { return count(t.RedisOOMRSS) }, false},
		{"redis_fork_failed_used_memory_bytes", b, func(t *Totals) float64 { return count(t.RedisForkFailedUsed) }, false},
		{"handoff_spill_keys_max", c, func(t *Totals) float64 { return count(t.HandoffSpillKeysMax) }, false},
		{"handoff_spill_duration_max", s, func(t *Totals) float64 { return seconds(t.HandoffSpillMax) }, false},
		{"handoff_spill_keys_per_worker_second", c, func(t *Totals) float64 {
			return round(t.HandoffSpillWorkerRate, 3)
		}, false},
		// Redis Streams and producers.
		{"messages_redelivered", c, func(t *Totals) float64 { return count(t.Redelivered) }, false},
		{"messages_unclaimable", c, func(t *Totals) float64 { return count(t.Unclaimable) }, false},
		{"messages_trimmed", c, func(t *Totals) float64 { return count(t.Trimmed) }, false},
		{"duplicate_events", c, func(t *Totals) float64 { return count(t.Duplicates) }, false},
		{"missed_ticks", c, func(t *Totals) float64 { return count(t.MissedTicks) }, false},
		{"tick_delay_p99", s, func(t *Totals) float64 { return seconds(t.TickDelayP99) }, false},
		{"stream_used_memory_peak_bytes", b, func(t *Totals) float64 { return count(t.StreamUsedPeak) }, false},
		{"stream_pending_max", c, func(t *Totals) float64 { return count(t.PendingMax) }, false},
		{"lease_handoffs", c, func(t *Totals) float64 { return count(t.Handoffs) }, false},
		// Hosts and server CPU.
		{"redis_host_rss_peak_bytes", b, func(t *Totals) float64 { return count(t.RedisHostRSSPeak) }, false},
		{"redis_host_forks_concurrent_max", c, func(t *Totals) float64 { return count(t.RedisHostForksMax) }, false},
		{"redis_cpu_peak_utilization", r, func(t *Totals) float64 { return round(t.RedisCPUPeak, 4) }, false},
		{"redis_ops_per_sec_peak", c, func(t *Totals) float64 { return math.Round(t.RedisOpsPerSecPeak) }, false},
		// Clients and value format.
		{"messages_per_second", c, func(t *Totals) float64 {
			if t.Duration <= 0 {
				return 0
			}
			return round(float64(t.Messages)/t.Duration.Seconds(), 3)
		}, false},
		{"redis_pool_waits", c, func(t *Totals) float64 { return count(t.PoolWaits) }, false},
		{"redis_pool_wait_max", s, func(t *Totals) float64 { return seconds(t.PoolWaitMax) }, false},
		{"redis_bytes_per_key", b, func(t *Totals) float64 { return round(t.ValueBytes.Total, 1) }, false},
		{"redis_bytes_per_key.key_name", b, func(t *Totals) float64 { return round(t.ValueBytes.KeyName, 1) }, false},
		{"redis_bytes_per_key.envelope", b, func(t *Totals) float64 { return round(t.ValueBytes.Envelope, 1) }, false},
		{"redis_bytes_per_key.payload", b, func(t *Totals) float64 { return round(t.ValueBytes.Payload, 1) }, false},
		{"redis_bytes_per_key.compression", b, func(t *Totals) float64 { return round(t.ValueBytes.Compression, 1) }, false},
		{"redis_bytes_per_key.redis_overhead", b, func(t *Totals) float64 { return round(t.ValueBytes.RedisOverhead, 1) }, false},
		{"redis_nodes_needed", c, func(t *Totals) float64 { return count(t.NodesNeeded) }, false},
		// Replication.
		{"redis_failovers", c, func(t *Totals) float64 { return count(t.RedisFailovers) }, false},
		{"redis_full_syncs", c, func(t *Totals) float64 { return count(t.RedisFullSyncs) }, false},
		{"redis_repl_lag_max", s, func(t *Totals) float64 { return seconds(t.RedisReplLagMax) }, false},
		{"redis_wait_total", s, func(t *Totals) float64 { return seconds(t.RedisWaitTotal) }, false},
		{"redis_wait_timeouts", c, func(t *Totals) float64 { return count(t.RedisWaitTimeouts) }, false},
	}...)
}()

// Metrics returns the table, in contract order (a copy).
func Metrics() []Metric { return append([]Metric(nil), metrics...) }

// Names returns every metric's name, in contract order.
func Names() []string {
	out := make([]string, len(metrics))
	for i, m := range metrics {
		out[i] = m.Name
	}
	return out
}

// Lookup returns the metric called name, and false for an unknown name.
func Lookup(name string) (Metric, bool) {
	for _, m := range metrics {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

func round(v float64, digits int) float64 {
	p := 1.0
	for i := 0; i < digits; i++ {
		p *= 10
	}
	return float64(int64(v*p+0.5)) / p
}
