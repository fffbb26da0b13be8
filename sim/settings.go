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
	realSpillBatch               int                                        // the scenario's spill_batch with sampling (spillBatch is scaled); 0 without
	realPollBatch                int                                        // the scenario's poll_batch with sampling (pollBatch is scaled); 0 without
	realRate                     float64                                    // messages per second over every datapoint the run stands for
	storeTTL                     time.Duration                              // the store's default TTL: the workload interval's, at least 1s
	ttlFor                       func(interval time.Duration) time.Duration // a key's TTL from its emission interval
	ttlOnlyEvery, ttlOnlyFor     time.Duration                              // the TTL writer bug (0: off)
	maxAge, checkpointEvery      time.Duration
	eagerRestore, fencing        bool
	contextBytes                 int64         // one context's encoded size
	lifetime                     time.Duration // a series' lifetime (0: forever)

	maxMemoryBytes, systemMemoryBytes int64 // of each Redis node (0: unlimited)

	// weight is how many datapoints each simulated one stands for (1: every
	// datapoint simulated; workload.sample_rate). The per-message, per-poll and
	// per-batch values above are already scaled for it (scale).
	weight int
}

// resolve reads a validated, defaulted scenario into settings.
func resolve(sc *scenarios.Scenario, weight int) settings {
	st := &sc.State
	s := settings{
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
		weight: max(weight, 1),
	}
	s.scale()
	return s
}

// scale makes a sampled run's per-unit settings stand for the real datapoints
// (docs/sampling.md): a simulated message is weight messages, so it costs weight
// times the CPU; a poll or a spill batch of the simulated keys carries the same
// share of the real keys as the real one carries of them, so a run has as many
// polls and batches as the real run (and as many spill workers busy), each
// standing for the real one (redisnode.Meter.Batch).
func (s *settings) scale() {
	w := s.weight
	if w <= 1 {
		return
	}
	s.processTime *= time.Duration(w)
	s.realSpillBatch = s.spillBatch
	s.realPollBatch = s.pollBatch
	s.pollBatch = max(1, (s.pollBatch+w/2)/w)
	s.spillBatch = max(1, (s.spillBatch+w/2)/w)
}

// realPollsEveryTick reports whether, in a sampled run, each of pods consumers
// receives a tick's worth of records or more at the real message rate (at least
// one per tick on average), so the real consumers poll something every tick.
func (s *settings) realPollsEveryTick(pods int) bool {
	return s.weight > 1 && s.realRate*Tick.Seconds() >= float64(max(pods, 1))
}

// realPerPoll is, in a sampled run, how many messages one real poll of one of
// pods consumers carries in steady state: the messages a tick brings it, at
// most the poll batch. 0 without sampling.
func (s *settings) realPerPoll(pods int) int {
	if s.weight <= 1 {
		return 0
	}
	perTick := s.realRate * Tick.Seconds() / float64(max(pods, 1))
	return max(1, min(s.realPollBatch, int(perTick+0.5)))
}
