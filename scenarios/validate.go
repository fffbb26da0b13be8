package scenarios

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Validate reports every problem of the scenario at once (FieldErrors joined,
// sorted by line): values out of range, contradictions between fields, timeline
// events that cannot happen, overrides and sweep values that do not apply, and
// expectations on unknown metrics or variants. Each variant and sweep point is
// expanded and validated too, so a bad override is caught before any run.
// Validate does not fill defaults: call EnsureDefaults first.
func (s *Scenario) Validate() error {
	return joinErrors(s.validate(""))
}

// Kafka broker limits on session.timeout.ms (group.min.session.timeout.ms and
// group.max.session.timeout.ms defaults): a JoinGroup outside them is refused.
const (
	minSessionTimeout = 6 * time.Second
	maxSessionTimeout = 30 * time.Minute
)

// maxContextBytes is Redis's proto-max-bulk-len default (512 MB): no value can
// be larger.
const maxContextBytes = 512 * MiB

var reName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// The schema's enum values. Each list is also declared by the package that
// implements it (core's strategies and codecs, broker.Assignors,
// redisnode.Policies); enums_test.go asserts they are equal, since this package
// must not import the simulator or core.
var (
	assignors = []string{string(AssignorRange), string(AssignorRoundRobin), string(AssignorSticky),
		string(AssignorCooperativeSticky)}
	strategies = []string{string(StrategyMemoryOnly), string(StrategySpillOnRevoke), string(StrategyWriteThrough),
		string(StrategyCheckpoint)}
	compressions = []string{string(CompressionNone), string(CompressionLZ4), string(CompressionS2),
		string(CompressionZstd)}
	restoreModes = []string{string(RestoreLazy), string(RestoreEager)}
	policies     = []string{string(PolicyNoEviction), string(PolicyAllKeysLRU), string(PolicyAllKeysLFU),
		string(PolicyAllKeysRandom), string(PolicyVolatileLRU), string(PolicyVolatileLFU),
		string(PolicyVolatileRandom), string(PolicyVolatileTTL)}
)

type checker struct {
	s     *Scenario
	label string
	errs  []*FieldError
}

func (c *checker) add(path, format string, args ...any) {
	c.errs = append(c.errs, &FieldError{
		File: c.s.File(), Line: c.s.Line(path), Variant: c.label, Path: path, Msg: fmt.Sprintf(format, args...),
	})
}

// validate checks s; label names the run for a variant or sweep point ("" for
// the file itself, whose variants and sweep are then expanded and checked).
func (s *Scenario) validate(label string) []*FieldError {
	c := &checker{s: s, label: label}
	c.run()
	c.workload()
	c.log()
	c.consumers()
	c.clients()
	c.state()
	c.redis()
	c.redisMode()
	c.timeline()
	c.variants()
	c.sweep()
	c.expect()
	if len(c.errs) == 0 && (len(s.Variants) > 0 || s.Sweep != nil) {
		_, errs := s.expand(true)
		c.errs = append(c.errs, errs...)
	}
	return c.errs
}

func (c *checker) positive(path string, d Duration, example string) {
	switch {
	case d < 0:
		c.add(path, "%s must not be negative (write e.g. %s)", d, example)
	case d == 0:
		c.add(path, "must be positive (write e.g. %s)", example)
	}
}

func (c *checker) nonNegative(path string, d Duration) {
	if d < 0 {
		c.add(path, "%s must not be negative", d)
	}
}

func (c *checker) atLeast(path string, v, least int) {
	if v < least {
		c.add(path, "must be at least %d, got %d", least, v)
	}
}

func (c *checker) oneOf(path, v string, allowed []string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	c.add(path, "%q is not one of %s%s", v, strings.Join(allowed, ", "), didYouMean(v, allowed))
}

func (c *checker) run() {
	s := c.s
	if s.Version != SchemaVersion {
		c.add("version", "%d is not supported (this build reads schema version %d)", s.Version, SchemaVersion)
	}
	switch {
	case s.Name == "":
		c.add("name", "required (it names the output directory)")
	case !reName.MatchString(s.Name):
		c.add("name", "%q must be letters, digits, '.', '-' or '_' (it names the output directory)", s.Name)
	}
	// A file that writes repeat: 0 is refused; a run's copy (label set) or a
	// scenario whose Repeat Go code reset to 0 means one seed.
	if _, written := s.metaLine("repeat"); s.Repeat < 0 || s.Repeat == 0 && written && c.label == "" {
		c.add("repeat", "must be at least 1 (the number of seeds per variant and sweep point), got %d", s.Repeat)
	} else if s.Repeat > MaxRepeat {
		c.add("repeat", "%d seeds: at most %d", s.Repeat, MaxRepeat)
	}
	c.positive("duration", s.Duration, "60m")
	c.positive("sample_every", s.SampleEvery, "10s")
	if s.SampleEvery > s.Duration && s.Duration > 0 {
		c.add("sample_every", "%s is longer than the run (duration %s)", s.SampleEvery, s.Duration)
	}
}

func (c *checker) workload() {
	w := c.s.Workload
	if w.Lifetime < 0 {
		c.add("workload.lifetime", "%s must not be negative (0 = keys never churn)", w.Lifetime)
	}
	if w.Datapoints < 1 {
		c.add("workload.datapoints", "must be at least 1 (the number of distinct keys, e.g. 100000), got %d", w.Datapoints)
	}
	shortest := w.Interval
	if len(w.Intervals) > 0 {
		if w.Interval != 0 {
			c.add("workload.interval", "set either workload.interval or workload.intervals, not both")
		}
		sum := 0.0
		shortest = 0
		for i, share := range w.Intervals {
			p := fmt.Sprintf("workload.intervals[%d]", i)
			if share.Fraction <= 0 || share.Fraction > 1 {
				c.add(p+".fraction", "%g is outside (0, 1]", share.Fraction)
			}
			c.positive(p+".interval", share.Interval, "60s")
			if share.Interval > 0 && (shortest == 0 || share.Interval < shortest) {
				shortest = share.Interval
			}
			sum += share.Fraction
		}
		if math.Abs(sum-1) > 1e-9 {
			c.add("workload.intervals", "fractions sum to %s, not 1", strconv.FormatFloat(sum, 'g', 6, 64))
		}
	} else {
		c.positive("workload.interval", w.Interval, "60s")
	}
	c.nonNegative("workload.jitter", w.Jitter)
	if w.Jitter > 0 && shortest > 0 && 2*w.Jitter >= shortest {
		c.add("workload.jitter", "%s must be under half the shortest interval (%s), or a key's messages could swap order",
			w.Jitter, shortest)
	}
	switch {
	case w.ContextBytes < 1:
		c.add("workload.context_bytes", "must be at least 1 byte, got %s", w.ContextBytes)
	case w.ContextBytes > maxContextBytes:
		c.add("workload.context_bytes", "%s is above Redis's 512MiB value limit", w.ContextBytes)
	}
	if w.CounterFraction < 0 || w.CounterFraction > 1 {
		c.add("workload.counter_fraction", "%g is outside [0, 1]", w.CounterFraction)
	}
	if r := w.SampleRate; !r.IsAuto() && !(r > 0 && r <= 1) {
		c.add("workload.sample_rate", "%s is outside (0, 1] (or write auto)", r)
	} else if wt := r.Weight(); wt > 1 && w.Datapoints > 0 && w.Datapoints/wt < 1 {
		c.add("workload.sample_rate", "%s keeps no datapoint of %d", r, w.Datapoints)
	}
	if wt := w.SampleRate.Weight(); wt > 1 && c.s.Log.PollBatch > 0 && wt > c.s.Log.PollBatch {
		c.add("workload.sample_rate", "%s makes each datapoint stand for %d, more than log.poll_batch (%d): a poll "+
			"of one simulated message would stand for several real polls; use a rate of at least 1/%d",
			w.SampleRate, wt, c.s.Log.PollBatch, c.s.Log.PollBatch)
	}
}

func (c *checker) log() {
	l := c.s.Log
	c.atLeast("log.partitions", l.Partitions, 1)
	c.oneOf("log.assignor", string(l.Assignor), assignors)
	if l.SessionTimeout < Duration(minSessionTimeout) || l.SessionTimeout > Duration(maxSessionTimeout) {
		c.add("log.session_timeout", "%s is outside %s..%s (the broker's group.min/max.session.timeout.ms)",
			l.SessionTimeout, Duration(minSessionTimeout), Duration(maxSessionTimeout))
	}
	c.nonNegative("log.rebalance_time", l.RebalanceTime)
	c.atLeast("log.poll_batch", l.PollBatch, 1)
	c.positive("log.commit_interval", l.CommitInterval, "5s")
	c.oneOf("log.kind", string(l.Kind), LogKinds)
	c.streams()
}

// Fields that belong to one kind of log: written for the other, they are refused
// (a file that sets them expects a behaviour the run would not have).
var (
	kafkaOnly  = []string{"log.assignor", "log.static_membership", "log.session_timeout", "log.rebalance_time"}
	streamOnly = []string{"log.stream_assignment", "log.claim_min_idle", "log.lease_ttl", "log.maxlen",
		"log.delete_idle_consumers", "producers"}
)

// streams checks the Redis Streams fields and that each kind of log gets only
// its own fields.
func (c *checker) streams() {
	s := c.s
	l := s.Log
	switch l.Kind {
	case LogKafka:
		for _, f := range streamOnly {
			if _, ok := s.metaLine(f); ok || f == "producers" && s.Producers != nil {
				c.add(f, "is a Redis Streams setting, but log.kind is kafka (set log.kind: redis-streams, or remove it)")
			}
		}
		for i, e := range s.Timeline {
			if e.ProducerRestart != nil {
				c.add(fmt.Sprintf("timeline[%d].producer_restart", i),
					"needs producers (log.kind: redis-streams with a producers block)")
			}
		}
		return
	case LogRedisStreams:
	default:
		return
	}
	for _, f := range kafkaOnly {
		if _, ok := s.metaLine(f); ok {
			c.add(f, "is a Kafka consumer-group setting, but log.kind is redis-streams (remove it: "+
				"streams are shared or leased, see log.stream_assignment)")
		}
	}
	if r := s.Workload.SampleRate; r.IsAuto() || r.Weight() > 1 {
		c.add("workload.sample_rate", "%s: a Redis Streams log runs every datapoint (its entries, PELs and producer "+
			"ticks are not scaled): remove sample_rate or set it to 1", r)
	}
	c.oneOf("log.stream_assignment", string(l.StreamAssignment), StreamAssignments)
	c.positive("log.claim_min_idle", l.ClaimMinIdle, "30s")
	c.positive("log.lease_ttl", l.LeaseTTL, "10s")
	if l.LeaseTTL > 0 && l.LeaseTTL < Duration(3*streamTick) {
		c.add("log.lease_ttl", "%s is shorter than 3 simulator ticks (%s): a lease renewed every third of it could not be kept",
			l.LeaseTTL, Duration(3*streamTick))
	}
	if l.MaxLen < 0 {
		c.add("log.maxlen", "must not be negative (0 = no trimming), got %d", l.MaxLen)
	}
	p := s.Producers
	if p != nil {
		c.atLeast("producers.replicas", p.Replicas, 1)
		c.oneOf("producers.scheduling", string(p.Scheduling), SchedulingModes)
		c.positive("producers.poll_every", p.PollEvery, "10s")
		if s.Workload.Lifetime > 0 {
			c.add("producers", "cannot be combined with workload.lifetime (a producer numbers each key's ticks itself)")
		}
	}
	for i, e := range s.Timeline {
		r := e.ProducerRestart
		if r == nil {
			continue
		}
		path := fmt.Sprintf("timeline[%d].producer_restart", i)
		switch {
		case p == nil:
			c.add(path, "needs a producers block (producers: {replicas: N, scheduling: ticker})")
		case r.Replica < 0 || r.Replica >= p.Replicas:
			c.add(path+".replica", "%d is out of range: producers.replicas is %d (indexes 0..%d)", r.Replica, p.Replicas, p.Replicas-1)
		}
		c.positive(path+".for", r.For, "30s")
	}
}

// streamTick is the simulator's step (sim.Tick), the finest time a lease renewal can see.
const streamTick = 100 * time.Millisecond

func (c *checker) consumers() {
	cs := c.s.Consumers
	c.atLeast("consumers.replicas", cs.Replicas, 0)
	c.nonNegative("consumers.termination_grace", cs.TerminationGrace)
	c.nonNegative("consumers.process_time", cs.ProcessTime)
	c.nonNegative("consumers.startup", cs.Startup)
	c.oneOf("consumers.on_lost", string(cs.OnLost), OnLostModes)
	a := cs.Autoscaler
	if a == nil {
		return
	}
	if a.Max < 1 {
		c.add("consumers.autoscaler.max", "required: the most replicas the autoscaler may run (at least 1)")
	}
	c.atLeast("consumers.autoscaler.min", a.Min, 1)
	if a.Max >= 1 && a.Min > a.Max {
		c.add("consumers.autoscaler.min", "%d is above consumers.autoscaler.max (%d)", a.Min, a.Max)
	}
	if a.TargetCPU <= 0 || a.TargetCPU > 1 {
		c.add("consumers.autoscaler.target_cpu", "%g is outside (0, 1] (write e.g. 0.8 for 80 %%)", a.TargetCPU)
	}
	c.nonNegative("consumers.autoscaler.stabilization", a.Stabilization)
	if a.Max >= 1 && cs.Replicas > a.Max {
		c.add("consumers.replicas", "%d is above consumers.autoscaler.max (%d)", cs.Replicas, a.Max)
	}
}

func (c *checker) state() {
	st := c.s.State
	c.oneOf("state.strategy", string(st.Strategy), strategies)
	switch {
	case st.TTLOnlyEvery < 0 || st.TTLOnlyFor < 0:
		c.add("state.ttl_only_every", "ttl_only_every and ttl_only_for must not be negative")
	case st.TTLOnlyEvery > 0 && (st.TTLOnlyFor <= 0 || st.TTLOnlyFor >= st.TTLOnlyEvery):
		c.add("state.ttl_only_for", "%s must be positive and shorter than ttl_only_every %s", st.TTLOnlyFor, st.TTLOnlyEvery)
	case st.TTLOnlyEvery == 0 && st.TTLOnlyFor != 0:
		c.add("state.ttl_only_for", "needs state.ttl_only_every")
	}
	switch {
	case st.TTL != 0 && st.TTLIntervals != 0:
		c.add("state.ttl", "set either state.ttl or state.ttl_intervals, not both")
	case st.TTL < 0:
		c.add("state.ttl", "%s must not be negative", st.TTL)
	case st.TTLIntervals < 0:
		c.add("state.ttl_intervals", "must be at least 1, got %d", st.TTLIntervals)
	case st.TTL == 0 && st.TTLIntervals == 0:
		if _, written := c.s.metaLine("state.ttl"); written {
			c.add("state.ttl", "must be positive (or remove it to use ttl_intervals: 3)")
		} else {
			c.add("state.ttl", "set state.ttl or state.ttl_intervals")
		}
	}
	c.nonNegative("state.max_age", st.MaxAge)
	c.oneOf("state.compression", string(st.Compression), compressions)
	c.atLeast("state.spill_parallelism", st.SpillParallelism, 1)
	c.atLeast("state.spill_batch", st.SpillBatch, 1)
	c.positive("state.checkpoint_every", st.CheckpointEvery, "30s")
	c.oneOf("state.restore", string(st.Restore), restoreModes)
	if w := st.WaitReplicas; w != nil {
		c.atLeast("state.wait_replicas.replicas", w.Replicas, 1)
		c.positive("state.wait_replicas.timeout", w.Timeout, "100ms")
		if st.Strategy == StrategyMemoryOnly {
			c.add("state.wait_replicas", "memory-only writes nothing to Redis: there is nothing to wait for")
		}
	}
}

func (c *checker) redis() {
	r := c.s.Redis
	c.atLeast("redis.nodes", r.Nodes, 1)
	if r.SystemMemory <= 0 {
		c.add("redis.system_memory", "must be positive (write e.g. 8GiB)")
	}
	switch {
	case r.MaxMemory < 0:
		c.add("redis.maxmemory", "must not be negative (0 means unlimited)")
	case r.SystemMemory > 0 && r.MaxMemory > r.SystemMemory:
		c.add("redis.maxmemory", "%s is above redis.system_memory (%s)", r.MaxMemory, r.SystemMemory)
	}
	c.oneOf("redis.maxmemory_policy", string(r.MaxMemoryPolicy), policies)
	if r.MaxMemorySamples < 1 || r.MaxMemorySamples > 64 {
		c.add("redis.maxmemory_samples", "%d is outside 1..64 (redis.conf maxmemory-samples)", r.MaxMemorySamples)
	}
	if r.OvercommitMemory < 0 || r.OvercommitMemory > 2 {
		c.add("redis.overcommit_memory", "%d is not 0 (heuristic), 1 (always) or 2 (never)", r.OvercommitMemory)
	}
	c.oneOf("redis.overcommit_heuristic", string(r.OvercommitHeuristic), OvercommitHeuristics)
	switch {
	case r.BaselineUsed < 0:
		c.add("redis.baseline_used", "must not be negative")
	case r.SystemMemory > 0 && r.BaselineUsed > r.SystemMemory:
		c.add("redis.baseline_used", "%s is above redis.system_memory (%s)", r.BaselineUsed, r.SystemMemory)
	}
	c.nonNegative("redis.rtt", r.RTT)
	p := r.Persistence
	for i, save := range p.RDBSave {
		f := strings.Fields(save)
		ok := len(f) == 2
		for _, x := range f {
			if n, err := strconv.ParseInt(x, 10, 64); err != nil || n < 1 {
				ok = false
			}
		}
		if !ok {
			c.add(fmt.Sprintf("redis.persistence.rdb_save[%d]", i),
				"%q is not \"<seconds> <changes>\" (write e.g. \"900 1\")", save)
		}
	}
	if p.AOFRewritePercentage < 0 {
		c.add("redis.persistence.aof_rewrite_percentage", "must not be negative (0 disables automatic rewrites)")
	}
	if p.AOFRewriteMinSize < 0 {
		c.add("redis.persistence.aof_rewrite_min_size", "must not be negative")
	}
	if p.SnapshotRate < 0 {
		c.add("redis.persistence.snapshot_rate", "must not be negative (bytes per second, e.g. 80MB; 0 = calibrated)")
	}
	if ps := r.Model.PageSize; ps <= 0 || ps&(ps-1) != 0 {
		c.add("redis.model.page_size", "%s is not a positive power of two (write 4KiB, or 2MiB for huge pages)", ps)
	}
	c.nonNegative("redis.model.fork_time_base", r.Model.ForkTimeBase)
	c.nonNegative("redis.model.fork_time_per_gib", r.Model.ForkTimePerGiB)
	c.hosts()
	c.replication()
	if c.s.Redis.Replicas > 0 && c.s.ResolvedRedisMode() == RedisCluster {
		c.add("redis.replicas", "%d replicas per master with redis.mode cluster: replicas of Redis Cluster masters "+
			"(and their failover) are not modelled yet; use redis.mode single or ring with replicas", c.s.Redis.Replicas)
	}
}

// replication checks the replication fields (sim/redisnode/replica.go).
func (c *checker) replication() {
	r := c.s.Redis
	if r.Replicas < 0 || r.Replicas > maxReplicas {
		c.add("redis.replicas", "%d is outside 0..%d (replicas per master; 0 = none)", r.Replicas, maxReplicas)
	}
	if r.ReplBacklogSize < minReplBacklog {
		c.add("redis.repl_backlog_size", "%s is below Redis's minimum 16KiB (redis.conf repl-backlog-size; write e.g. 1MiB)", r.ReplBacklogSize)
	}
	c.nonNegative("redis.failover_time", r.FailoverTime)
}

// maxReplicas bounds redis.replicas; minReplBacklog is Redis's
// CONFIG_REPL_BACKLOG_MIN_SIZE (16 KiB).
const (
	maxReplicas    = 16
	minReplBacklog = 16 << 10
)

// actionList is the hint for an event without a valid action.
const actionList = "scale: N, crash: N, bgsave: true, rolling_restart: true, pause: {pod: I, for: D}, " +
	"redis_down: {for: D}, redis_nodes: N, aof_rewrite: true, latency: {add: D, for: D}, corrupt: N, " +
	"producer_restart: {replica: I, for: D}, failover: {node: I}, reshard: {to: N}"

func (c *checker) timeline() {
	s := c.s
	order := make([]int, len(s.Timeline))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return s.Timeline[order[a]].At < s.Timeline[order[b]].At })
	pods := s.Consumers.Replicas
	podBound := func() int {
		if a := s.Consumers.Autoscaler; a != nil && a.Max > pods {
			return a.Max
		}
		return pods
	}
	for _, i := range order {
		e := s.Timeline[i]
		p := fmt.Sprintf("timeline[%d]", i)
		switch {
		case e.At < 0:
			c.add(p+".at", "%s must not be negative", e.At)
		case s.Duration > 0 && e.At >= s.Duration:
			c.add(p+".at", "%s is not before the end of the run (duration %s)", e.At, s.Duration)
		}
		acts := e.actions()
		switch len(acts) {
		case 0:
			c.add(p, "has no action (write exactly one of %s)", actionList)
			continue
		case 1:
		default:
			c.add(p, "has %d actions (%s); write one event per action, at the same time if need be",
				len(acts), strings.Join(acts, ", "))
			continue
		}
		switch {
		case e.Scale != nil:
			c.atLeast(p+".scale", *e.Scale, 0)
			if *e.Scale >= 0 {
				pods = *e.Scale
			}
		case e.Crash != nil:
			if *e.Crash < 1 {
				c.atLeast(p+".crash", *e.Crash, 1)
			} else if *e.Crash > podBound() {
				c.add(p+".crash", "%d is more than the %d pods that can run at %s", *e.Crash, podBound(), e.At)
			}
		case e.Pause != nil:
			n := podBound()
			switch {
			case n == 0:
				c.add(p+".pause.pod", "no pods run at %s", e.At)
			case e.Pause.Pod < 0 || e.Pause.Pod >= n:
				c.add(p+".pause.pod", "%d is out of range: at most %d pods run at %s (indexes 0..%d)",
					e.Pause.Pod, n, e.At, n-1)
			}
			c.positive(p+".pause.for", e.Pause.For, "60s")
		case e.RedisDown != nil:
			c.positive(p+".redis_down.for", e.RedisDown.For, "30s")
		case e.RedisNodes != nil:
			c.atLeast(p+".redis_nodes", *e.RedisNodes, 1)
		case e.Latency != nil:
			c.positive(p+".latency.add", e.Latency.Add, "5ms")
			c.positive(p+".latency.for", e.Latency.For, "60s")
		case e.Corrupt != nil:
			c.atLeast(p+".corrupt", *e.Corrupt, 1)
		case e.Failover != nil:
			c.failoverEvent(p, e)
		case e.Reshard != nil:
			c.reshard(p, e.Reshard)
		}
	}
}

func (c *checker) variants() {
	seen := map[string]int{}
	for i, v := range c.s.Variants {
		p := fmt.Sprintf("variants[%d].name", i)
		switch {
		case v.Name == "":
			c.add(p, "required")
		case !reName.MatchString(v.Name):
			c.add(p, "%q must be letters, digits, '.', '-' or '_'", v.Name)
		default:
			if first, dup := seen[v.Name]; dup {
				c.add(p, "%q is used twice (also variants[%d])", v.Name, first)
			}
			seen[v.Name] = i
		}
		for _, key := range sortedKeys(v.Set) {
			if msg := checkSettable(key); msg != "" {
				c.add(fmt.Sprintf("variants[%d].set.%s", i, key), "%s", msg)
			}
		}
	}
}

func (c *checker) sweep() {
	sw := c.s.Sweep
	if sw == nil {
		return
	}
	if sw.Field == "" {
		c.add("sweep.field", "required: the dotted path of the swept field, e.g. redis.maxmemory")
	} else if msg := checkSettable(sw.Field); msg != "" {
		c.add("sweep.field", "%s", msg)
	}
	if len(sw.Values) == 0 {
		c.add("sweep.values", "required: at least one value")
	}
	for _, v := range c.s.Variants {
		for _, key := range sortedKeys(v.Set) {
			if sw.Field != "" && (underPath(key, sw.Field) || underPath(sw.Field, key)) {
				c.add("sweep.field", "variant %s also sets %s: a field is either swept or set by variants", v.Name, key)
			}
		}
	}
}

func (c *checker) expect() {
	names := c.s.variantNames()
	for i, e := range c.s.Expect {
		p := fmt.Sprintf("expect[%d]", i)
		unit, known := MetricUnit(e.Metric)
		switch {
		case e.Metric == "":
			c.add(p+".metric", "required: a summary metric name, e.g. context_loss_ratio")
		case !known:
			c.add(p+".metric", "unknown metric %q%s", e.Metric, didYouMean(e.Metric, MetricNames()))
		}
		if e.Variant != "" && !contains(names, e.Variant) {
			c.add(p+".variant", "unknown variant %q%s (the variants are %s)", e.Variant, didYouMean(e.Variant, names),
				strings.Join(names, ", "))
		}
		if e.Point != "" && c.s.Sweep == nil {
			c.add(p+".point", "point %q needs a sweep to select from", e.Point)
		}
		if e.Point != "" && c.s.Sweep != nil {
			found := false
			for _, v := range c.s.Sweep.Values {
				found = found || samePoint(e.Point, fmt.Sprint(v))
			}
			if !found {
				c.add(p+".point", "point %q is not one of the sweep values %v", e.Point, c.s.Sweep.Values)
			}
		}
		if e.Of != "" {
			c.oneOf(p+".of", string(e.Of), ExpectOfs)
		}
		if (e.Of == ExpectCILow || e.Of == ExpectCIHigh) && c.s.Seeds() < 2 {
			c.add(p+".of", "%s is an end of a confidence interval over seeds: it needs repeat: 2 or more (the "+
				"scenario runs %d seed per variant and sweep point)", e.Of, c.s.Seeds())
		}
		if e.Min == nil && e.Max == nil {
			c.add(p, "needs min, max or both")
		}
		if e.Min != nil && e.Max != nil && e.Min.Value > e.Max.Value {
			c.add(p+".min", "%s is above max %s", e.Min, e.Max)
		}
		for _, side := range []struct {
			name string
			b    *Bound
		}{{"min", e.Min}, {"max", e.Max}} {
			if side.b == nil || !known {
				continue
			}
			if bu := side.b.unit(); bu != UnitCount && bu != unit {
				c.add(p+"."+side.name, "%s is %s but %s is %s", side.b, unitNoun(bu), e.Metric, unitNoun(unit))
			}
		}
	}
}

// variantNames lists the names an expectation may refer to.
func (s *Scenario) variantNames() []string {
	if len(s.Variants) == 0 {
		return []string{DefaultVariant}
	}
	out := make([]string, 0, len(s.Variants))
	for _, v := range s.Variants {
		out = append(out, v.Name)
	}
	return out
}

// metaLine returns the line a field was written on, if the file wrote it.
func (s *Scenario) metaLine(path string) (int, bool) {
	if s.meta == nil {
		return 0, false
	}
	l, ok := s.meta.lines[path]
	return l, ok
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// failoverEvent checks a failover event's node against the nodes the run has
// (redis.nodes, or the most a redis_nodes event sets).
func (c *checker) failoverEvent(p string, e Event) {
	nodes := c.s.Redis.Nodes
	for _, ev := range c.s.Timeline {
		if ev.RedisNodes != nil && *ev.RedisNodes > nodes {
			nodes = *ev.RedisNodes
		}
	}
	if e.Failover.Node < 0 || e.Failover.Node >= max(nodes, 1) {
		c.add(p+".failover.node", "%d is out of range: the run has %d Redis node(s) (indexes 0..%d)",
			e.Failover.Node, max(nodes, 1), max(nodes, 1)-1)
	}
}
