package sim

import (
	"time"

	"github.com/spillway-sim/spillway/scenarios"
)

// settings is the scenario resolved once, when the run is built, into the plain
// values the runner, the pods, the sampler and the audit read: durations as
// time.Duration, sizes as bytes, counts as ints. Code that runs during a run reads
// these instead of converting scenario fields where it uses them. (The workload,
// the group and the Redis nodes get their own configs, resolved the same way in
// newRunner and newRedisFleet; timeline events carry their own values.)
type settings struct {
	duration    time.Duration // the run's length
	sampleEvery time.Duration // the time series' period

	replicas         int           // the Deployment's replica count before any scaling
	startup          time.Duration // pod start to ready
	terminationGrace time.Duration
	processTime      time.Duration // per message
	lostDrops        bool          // consumers.on_lost: lost (Store.Lost), not Kafka's default revoke

	pollBatch      int           // max.poll.records
	commitInterval time.Duration // auto-commit period
	static         bool          // static membership

	spillParallelism, spillBatch int
	storeTTL                     time.Duration                              // the store's default TTL: the workload interval's, at least 1s
	ttlFor                       func(interval time.Duration) time.Duration // a key's TTL from its emission interval
	ttlOnlyEvery, ttlOnlyFor     time.Duration                              // the TTL writer bug (0: off)
	maxAge, checkpointEvery      time.Duration
	eagerRestore, fencing        bool
	contextBytes                 int64         // one context's encoded size
	lifetime                     time.Duration // a series' lifetime (0: forever)

	maxMemoryBytes, systemMemoryBytes int64 // of each Redis node (0: unlimited)
}

// resolve reads a validated, defaulted scenario into settings.
func resolve(sc *scenarios.Scenario) settings {
	st := &sc.State
	return settings{
		duration: sc.Duration.Std(), sampleEvery: sc.SampleEvery.Std(),

		replicas: sc.Consumers.Replicas, startup: sc.Consumers.Startup.Std(),
		terminationGrace: sc.Consumers.TerminationGrace.Std(), processTime: sc.Consumers.ProcessTime.Std(),
		lostDrops: sc.Consumers.OnLost == scenarios.OnLostLost,

		pollBatch: sc.Log.PollBatch, commitInterval: sc.Log.CommitInterval.Std(), static: sc.Log.StaticMembership,

		spillParallelism: st.SpillParallelism, spillBatch: st.SpillBatch,
		storeTTL: max(st.TTLFor(sc.Workload.Interval.Std()), time.Second), ttlFor: st.TTLFor,
		ttlOnlyEvery: st.TTLOnlyEvery.Std(), ttlOnlyFor: st.TTLOnlyFor.Std(),
		maxAge: st.MaxAge.Std(), checkpointEvery: st.CheckpointEvery.Std(),
		eagerRestore: st.Restore == "eager", fencing: st.Fencing,
		contextBytes: sc.Workload.ContextBytes.Bytes(), lifetime: sc.Workload.Lifetime.Std(),

		maxMemoryBytes: sc.Redis.MaxMemory.Bytes(), systemMemoryBytes: sc.Redis.SystemMemory.Bytes(),
	}
}
