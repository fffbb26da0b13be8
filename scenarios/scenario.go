package scenarios

import (
	"time"
)

// SchemaVersion is the only scenario schema version this package reads.
const SchemaVersion = 1

// Scenario is one scenario file (schema version 1, docs/design.md "Scenario
// contract"). The YAML field names are a contract: extend, never rename.
//
// A Scenario from Parse, Load or Open has every default filled in and has been
// validated. One built in Go should start from New, then call EnsureDefaults and
// Validate.
type Scenario struct {
	// Version is the schema version; it must be 1.
	Version int `yaml:"version"`
	// Name names the scenario and its output directory (out/<name>/). It
	// defaults to the file name without its extension.
	Name string `yaml:"name"`
	// Description is one line for listings and report titles.
	Description string `yaml:"description,omitempty"`
	// Seed seeds the run's only random generator. The default is fixed (1).
	Seed uint64 `yaml:"seed"`
	// Repeat runs every variant and sweep point with this many seeds: Seed,
	// Seed+1, ..., Seed+Repeat-1 (RepeatSeeds), so the report can give each
	// metric a mean and a 95 % confidence interval. 0 (absent) and 1 both mean
	// one seed, the scenario's own.
	Repeat int `yaml:"repeat,omitempty"`
	// Duration is the length of the run in virtual time.
	Duration Duration `yaml:"duration"`
	// SampleEvery is the period of the time series in the report.
	SampleEvery Duration `yaml:"sample_every"`

	Workload  Workload  `yaml:"workload"`
	Log       Log       `yaml:"log"`
	Consumers Consumers `yaml:"consumers"`
	State     State     `yaml:"state"`
	Redis     Redis     `yaml:"redis"`
	// Producers, with log.kind redis-streams, schedule the emission: who emits
	// each datapoint's tick and when (producers.go). Without it one ideal
	// producer emits every tick on time.
	Producers *Producers `yaml:"producers,omitempty"`

	// Timeline lists scripted events. Events at the same instant run in file order.
	Timeline []Event `yaml:"timeline,omitempty"`
	// Variants are runs side by side in one report, each the base scenario with
	// some fields overridden. Without variants there is one run, "default".
	Variants []Variant `yaml:"variants,omitempty"`
	// Sweep repeats every variant for each value of one field.
	Sweep *Sweep `yaml:"sweep,omitempty"`
	// Expect lists bounds on summary metrics, checked after every run.
	Expect []Expectation `yaml:"expect,omitempty"`

	meta *meta // where the scenario came from; never marshalled or compared
}

// meta records where a decoded scenario came from, for error messages.
type meta struct {
	file  string
	lines map[string]int // field path -> line of its key in the file
}

// File returns the name the scenario was parsed under ("" when built in Go).
func (s *Scenario) File() string {
	if s.meta == nil {
		return ""
	}
	return s.meta.file
}

// Line returns the line that set the field at path (e.g. "redis.maxmemory",
// "timeline[2].at"), or of its closest enclosing field that has one, or 0.
// For a run from VariantRuns or SweepPoints, an overridden public write-ups the line of
// its override; after With, which has no file line, 0.
func (s *Scenario) Line(path string) int {
	if s.meta == nil {
		return 0
	}
	for p := path; p != ""; p = parentPath(p) {
		if l, ok := s.meta.lines[p]; ok {
			return l // 0 for a field set by an override from Go: no line to show
		}
	}
	return 0
}

// Workload describes the datapoints (keys) that emit messages.
type Workload struct {
	// Datapoints is the number of distinct keys. Required.
	Datapoints int `yaml:"datapoints"`
	// Interval is how often each key emits; mutually exclusive with Intervals.
	Interval Duration `yaml:"interval,omitempty"`
	// Intervals is an optional mix of intervals whose fractions sum to 1.
	Intervals []IntervalShare `yaml:"intervals,omitempty"`
	// Jitter spreads each emission uniformly by up to ± Jitter; it must stay
	// under half the shortest interval so a key's messages keep their order.
	Jitter Duration `yaml:"jitter"`
	// ContextBytes is the size of one key's encoded context before compression.
	ContextBytes Size `yaml:"context_bytes"`
	// CounterFraction is the share of keys that need context (counters); the
	// rest are gauges.
	CounterFraction float64 `yaml:"counter_fraction"`
	// Lifetime, when set, makes datapoints churn: every Lifetime a key's series
	// ends and a new series (a new Redis key, needing no context at first) takes
	// its place, as hosts and metrics come and go. 0 = keys live for the whole run.
	Lifetime Duration `yaml:"lifetime"`
	// SampleRate is the share of datapoints simulated (samplerate.go): each one
	// stands for 1/SampleRate datapoints in every count, rate, size and memory
	// figure. 1 runs them all; "auto" picks the largest rate that fits.
	SampleRate SampleRate `yaml:"sample_rate"`
	// ValueFormat is how a context is encoded in its Redis value
	// (topology_clients.go): binary or JSON, with or without redundant fields.
	ValueFormat ValueFormat `yaml:"value_format"`
}

// IntervalShare is one entry of a workload's interval mix.
type IntervalShare struct {
	// Fraction is the share of keys with this interval, in (0, 1].
	Fraction float64 `yaml:"fraction"`
	// Interval is how often those keys emit.
	Interval Duration `yaml:"interval"`
}

// Mix returns the interval mix: Intervals, or one share of 1 at Interval.
func (w Workload) Mix() []IntervalShare {
	if len(w.Intervals) > 0 {
		return append([]IntervalShare(nil), w.Intervals...)
	}
	return []IntervalShare{{Fraction: 1, Interval: w.Interval}}
}

// Log describes the partitioned log and its consumer group.
type Log struct {
	// Partitions is the topic's partition count.
	Partitions int `yaml:"partitions"`
	// Assignor is the partition assignment strategy.
	Assignor Assignor `yaml:"assignor"`
	// StaticMembership sets group.instance.id: a restart shorter than the
	// session timeout causes no rebalance (KIP-345).
	StaticMembership bool `yaml:"static_membership"`
	// SessionTimeout is session.timeout.ms: how long a silent member stays in
	// the group.
	SessionTimeout Duration `yaml:"session_timeout"`
	// RebalanceTime is the join + sync cost of one rebalance.
	RebalanceTime Duration `yaml:"rebalance_time"`
	// PollBatch is max.poll.records.
	PollBatch int `yaml:"poll_batch"`
	// CommitInterval is auto.commit.interval.ms; offsets are also committed on
	// revoke, after the spill.
	CommitInterval Duration `yaml:"commit_interval"`

	// Kind is the log: kafka (a partitioned log with a consumer group) or
	// redis-streams (one Redis stream per partition, read through a Redis
	// consumer group: XADD, XREADGROUP, XACK, XAUTOCLAIM). With redis-streams
	// commit_interval is the XACK period and partitions the number of streams.
	Kind LogKind `yaml:"kind"`
	// StreamAssignment (redis-streams) is shared (every consumer reads every
	// stream through the group: no key affinity) or leased (each stream leased
	// to one consumer through a Redis lease with a TTL).
	StreamAssignment StreamAssignment `yaml:"stream_assignment,omitempty"`
	// ClaimMinIdle (redis-streams) is XAUTOCLAIM's min-idle-time: how long an
	// entry waits in a dead consumer's pending entries list before another
	// consumer claims it.
	ClaimMinIdle Duration `yaml:"claim_min_idle,omitempty"`
	// LeaseTTL (redis-streams, leased; also producers.scheduling: leased) is the
	// TTL of a lease (SET NX PX), renewed every third of it while its holder runs.
	LeaseTTL Duration `yaml:"lease_ttl,omitempty"`
	// MaxLen (redis-streams) trims each stream on XADD (MAXLEN); 0 = no trimming.
	MaxLen int `yaml:"maxlen,omitempty"`
	// DeleteIdleConsumers (redis-streams) makes the claimer delete consumers idle
	// longer than claim_min_idle (XGROUP DELCONSUMER) after its XAUTOCLAIM pass,
	// as wirings that clean up departed consumers do: the entries it did not
	// claim in that pass become unclaimable (redis/redis#9745).
	DeleteIdleConsumers bool `yaml:"delete_idle_consumers,omitempty"`
}

// LogKind is the kind of log the consumers read.
type LogKind string

// The log kinds.
const (
	LogKafka        LogKind = "kafka"
	LogRedisStreams LogKind = "redis-streams"
)

// LogKinds lists the log.kind values.
var LogKinds = []string{string(LogKafka), string(LogRedisStreams)}

// StreamAssignment is how a Redis Streams log's streams are spread over the consumers.
type StreamAssignment string

// The stream assignments.
const (
	StreamsShared StreamAssignment = "shared"
	StreamsLeased StreamAssignment = "leased"
)

// StreamAssignments lists the log.stream_assignment values.
var StreamAssignments = []string{string(StreamsShared), string(StreamsLeased)}

// Producers are the processes that emit each datapoint's ticks into the log.
type Producers struct {
	// Replicas is the number of producer processes.
	Replicas int `yaml:"replicas"`
	// Scheduling is how they schedule the ticks: ticker (a ticker per datapoint in
	// every replica: duplicates when replicas > 1), tick-table (a table of next
	// ticks polled every poll_every, claimed row by row), leased (schedules
	// sharded and leased to one replica each).
	Scheduling Scheduling `yaml:"scheduling"`
	// PollEvery is the tick table's polling period (scheduling: tick-table).
	PollEvery Duration `yaml:"poll_every,omitempty"`
}

// Scheduling is how producers schedule the ticks.
type Scheduling string

// The scheduling modes.
const (
	SchedulingTicker    Scheduling = "ticker"
	SchedulingTickTable Scheduling = "tick-table"
	SchedulingLeased    Scheduling = "leased"
)

// SchedulingModes lists the producers.scheduling values.
var SchedulingModes = []string{string(SchedulingTicker), string(SchedulingTickTable), string(SchedulingLeased)}

// Assignor is a consumer-group partition assignment strategy.
type Assignor string

// The assignors of the Kafka Java client (and franz-go's balancers).
const (
	AssignorRange             Assignor = "range"
	AssignorRoundRobin        Assignor = "round-robin"
	AssignorSticky            Assignor = "sticky"
	AssignorCooperativeSticky Assignor = "cooperative-sticky"
)

// Cooperative reports whether the assignor uses the incremental cooperative
// protocol (KIP-429), which revokes only the partitions that move.
func (a Assignor) Cooperative() bool { return a == AssignorCooperativeSticky }

// Consumers describes the consumer fleet (one pod = one group member).
type Consumers struct {
	// Replicas is the pod count at the start.
	Replicas int `yaml:"replicas"`
	// TerminationGrace is terminationGracePeriodSeconds: SIGTERM to SIGKILL.
	TerminationGrace Duration `yaml:"termination_grace"`
	// ProcessTime is the CPU time per message.
	ProcessTime Duration `yaml:"process_time"`
	// Startup is the time from pod start to joining the group.
	Startup Duration `yaml:"startup"`
	// Autoscaler, when set, lets an HPA-like controller change Replicas.
	Autoscaler *Autoscaler `yaml:"autoscaler,omitempty"`
	// OnLost is what the consumer's onPartitionsLost does after a missed
	// session: revoke (Kafka's default implementation calls onPartitionsRevoked:
	// the store spills, fenced or not) or lost (core/doc.go's wiring:
	// Store.Lost drops the context and writes nothing).
	OnLost OnLost `yaml:"on_lost"`

	// Client contention (topology_clients.go).
	// Threads is the consumer threads per pod: each poll batch is shared by
	// them, partition by partition.
	Threads int `yaml:"threads"`
	// RedisClient is how the threads reach Redis: one shared client (one
	// connection pool) or one client per thread.
	RedisClient RedisClient `yaml:"redis_client"`
	// RedisPoolSize is the connections of one client's pool (go-redis
	// Options.PoolSize).
	RedisPoolSize int `yaml:"redis_pool_size"`
}

// OnLost is what a consumer does when its partitions are lost.
type OnLost string

// The onPartitionsLost behaviours.
const (
	OnLostRevoke OnLost = "revoke" // Kafka's default: onPartitionsRevoked (Store.Revoked)
	OnLostLost   OnLost = "lost"   // Store.Lost: drop, write nothing
)

// OnLostModes lists the consumers.on_lost values.
var OnLostModes = []string{string(OnLostRevoke), string(OnLostLost)}

// Autoscaler is a HorizontalPodAutoscaler on CPU utilisation.
type Autoscaler struct {
	// Min is minReplicas.
	Min int `yaml:"min"`
	// Max is maxReplicas. Required.
	Max int `yaml:"max"`
	// TargetCPU is the target utilisation, in (0, 1].
	TargetCPU float64 `yaml:"target_cpu"`
	// Stabilization is the scale-down stabilization window.
	Stabilization Duration `yaml:"stabilization"`
}

// State describes the consumer's state store (the core).
type State struct {
	// Strategy is what the store does with context on handoff.
	Strategy Strategy `yaml:"strategy"`
	// TTL is the TTL of a spilled entry; mutually exclusive with TTLIntervals.
	TTL Duration `yaml:"ttl,omitempty"`
	// TTLIntervals sets the TTL to this many of the key's own intervals.
	TTLIntervals int `yaml:"ttl_intervals,omitempty"`
	// MaxAge makes restore discard entries older than this; 0 means no limit
	// beyond the TTL.
	MaxAge Duration `yaml:"max_age"`
	// Compression is the codec of spilled entries.
	Compression Compression `yaml:"compression"`
	// SpillParallelism is the number of concurrent spill workers.
	SpillParallelism int `yaml:"spill_parallelism"`
	// SpillBatch is the number of keys per spill pipeline.
	SpillBatch int `yaml:"spill_batch"`
	// CheckpointEvery is the checkpoint period for strategy checkpoint.
	CheckpointEvery Duration `yaml:"checkpoint_every"`
	// Restore says when spilled context is read back.
	Restore RestoreMode `yaml:"restore"`
	// Fencing turns generation fencing on (default): a zombie owner's late spill
	// is refused. Off, writes are plain SETs and a zombie can overwrite newer context.
	Fencing bool `yaml:"fencing"`
	// TTLOnlyEvery and TTLOnlyFor reproduce a writer bug: TTLs are applied only
	// during the first TTLOnlyFor of every TTLOnlyEvery; other writes persist.
	// 0 = TTLs always applied.
	TTLOnlyEvery Duration `yaml:"ttl_only_every"`
	TTLOnlyFor   Duration `yaml:"ttl_only_for"`
	// WaitReplicas, when set, makes every spill batch wait until that many
	// replicas have it (Redis WAIT on the same connection, core.WaitReplicas);
	// a batch not replicated within the timeout is reported as not written.
	WaitReplicas *WaitReplicas `yaml:"wait_replicas,omitempty"`
}

// WaitReplicas is the core's wait-for-replicas option (WAIT numreplicas timeout).
type WaitReplicas struct {
	// Replicas is WAIT's numreplicas: how many replicas must acknowledge a batch.
	Replicas int `yaml:"replicas"`
	// Timeout is WAIT's timeout: how long a batch waits for them.
	Timeout Duration `yaml:"timeout"`
}

// TTLFor returns the TTL of a key that emits every interval.
func (st State) TTLFor(interval time.Duration) time.Duration {
	if st.TTLIntervals > 0 {
		return time.Duration(st.TTLIntervals) * interval
	}
	return st.TTL.Std()
}

// Strategy is a state-handoff strategy.
type Strategy string

// The strategies.
const (
	StrategyMemoryOnly    Strategy = "memory-only"
	StrategySpillOnRevoke Strategy = "spill-on-revoke"
	StrategyWriteThrough  Strategy = "write-through"
	StrategyCheckpoint    Strategy = "checkpoint"
)

// Compression is the codec of spilled context.
type Compression string

// The codecs.
const (
	CompressionNone Compression = "none"
	CompressionLZ4  Compression = "lz4"
	CompressionS2   Compression = "s2"
	CompressionZstd Compression = "zstd"
)

// RestoreMode says when spilled context is read back.
type RestoreMode string

// The restore modes.
const (
	RestoreLazy  RestoreMode = "lazy"  // on a local miss
	RestoreEager RestoreMode = "eager" // on partition assignment
)

// Redis describes the Redis deployment and the models miniredis lacks.
type Redis struct {
	// Nodes > 1 means a client-side consistent-hash ring (go-redis Ring), or the
	// masters of a Redis Cluster (Mode cluster).
	Nodes int `yaml:"nodes"`
	// Mode is the topology: single, ring or cluster (topology_cluster.go); empty
	// means single when Nodes is 1 and no timeline event changes the node count,
	// ring otherwise (ResolvedRedisMode).
	Mode RedisMode `yaml:"mode,omitempty"`
	// SystemMemory is the memory of the machine (or container limit) of one node.
	SystemMemory Size `yaml:"system_memory"`
	// MaxMemory is maxmemory; 0 means unlimited.
	MaxMemory Size `yaml:"maxmemory"`
	// MaxMemoryPolicy is maxmemory-policy.
	MaxMemoryPolicy EvictionPolicy `yaml:"maxmemory_policy"`
	// MaxMemorySamples is maxmemory-samples.
	MaxMemorySamples int `yaml:"maxmemory_samples"`
	// OvercommitMemory is vm.overcommit_memory: 0 heuristic, 1 always, 2 never.
	OvercommitMemory int `yaml:"overcommit_memory"`
	// OvercommitHeuristic is which kernel's heuristic overcommit_memory 0 follows:
	// current (Linux 5.2 and later) or pre-5.2.
	OvercommitHeuristic OvercommitHeuristic `yaml:"overcommit_heuristic"`
	// BaselineUsed is data already on each node that the scenario does not write.
	BaselineUsed Size `yaml:"baseline_used"`
	// RTT is the client-to-server network round trip.
	RTT Duration `yaml:"rtt"`
	// Persistence configures RDB and AOF.
	Persistence Persistence `yaml:"persistence"`
	// Model holds calibration knobs of the memory and fork models.
	Model Model `yaml:"model"`
	// NodesPerHost is how many instances share one host's SystemMemory
	// (topology_hosts.go): nodes i·k .. i·k+k−1 run on host i.
	NodesPerHost int `yaml:"nodes_per_host"`

	// Replicas is the number of replicas of each master (asynchronous
	// replication, sim/redisnode/replica.go). 0 is an LA cluster: a master
	// that fails takes its data with it; with 1 or more (an HA cluster) a
	// replica is promoted and only the writes inside the replication lag are lost.
	Replicas int `yaml:"replicas"`
	// ReplBacklogSize is repl-backlog-size, the replication backlog a master
	// with replicas keeps in memory (counted in used memory and RSS).
	ReplBacklogSize Size `yaml:"repl_backlog_size"`
	// FailoverTime is how long a failed master's clients see no master before its
	// replica is promoted (failure detection plus election).
	FailoverTime Duration `yaml:"failover_time"`
}

// OvercommitHeuristic is the kernel behaviour of vm.overcommit_memory=0.
type OvercommitHeuristic string

// The overcommit heuristics (mm/util.c __vm_enough_memory, OVERCOMMIT_GUESS).
const (
	// OvercommitCurrent is Linux 5.2 and later: only a single mapping larger than
	// RAM + swap is refused, so a fork succeeds and the OOM killer acts later.
	OvercommitCurrent OvercommitHeuristic = "current"
	// OvercommitPre52 is the older estimate of free memory: a fork whose child
	// would need more than the free memory fails.
	OvercommitPre52 OvercommitHeuristic = "pre-5.2"
)

// OvercommitHeuristics lists the redis.overcommit_heuristic values.
var OvercommitHeuristics = []string{string(OvercommitCurrent), string(OvercommitPre52)}

// EvictionPolicy is a Redis maxmemory-policy.
type EvictionPolicy string

// The Redis 7 eviction policies.
const (
	PolicyNoEviction     EvictionPolicy = "noeviction"
	PolicyAllKeysLRU     EvictionPolicy = "allkeys-lru"
	PolicyAllKeysLFU     EvictionPolicy = "allkeys-lfu"
	PolicyAllKeysRandom  EvictionPolicy = "allkeys-random"
	PolicyVolatileLRU    EvictionPolicy = "volatile-lru"
	PolicyVolatileLFU    EvictionPolicy = "volatile-lfu"
	PolicyVolatileRandom EvictionPolicy = "volatile-random"
	PolicyVolatileTTL    EvictionPolicy = "volatile-ttl"
)

// Persistence configures RDB snapshots and the AOF.
type Persistence struct {
	// RDBSave lists "seconds changes" save points, as in redis.conf "save".
	RDBSave []string `yaml:"rdb_save,omitempty"`
	// AOF is appendonly.
	AOF bool `yaml:"aof"`
	// AOFRewritePercentage is auto-aof-rewrite-percentage; 0 disables automatic rewrites.
	AOFRewritePercentage int `yaml:"aof_rewrite_percentage"`
	// AOFRewriteMinSize is auto-aof-rewrite-min-size.
	AOFRewriteMinSize Size `yaml:"aof_rewrite_min_size"`
	// SnapshotRate is the used memory the fork child serializes per second; 0
	// means the shipped calibration's rate (the simulator resolves it).
	SnapshotRate Size `yaml:"snapshot_rate"`
	// BGSaveSchedule is together (every instance forks when its save is due) or
	// staggered (at most one fork child per host at a time).
	BGSaveSchedule BGSaveSchedule `yaml:"bgsave_schedule"`
}

// Model holds calibration knobs of the Redis models.
type Model struct {
	// PageSize is the copy-on-write unit (2MiB with transparent huge pages).
	PageSize Size `yaml:"page_size"`
	// ForkTimeBase is the fixed part of fork's main-thread stall; 0 means the
	// shipped calibration's (the simulator resolves it).
	ForkTimeBase Duration `yaml:"fork_time_base"`
	// ForkTimePerGiB is the main-thread stall of fork per GiB of used memory; 0
	// means the shipped calibration's (the simulator resolves it).
	ForkTimePerGiB Duration `yaml:"fork_time_per_gib"`
}

// Event is one timeline entry: a time and exactly one action.
type Event struct {
	// At is the virtual time of the event, from the start of the run.
	At Duration `yaml:"at"`
	// Scale sets the replica count (removed pods get SIGTERM + grace).
	Scale *int `yaml:"scale,omitempty"`
	// Crash SIGKILLs this many pods: no shutdown hook runs.
	Crash *int `yaml:"crash,omitempty"`
	// BGSave starts a BGSAVE on every Redis node.
	BGSave bool `yaml:"bgsave,omitempty"`
	// RollingRestart restarts every pod, Deployment-style.
	RollingRestart bool `yaml:"rolling_restart,omitempty"`
	// Pause freezes one pod (e.g. a GC pause), possibly past its session timeout.
	Pause *Pause `yaml:"pause,omitempty"`
	// RedisDown makes Redis unreachable for a while.
	RedisDown *RedisDown `yaml:"redis_down,omitempty"`
	// RedisNodes sets the node count of the ring (resharding).
	RedisNodes *int `yaml:"redis_nodes,omitempty"`
	// AOFRewrite starts a BGREWRITEAOF on every Redis node.
	AOFRewrite bool `yaml:"aof_rewrite,omitempty"`
	// Latency adds network latency for a while.
	Latency *Latency `yaml:"latency,omitempty"`
	// Corrupt corrupts this many spilled keys in Redis.
	Corrupt *int `yaml:"corrupt,omitempty"`
	// ProducerRestart stops one producer replica and starts it again after For.
	ProducerRestart *ProducerRestart `yaml:"producer_restart,omitempty"`
	// Failover fails one master: its replica, if it has one, is promoted after
	// redis.failover_time; without one the node's data is lost (it restarts from
	// its own RDB or AOF, if any).
	Failover *Failover `yaml:"failover,omitempty"`
	// Reshard changes the number of Redis masters: a Cluster migrates slots, a
	// ring changes its membership (topology_cluster.go).
	Reshard *Reshard `yaml:"reshard,omitempty"`
}

// The action names of timeline events, as written in YAML.
const (
	ActionScale           = "scale"
	ActionCrash           = "crash"
	ActionBGSave          = "bgsave"
	ActionRollingRestart  = "rolling_restart"
	ActionPause           = "pause"
	ActionRedisDown       = "redis_down"
	ActionRedisNodes      = "redis_nodes"
	ActionAOFRewrite      = "aof_rewrite"
	ActionLatency         = "latency"
	ActionCorrupt         = "corrupt"
	ActionProducerRestart = "producer_restart"
	ActionFailover        = "failover"
	ActionReshard         = "reshard"
)

// actions returns the names of the actions set on e, in declaration order.
func (e Event) actions() []string {
	var out []string
	add := func(set bool, name string) {
		if set {
			out = append(out, name)
		}
	}
	add(e.Scale != nil, ActionScale)
	add(e.Crash != nil, ActionCrash)
	add(e.BGSave, ActionBGSave)
	add(e.RollingRestart, ActionRollingRestart)
	add(e.Pause != nil, ActionPause)
	add(e.RedisDown != nil, ActionRedisDown)
	add(e.RedisNodes != nil, ActionRedisNodes)
	add(e.AOFRewrite, ActionAOFRewrite)
	add(e.Latency != nil, ActionLatency)
	add(e.Corrupt != nil, ActionCorrupt)
	add(e.ProducerRestart != nil, ActionProducerRestart)
	add(e.Failover != nil, ActionFailover)
	add(e.Reshard != nil, ActionReshard)
	return out
}

// Action returns the name of the event's action (ActionScale, ...), or "" if the
// event has none. A validated event has exactly one.
func (e Event) Action() string {
	a := e.actions()
	if len(a) == 0 {
		return ""
	}
	return a[0]
}

// Pause freezes one pod.
type Pause struct {
	// Pod is the index of the pod among those running at that instant, in
	// start order.
	Pod int `yaml:"pod"`
	// For is the length of the pause.
	For Duration `yaml:"for"`
}

// ProducerRestart restarts one producer replica (a deploy, a crash-loop): it
// emits nothing for For, and its in-memory schedules start again when it is back.
type ProducerRestart struct {
	// Replica is the producer's index (0-based, below producers.replicas).
	Replica int `yaml:"replica"`
	// For is how long it is down.
	For Duration `yaml:"for"`
}

// Failover fails one Redis master (the host is lost, or the process killed).
type Failover struct {
	// Node is the index of the master among the run's Redis nodes (0-based).
	Node int `yaml:"node"`
}

// RedisDown makes Redis unreachable.
type RedisDown struct {
	// For is how long Redis stays down.
	For Duration `yaml:"for"`
}

// Latency adds network latency to every Redis round trip.
type Latency struct {
	// Add is the extra latency per round trip.
	Add Duration `yaml:"add"`
	// For is how long it lasts.
	For Duration `yaml:"for"`
}

// Variant is a named run with some fields overridden.
type Variant struct {
	// Name labels the run in the report; unique within the scenario.
	Name string `yaml:"name"`
	// Set maps dotted field paths ("state.strategy") to values, written as
	// they would be in the file.
	Set map[string]any `yaml:"set,omitempty"`
}

// Sweep repeats every variant for each value of one field.
type Sweep struct {
	// Field is the dotted path of the swept field, e.g. "redis.maxmemory".
	Field string `yaml:"field"`
	// Values are the field's values, written as they would be in the file.
	Values []any `yaml:"values"`
}

// Expectation bounds one summary metric.
type Expectation struct {
	// Variant restricts the expectation to one variant; empty means every run.
	Variant string `yaml:"variant,omitempty"`
	// Metric is a summary metric name (see MetricNames).
	// Point, with a sweep, restricts the expectation to that sweep value (e.g.
	// "500ms" for consumers.termination_grace); empty = every point.
	Point  string `yaml:"point,omitempty"`
	Metric string `yaml:"metric"`
	// Min is the smallest acceptable value, if any.
	Min *Bound `yaml:"min,omitempty"`
	// Max is the largest acceptable value, if any.
	Max *Bound `yaml:"max,omitempty"`
	// Of says what the bound applies to when the scenario repeats its runs
	// over several seeds (repeat): every run (ExpectEvery, the default, also
	// written ""), or, per variant and sweep point, the mean over its seeds
	// (ExpectMean) or an end of the mean's 95 % Student-t confidence interval
	// (ExpectCILow, ExpectCIHigh).
	Of ExpectOf `yaml:"of,omitempty"`
}

// ExpectOf is what an expectation bounds: each run, or a statistic over the
// seeds of a repeated run.
type ExpectOf string

// The values of expect[].of.
const (
	ExpectEvery  ExpectOf = "every"   // every run, each seed on its own (the default)
	ExpectMean   ExpectOf = "mean"    // the mean over a variant's (and sweep point's) seeds
	ExpectCILow  ExpectOf = "ci_low"  // the low end of the mean's 95 % confidence interval
	ExpectCIHigh ExpectOf = "ci_high" // the high end of the mean's 95 % confidence interval
)

// ExpectOfs lists the expect[].of values.
var ExpectOfs = []string{string(ExpectEvery), string(ExpectMean), string(ExpectCILow), string(ExpectCIHigh)}

// perSeed reports whether the expectation bounds each run on its own.
func (o ExpectOf) perSeed() bool { return o == "" || o == ExpectEvery }

// MaxRepeat caps repeat: a scenario's runs are planned (and held) in memory.
const MaxRepeat = 1000

// Seeds returns how many seeds each variant and sweep point runs with: Repeat,
// or 1 when it is 0.
func (s *Scenario) Seeds() int { return max(1, s.Repeat) }

// RepeatSeeds returns the seeds of a run repeated n times from seed: seed,
// seed+1, ..., seed+n-1 (wrapping at 2^64). Consecutive seeds are enough:
// the engine feeds each one through PCG (sim/engine), whose streams for
// neighbouring seeds are unrelated, and any one of them replays alone with
// spillway run -seed S.
func RepeatSeeds(seed uint64, n int) []uint64 {
	out := make([]uint64, max(1, n))
	for i := range out {
		out[i] = seed + uint64(i)
	}
	return out
}
