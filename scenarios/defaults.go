package scenarios

import (
	"fmt"
	"reflect"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// DefaultValue is one documented default of the scenario schema.
type DefaultValue struct {
	// Path is the dotted field path.
	Path string
	// Value is the default as it would be written in a scenario file.
	Value string
	// Source says where the number comes from: the real system's default it
	// mirrors, or why it was picked.
	Source string
	// ZeroMeaningful marks fields whose zero value is a legitimate setting (e.g.
	// termination_grace: 0s kills at once). A file that writes the zero keeps
	// it; EnsureDefaults never replaces it.
	ZeroMeaningful bool
	// Unless names a mutually exclusive sibling: the default applies only when
	// neither field is set (workload.interval vs workload.intervals, state.ttl
	// vs state.ttl_intervals).
	Unless string
}

// defaultTable is the ONE place scenario defaults live. Parse decodes a file on
// top of a scenario holding these values, so a field the file omits keeps its
// default and a field it sets to zero stays zero; EnsureDefaults then fills the
// derived ones (those with Unless) and any zero that is not a legitimate setting.
// Fields absent here default to their zero value (e.g. workload.datapoints, which
// is required, and consumers.autoscaler.max, required when an autoscaler is set).
var defaultTable = []DefaultValue{
	// Run.
	{Path: "version", Value: "1", Source: "schema version this package reads; a file must still write it"},
	{Path: "seed", Value: "1", Source: "fixed, never time-based: the same file gives the same run", ZeroMeaningful: true},
	{Path: "duration", Value: "60m", Source: "docs/design.md sample scenario"},
	{Path: "sample_every", Value: "10s", Source: "docs/design.md sample scenario; Prometheus-like scrape period"},

	// Workload.
	{Path: "workload.interval", Value: "60s", Unless: "workload.intervals",
		Source: "a one-minute collection interval (LogicMonitor's write-up: TTL follows the datasource's collection interval)"},
	{Path: "workload.jitter", Value: "0s", ZeroMeaningful: true, Source: "no jitter: every key emits exactly on its interval"},
	{Path: "workload.value_format.encoding", Value: "binary",
		Source: "the context's own bytes (a hand-written binary codec, core.Codec); json = core.JSONCodec of {key, seq, state}"},
	{Path: "workload.value_format.redundant_bytes", Value: "0", ZeroMeaningful: true,
		Source: "0 = no field the key already says; Instaclustr's legacy format repeated the key name in every value"},
	{Path: "workload.context_bytes", Value: "64", Source: "docs/design.md sample: a previous raw value plus a timestamp and key fields"},
	{Path: "workload.counter_fraction", Value: "1", ZeroMeaningful: true,
		Source: "every key needs context: the worst case for context loss"},

	{Path: "workload.sample_rate", Value: "1",
		Source: "every datapoint simulated; a rate r < 1 runs a hash-chosen 1/round(1/r) of them, each standing for round(1/r) (SHARDS, Waldspurger et al., FAST '15)"},
	{Path: "workload.lifetime", Value: "0s", ZeroMeaningful: true,
		Source: "0 = every key lives for the whole run; set it to make series churn (a new key per lifetime)"},

	// Log: Kafka consumer 3.x and broker defaults (docs/design.md "Defaults of the real systems").
	{Path: "log.partitions", Value: "1", Source: "Kafka broker num.partitions"},
	{Path: "log.assignor", Value: "range",
		Source: "Java client 3.x partition.assignment.strategy is [range, cooperative-sticky]; the group uses the " +
			"first protocol every member supports, so a default group runs range (eager: every rebalance revokes everything)"},
	{Path: "log.static_membership", Value: "false", ZeroMeaningful: true, Source: "group.instance.id unset (KIP-345 is opt-in)"},
	{Path: "log.session_timeout", Value: "45s", Source: "Kafka consumer 3.x session.timeout.ms (KIP-735)"},
	{Path: "log.rebalance_time", Value: "3s", ZeroMeaningful: true,
		Source: "broker group.initial.rebalance.delay.ms; also 1 x heartbeat.interval.ms (3 s) for members to rejoin"},
	{Path: "log.poll_batch", Value: "500", Source: "Kafka consumer max.poll.records"},
	{Path: "log.commit_interval", Value: "5s", Source: "Kafka consumer auto.commit.interval.ms (enable.auto.commit=true)"},
	// Log: Redis Streams (log.kind: redis-streams).
	{Path: "log.kind", Value: "kafka", Source: "the Kafka-like log the simulator was built around; redis-streams for a Redis Streams consumer group"},
	{Path: "log.stream_assignment", Value: "shared",
		Source: "redis-streams: the consumer-group default, every consumer reads every stream (XREADGROUP ... STREAMS s1 s2 ... > >)"},
	{Path: "log.claim_min_idle", Value: "30s",
		Source: "redis-streams: a common XAUTOCLAIM min-idle-time (e.g. Asynq's and Watermill's claim loops use tens of seconds)"},
	{Path: "log.lease_ttl", Value: "10s",
		Source: "redis-streams: a Redlock-style lease of ~10 s (redsync's default expiry is 8 s), renewed every third"},
	{Path: "log.maxlen", Value: "0", ZeroMeaningful: true, Source: "redis-streams: XADD without MAXLEN, streams never trimmed"},
	{Path: "log.delete_idle_consumers", Value: "false", ZeroMeaningful: true,
		Source: "redis-streams: departed consumers are not deleted (XGROUP DELCONSUMER is opt-in)"},

	// Consumers: Kubernetes defaults.
	{Path: "consumers.replicas", Value: "1", ZeroMeaningful: true, Source: "Kubernetes Deployment spec.replicas"},
	{Path: "consumers.termination_grace", Value: "30s", ZeroMeaningful: true,
		Source: "Kubernetes terminationGracePeriodSeconds"},
	{Path: "consumers.process_time", Value: "20us", ZeroMeaningful: true,
		Source: "estimate: decode + rate computation of one small message; docs/design.md sample"},
	{Path: "consumers.startup", Value: "10s", ZeroMeaningful: true,
		Source: "estimate: container start + JVM/Go init + first JoinGroup; docs/design.md sample"},
	{Path: "consumers.on_lost", Value: "revoke",
		Source: "Kafka ConsumerRebalanceListener: onPartitionsLost calls onPartitionsRevoked by default (KIP-429)"},
	// Consumers: client contention (topology_clients.go).
	{Path: "consumers.threads", Value: "1", Source: "one consumer thread per pod, each pod one Kafka consumer"},
	{Path: "consumers.redis_client", Value: "shared",
		Source: "one client per process, as go-redis and Lettuce recommend (with one thread, shared and per-thread are the same)"},
	{Path: "consumers.redis_pool_size", Value: "20",
		Source: "go-redis Options.PoolSize default 10 x runtime.GOMAXPROCS(0) on a 2-CPU pod (Go 1.25+ sets GOMAXPROCS from the container's CPU limit)"},
	{Path: "consumers.autoscaler.min", Value: "1", Source: "HPA minReplicas"},
	{Path: "consumers.autoscaler.target_cpu", Value: "0.8",
		Source: "HPA autoscaling/v1 targetCPUUtilizationPercentage (80 %), also kubectl autoscale --cpu-percent"},
	{Path: "consumers.autoscaler.stabilization", Value: "5m", ZeroMeaningful: true,
		Source: "HPA scale-down stabilizationWindowSeconds (300 s)"},

	// Producers (redis-streams; the block is optional).
	{Path: "producers.replicas", Value: "1", Source: "one producer process"},
	{Path: "producers.scheduling", Value: "ticker",
		Source: "UptimeNinja's write-up: a time.Ticker per monitor in the producer (its first design)"},
	{Path: "producers.poll_every", Value: "10s",
		Source: "estimate: a tick table polled every few seconds (UptimeNinja's write-up: intervals cannot be shorter than the poll)"},

	// State: the production recipe of LogicMonitor's write-up.
	{Path: "state.strategy", Value: "spill-on-revoke", Source: "LogicMonitor's write-up: spill on revoke and on shutdown"},
	{Path: "state.ttl_intervals", Value: "3", Unless: "state.ttl",
		Source: "LogicMonitor's write-up: TTL from the collection interval; 3 intervals outlive one missed poll plus a rebalance"},
	{Path: "state.max_age", Value: "0s", ZeroMeaningful: true, Source: "0 = no age limit beyond the TTL"},
	{Path: "state.compression", Value: "lz4", Source: "LogicMonitor's write-up: lz4-compressed context"},
	{Path: "state.spill_parallelism", Value: "8", Source: "estimate: a few pipelines in flight per pod"},
	{Path: "state.spill_batch", Value: "1000", Source: "estimate: ~1000 keys per pipeline (docs/design.md: ~2x compression per 1000-record block)"},
	{Path: "state.checkpoint_every", Value: "30s", Source: "docs/design.md sample"},
	{Path: "state.restore", Value: "lazy", Source: "LogicMonitor's write-up: look up Redis on a local miss"},
	{Path: "state.ttl_only_every", Value: "0s", ZeroMeaningful: true,
		Source: "0 = TTLs always applied; with ttl_only_for, Instaclustr's writer bug (TTLs one minute in thirty)"},
	{Path: "state.ttl_only_for", Value: "0s", ZeroMeaningful: true, Source: "see state.ttl_only_every"},
	{Path: "state.fencing", Value: "true", ZeroMeaningful: true,
		Source: "Spillway's generation fence: a zombie's late spill is refused (off = plain pipelined SETs)"},

	// Redis: redis.conf defaults (Redis 7).
	{Path: "redis.nodes", Value: "1", Source: "one node"},
	{Path: "redis.mode", Value: `""`, ZeroMeaningful: true,
		Source: "empty = the topology before redis.mode existed: single when redis.nodes is 1 and no timeline event " +
			"changes the node count (redis_nodes, reshard), else ring (go-redis Ring, client-side hashing as Twemproxy)"},
	{Path: "redis.system_memory", Value: "8GiB", Source: "docs/design.md sample: an 8 GiB node"},
	{Path: "redis.maxmemory", Value: "0", ZeroMeaningful: true, Source: "redis.conf maxmemory 0 = no limit on 64-bit"},
	{Path: "redis.maxmemory_policy", Value: "noeviction", Source: "redis.conf maxmemory-policy"},
	{Path: "redis.maxmemory_samples", Value: "5", Source: "redis.conf maxmemory-samples"},
	{Path: "redis.overcommit_memory", Value: "1", ZeroMeaningful: true,
		Source: "vm.overcommit_memory=1 as Redis's startup warning and admin guide require (the Linux default is 0)"},
	{Path: "redis.overcommit_heuristic", Value: "current",
		Source: "Linux 5.2 and later (mm/util.c __vm_enough_memory, Documentation/mm/overcommit-accounting.rst): " +
			"overcommit_memory 0 refuses only one mapping larger than RAM + swap, so a fork succeeds and the OOM " +
			"killer acts later; pre-5.2: the older free-memory estimate, where a fork whose child does not fit fails"},
	{Path: "redis.baseline_used", Value: "0", ZeroMeaningful: true, Source: "an empty node"},
	{Path: "redis.rtt", Value: "200us", ZeroMeaningful: true,
		Source: "redis.io latency guide: ~200 us round trip on a 1 Gbit/s network"},
	{Path: "redis.persistence.rdb_save", Value: "[]", ZeroMeaningful: true,
		Source: "no automatic snapshots: BGSAVE comes from timeline events (redis.conf 7 would save 3600 1 300 100 60 10000)"},
	{Path: "redis.persistence.aof", Value: "false", ZeroMeaningful: true, Source: "redis.conf appendonly no"},
	{Path: "redis.persistence.aof_rewrite_percentage", Value: "100", ZeroMeaningful: true,
		Source: "redis.conf auto-aof-rewrite-percentage (0 disables automatic rewrites)"},
	{Path: "redis.persistence.aof_rewrite_min_size", Value: "64MiB", ZeroMeaningful: true,
		Source: "redis.conf auto-aof-rewrite-min-size 64mb"},
	{Path: "redis.persistence.snapshot_rate", Value: "0", ZeroMeaningful: true,
		Source: "0 = calibrated: sim/calibration/calibration.json fork.snapshot_bytes_per_sec, " +
			"BGSAVE of incompressible values with rdbcompression yes (79.2 MB/s of used memory; make calibrate)"},
	{Path: "redis.model.page_size", Value: "4KiB", Source: "x86-64 base page; 2MiB with transparent huge pages"},
	{Path: "redis.model.fork_time_base", Value: "0s", ZeroMeaningful: true,
		Source: "0 = calibrated: sim/calibration/calibration.json fork.fork_base_ns, INFO latest_fork_usec " +
			"fitted as base + slope x used (38.0 ms; make calibrate)"},
	{Path: "redis.model.fork_time_per_gib", Value: "0s", ZeroMeaningful: true,
		Source: "0 = calibrated: sim/calibration/calibration.json fork.fork_ns_per_gib, the slope of the same fit " +
			"(6.52 ms/GiB; make calibrate)"},
	{Path: "redis.nodes_per_host", Value: "1",
		Source: "one instance per machine; UrbanClap's engineering blog runs six capped instances on one 30 GB host"},
	{Path: "redis.persistence.bgsave_schedule", Value: "together",
		Source: "Redis forks each instance when its own save is due; staggered = UrbanClap's BGSAVE one instance at a time"},
	// Replication (sim/redisnode/replica.go).
	{Path: "redis.replicas", Value: "0", ZeroMeaningful: true,
		Source: "no replica: an LA cluster (UrbanClap's write-up: HA clusters run one replica per master, LA clusters none)"},
	{Path: "redis.repl_backlog_size", Value: "1MiB", Source: "redis.conf repl-backlog-size 1mb"},
	{Path: "redis.failover_time", Value: "15s", ZeroMeaningful: true,
		Source: "redis.conf cluster-node-timeout 15000 ms: a master is failed over about one node timeout after it stops answering"},
	{Path: "state.wait_replicas.replicas", Value: "1", Source: "WAIT 1: one replica, an HA cluster's only one"},
	{Path: "state.wait_replicas.timeout", Value: "100ms",
		Source: "estimate: a few replication round trips plus a spill batch's replay on the replica (~0.5 ms at 200 us RTT), with room for a slow replica"},
}

// Defaults returns the documented defaults, in schema order.
func Defaults() []DefaultValue {
	return append([]DefaultValue(nil), defaultTable...)
}

var (
	defaultNodesOnce sync.Once
	defaultNodes     map[string]*yaml.Node
)

// defaultNode returns the parsed YAML of a table entry's value.
func defaultNode(e DefaultValue) *yaml.Node {
	defaultNodesOnce.Do(func() {
		defaultNodes = make(map[string]*yaml.Node, len(defaultTable))
		for _, e := range defaultTable {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(e.Value), &doc); err != nil || len(doc.Content) != 1 {
				panic(fmt.Sprintf("scenarios: default of %s (%q) is not YAML: %v", e.Path, e.Value, err))
			}
			defaultNodes[e.Path] = doc.Content[0]
		}
	})
	return defaultNodes[e.Path]
}

// applyDefaults sets the table's defaults on v, the value of the field at prefix
// ("" for a whole Scenario). With onlyZero it fills only zero fields whose zero
// is not meaningful, plus the Unless pairs where both fields are empty; without,
// it sets every non-Unless entry. Fields under a nil pointer are skipped, and so
// are fields in written (paths a file or an override wrote: an explicit 0s for
// duration is an error to report, not a gap to fill).
func applyDefaults(v reflect.Value, prefix string, onlyZero bool, written map[string]int) {
	for _, e := range defaultTable {
		if _, ok := written[e.Path]; ok {
			continue
		}
		if _, ok := written[e.Unless]; ok && e.Unless != "" {
			continue
		}
		rel := e.Path
		if prefix != "" {
			if !strings.HasPrefix(e.Path, prefix+".") {
				continue
			}
			rel = strings.TrimPrefix(e.Path, prefix+".")
		}
		f, ok := lookupField(v, rel, false)
		if !ok {
			continue
		}
		switch {
		case e.Unless != "":
			if !onlyZero || !f.IsZero() {
				continue
			}
			relOther := e.Unless
			if prefix != "" {
				relOther = strings.TrimPrefix(e.Unless, prefix+".")
			}
			if other, ok := lookupField(v, relOther, false); ok && !other.IsZero() {
				continue
			}
		case onlyZero && (e.ZeroMeaningful || !f.IsZero()):
			continue
		}
		d := newDecoder("defaults.go")
		d.decode(defaultNode(e), f, e.Path)
		if len(d.errs) > 0 {
			panic(fmt.Sprintf("scenarios: default of %s does not decode: %v", e.Path, d.errs[0]))
		}
	}
}

// New returns a scenario named name with every default applied, including the
// derived workload.interval (60s) and state.ttl_intervals (3): to use an
// interval mix or a fixed ttl instead, clear the other field. Datapoints is 0
// and must be set before the scenario validates.
func New(name string) *Scenario {
	s := newBase(name)
	s.EnsureDefaults()
	return s
}

// newBase returns the scenario Parse decodes a file onto: every default except
// the derived (Unless) ones, which depend on what the file sets.
func newBase(name string) *Scenario {
	s := &Scenario{Name: name}
	applyDefaults(reflect.ValueOf(s).Elem(), "", false, nil)
	return s
}

// EnsureDefaults fills what a scenario leaves unset: zero fields whose zero is
// not a legitimate setting get the table's default (so a Scenario{} built in Go
// gets sensible values), workload.interval gets 60s unless an interval mix is
// given, state.ttl_intervals gets 3 unless state.ttl is given, and the fields of
// a present autoscaler are filled likewise. Fields whose zero is meaningful (see
// Defaults) are left alone: start from New to get those.
//
// A field the scenario's file (or an override) wrote explicitly is never
// replaced: "duration: 0s" stays 0 and fails validation.
func (s *Scenario) EnsureDefaults() {
	var written map[string]int
	if s.meta != nil {
		written = s.meta.lines
	}
	applyDefaults(reflect.ValueOf(s).Elem(), "", true, written)
	s.clearStreamDefaults(written)
}

// clearStreamDefaults keeps a Kafka scenario free of the Redis Streams defaults:
// they would be written into its resolved form, which then would not load (a
// stream setting on a Kafka log is refused). What a file wrote stays, for
// Validate to report.
func (s *Scenario) clearStreamDefaults(written map[string]int) {
	if s.Log.Kind == LogRedisStreams {
		return
	}
	l := &s.Log
	for path, f := range map[string]func(){
		"log.stream_assignment": func() { l.StreamAssignment = "" },
		"log.claim_min_idle":    func() { l.ClaimMinIdle = 0 },
		"log.lease_ttl":         func() { l.LeaseTTL = 0 },
	} {
		if _, ok := written[path]; !ok {
			f()
		}
	}
}
