package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/spillway-sim/spillway/core"
	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim/broker"
	"github.com/spillway-sim/spillway/sim/engine"
	"github.com/spillway-sim/spillway/sim/redisnode"
	"github.com/spillway-sim/spillway/sim/workload"
)

// Tick is the simulator's step: every Tick of virtual time the workload's messages
// are appended to the log and every running pod processes what it can. A pod's
// own timeline inside a tick is continuous (a message starts when it arrives or
// when the pod is free, whichever is later), so latencies are not rounded to Tick.
const Tick = 100 * time.Millisecond

// Options tune how Run executes, never what it computes: a run's result is
// byte-identical whatever they are.
type Options struct {
	// Parallel is how many runs of the plan execute at once; 0: 1 (one after
	// the other). Each run has its own engine, seed and Redis and shares nothing
	// with the others.
	Parallel int
	// PodWorkers is how many goroutines a run's pods work on within each tick
	// (docs/design.md, "Determinism"); 1: serially; 0: the processors Go may use
	// (GOMAXPROCS) shared among the runs under way, at most MaxPodWorkers.
	PodWorkers int
	// ParallelMinRecords is the fewest records a tick must bring for the pods
	// to work in parallel in it: below, handing the work over costs more than it
	// saves. 0: 64. (Tests set 1, to take the parallel path on small scenarios.)
	ParallelMinRecords int
	// OnRun, when not nil, is called as soon as run i of the plan has finished
	// successfully, e.g. to draw a progress bar. It is called from the runs'
	// goroutines, possibly from several at once, so it must be safe for
	// concurrent use; it must not modify rr.
	OnRun func(i int, rr *RunResult)
	// SampleBudget is the simulator memory, in bytes, a run whose
	// workload.sample_rate is auto is sized for (scenarios.AutoWeight); 0:
	// scenarios.DefaultSampleBudget. It changes what such a run computes (the
	// rate it picks is in its result), and nothing else.
	SampleBudget int64
}

// MaxPodWorkers caps the default PodWorkers. A tick's serial part (restores,
// spills, commits, one pod at a time) bounds what more goroutines can gain, and
// each idle one spins for a while between ticks.
const MaxPodWorkers = 4

// podWorkers is opts.PodWorkers, or the processors shared among the runs
// under way at once.
func (o Options) podWorkers(parallel, runs int) int {
	if o.PodWorkers > 0 {
		return o.PodWorkers
	}
	return min(max(1, runtime.GOMAXPROCS(0)/max(1, min(parallel, runs))), MaxPodWorkers)
}

// runOne runs one planned run; repeated says the plan runs every point with
// several seeds, so the result records its own.
func runOne(ctx context.Context, run scenarios.Run, repeated bool, podWorkers, minRecords int, sampleBudget int64) (*RunResult, error) {
	r, err := newRunner(ctx, run.Scenario, scenarios.AutoWeight(run.Scenario, sampleBudget))
	if err != nil {
		return nil, err
	}
	if r.streams == nil { // a streams run reads the log's Redis while it processes: serial
		r.helpers = newHelpers(podWorkers, minRecords)
	}
	defer r.close()
	if err := r.execute(); err != nil {
		return nil, err
	}
	rr := r.result()
	rr.Run = run
	rr.Label, rr.Variant, rr.Point = run.Label, run.Variant, run.Point
	if repeated {
		seed := run.Scenario.Seed
		rr.Seed = &seed
	}
	return rr, nil
}

// runner is one run's world: the engine, the workload, the log and group, the
// Redis node and the fleet.
type runner struct {
	ctx   context.Context
	sc    *scenarios.Scenario
	cfg   settings // sc resolved once (settings.go)
	eng   *engine.Engine
	wl    *workload.Workload
	log   *broker.Log
	group *broker.Group
	redis *redisFleet
	rng   *rand.Rand // the simulator's own draws (corrupt events); drawn last

	strategy    core.Strategy
	compression core.Compression

	pods        []*pod // every incarnation, by index
	byID        map[broker.MemberID]*pod
	slots       []*pod // current pod per ordinal (nil when none)
	nextSlot    int
	keyNames    []string
	fate        fate
	seriesNames []seriesName // per key: the current series' name (workload.lifetime)
	redisGone   []uint8      // per key: 1 + the Cause its Redis copy last left by (0: none since its last update)
	processed   []int64      // highest offset ever processed per partition (replay detection)

	c             counters
	handoff       handoffStats
	audit         audit
	lat           histogram // whole run
	latWindow     histogram // since the last sample
	events        []Event
	series        Series
	lagMax        int64 // largest per-partition lag seen at any tick
	lagWindow     int64 // the same since the last sample
	lastEmit      time.Duration
	em            *emitter              // the workload's messages, one tick ahead
	helpers       *helpers              // the goroutines pods work ahead on (ahead.go)
	aheadMessages int64                 // messages processed ahead, for tests
	seenMem       redisnode.MemoryStats // fleet totals at the last tick, to log forks and OOM kills
	stopErr       error

	clients  *clientModel       // consumer threads and their Redis clients' pools (clientpool.go)
	codec    core.Codec[ctxVal] // the pods' codec: the value format (valueformat.go)
	valueMax int64              // one context's encoded size

	wantReplicas int
	// formedAt is when the initial group finished its first rebalance; latency
	// is measured for messages appended from then on (the run's warm-up: the
	// initial fleet is already running at t=0, but needs its first assignment).
	formedAt time.Duration
	rolling  *rollingRestart
	hpa      *autoscaler
	streams  *streamRun // log.kind redis-streams (streamlog.go); nil on a Kafka log
}

func newRunner(ctx context.Context, sc *scenarios.Scenario, weight int) (*runner, error) {
	eng := engine.New(sc.Seed)
	r := &runner{ctx: ctx, sc: sc, cfg: resolve(sc, weight), eng: eng, byID: map[broker.MemberID]*pod{}}
	r.clients = newClientModel(sc.Consumers, r.cfg.spillParallelism+1)
	r.codec = newCodec(sc.Workload.ValueFormat, int(r.cfg.contextBytes))
	r.valueMax = valueSize(r.codec)
	var err error
	if r.strategy, err = core.ParseStrategy(string(sc.State.Strategy)); err != nil {
		return nil, err
	}
	if r.compression, err = core.ParseCompression(string(sc.State.Compression)); err != nil {
		return nil, err
	}
	// Component seeds are drawn in a fixed order: workload first. Add new draws last.
	var mix []workload.Mix
	for _, m := range sc.Workload.Mix() {
		mix = append(mix, workload.Mix{Fraction: m.Fraction, Interval: m.Interval.Std()})
	}
	wcfg := workload.Config{
		Datapoints: sc.Workload.Datapoints, Jitter: sc.Workload.Jitter.Std(),
		CounterFraction: sc.Workload.CounterFraction, ContextBytes: int(sc.Workload.ContextBytes),
		Partitions: sc.Log.Partitions, Weight: r.cfg.weight,
	}
	if len(sc.Workload.Intervals) > 0 {
		wcfg.Intervals = mix
	} else {
		wcfg.Interval = sc.Workload.Interval.Std()
	}
	if r.wl, err = workload.New(wcfg, eng.NewRand()); err != nil {
		return nil, err
	}
	r.cfg.realRate = r.wl.Rate() * float64(r.wl.Weight())
	r.em = newEmitter(r.wl)
	if r.log, err = broker.NewLog(sc.Log.Partitions); err != nil {
		return nil, err
	}
	gcfg := broker.DefaultGroupConfig()
	gcfg.Assignor = string(sc.Log.Assignor)
	gcfg.StaticMembership = sc.Log.StaticMembership
	gcfg.SessionTimeout = sc.Log.SessionTimeout.Std()
	gcfg.RebalanceTime = sc.Log.RebalanceTime.Std()
	if gcfg.RebalanceTime == 0 {
		gcfg.RebalanceTime = broker.NoDelay
	}
	if r.group, err = broker.NewGroup(eng, gcfg, r.log); err != nil {
		return nil, err
	}
	r.group.OnRebalance(r.onRebalance)
	if r.redis, err = r.newRedisFleet(); err != nil {
		return nil, err
	}
	r.rng = eng.NewRand()
	n := r.wl.Datapoints() // simulated keys: fewer than sc.Workload.Datapoints with sampling
	r.keyNames = keyNames(r.wl, n)
	r.fate = make(fate, n)
	r.redisGone = make([]uint8, n)
	if sc.Workload.Lifetime > 0 {
		r.seriesNames = make([]seriesName, n)
	}
	r.audit = newAudit(sc.Log.Partitions)
	r.processed = make([]int64, sc.Log.Partitions)
	for i := range r.processed {
		r.processed[i] = -1
	}
	r.series.Columns = seriesColumns
	if sc.Log.Kind == scenarios.LogRedisStreams {
		if r.streams, err = newStreamRun(r); err != nil { // draws after every other component
			return nil, err
		}
	}
	return r, nil
}

func (r *runner) close() {
	r.em.close()
	if r.helpers != nil {
		r.helpers.close()
	}
	for _, p := range r.pods {
		p.closeClient()
	}
	r.redis.close()
	if r.streams != nil {
		r.streams.close()
	}
}

// execute schedules the run and drives the engine to the end.
func (r *runner) execute() error {
	sc := r.sc
	r.formedAt = -1
	for i := 0; i < r.cfg.replicas; i++ {
		r.startPod(r.newSlot(), -r.cfg.startup) // already up at t=0
	}
	for _, ev := range sc.Timeline {
		ev := ev
		r.eng.Schedule(ev.At.Std(), func() { r.timeline(ev) })
	}
	if a := sc.Consumers.Autoscaler; a != nil {
		r.hpa = newAutoscaler(r, a)
	}
	end := r.cfg.duration
	var tick func()
	tick = func() {
		if r.stopErr != nil {
			return
		}
		if err := r.ctx.Err(); err != nil {
			r.stopErr = err
			return
		}
		if r.streams != nil {
			r.streams.step()
		} else {
			r.step()
		}
		if r.eng.Now()+Tick <= end {
			r.eng.After(Tick, tick)
		}
	}
	r.eng.Schedule(Tick, tick)
	every := r.cfg.sampleEvery
	var sample func()
	sample = func() {
		r.sample()
		if r.eng.Now()+every <= end {
			r.eng.After(every, sample)
		}
	}
	r.eng.Schedule(0, sample)
	r.eng.RunUntil(end)
	return r.stopErr
}

// step appends the messages due since the last tick and lets every pod work.
func (r *runner) step() {
	now := r.eng.Now()
	recs := r.em.window(r.lastEmit, now)
	for i := range recs {
		r.log.Append(recs[i].p, recs[i].rec)
	}
	r.lastEmit = now
	pods := r.slotsSorted()
	parallel := r.helpers != nil && r.helpers.parallel(len(pods), len(recs))
	// The next tick's messages are computed while the pods work on these: by a
	// helper taking part in this tick's work when the pods work in parallel, on a
	// goroutine of their own otherwise.
	var emitNext func()
	if next := now + Tick; next <= r.cfg.duration {
		spawn := onGoroutine
		if parallel {
			spawn = func(f func()) { emitNext = f }
		}
		r.em.prefetch(now, next, recs, spawn)
	} else {
		r.em.spare = recs
	}
	r.redis.advance()
	r.watchRedis()
	if parallel {
		r.helpers.workAhead(pods, now, emitNext) // as far as each pod can without Redis or the group
	}
	for _, p := range pods {
		p.work(now)
	}
	lag := r.lagNow()
	r.lagMax = max(r.lagMax, lag)
	r.lagWindow = max(r.lagWindow, lag)
	r.trimLog()
}

func (r *runner) slotsSorted() []*pod {
	out := make([]*pod, 0, len(r.slots))
	for _, p := range r.slots {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// trimLog frees records below every partition's committed offset and every live
// reader's position (retention; replays never go below the committed offset).
func (r *runner) trimLog() {
	if r.eng.Now()%(10*time.Second) != 0 {
		return
	}
	for p := int32(0); int(p) < r.log.Partitions(); p++ {
		low := r.group.Committed(p)
		for _, pd := range r.pods {
			if pos, ok := pd.pos[p]; ok && pd.alive() {
				low = min(low, pos)
			}
		}
		if low > r.log.StartOffset(p) {
			r.log.Trim(p, low)
		}
	}
}

func (r *runner) event(kind, format string, args ...any) {
	r.events = append(r.events, Event{At: Duration(r.eng.Now()), Kind: kind, Detail: fmt.Sprintf(format, args...)})
}

func (r *runner) onRebalance(ev broker.RebalanceEvent) {
	r.auditRebalance(ev)
	if r.formedAt < 0 && len(ev.Pending) == 0 {
		r.formedAt = r.eng.Now()
	}
	moved := 0
	for _, mp := range ev.Revoked {
		moved += len(mp.Partitions)
	}
	r.event("rebalance", "generation %d (%s round %d): %d members, %d partitions revoked",
		ev.Generation, ev.Protocol, ev.Round, ev.Members, moved)
}

// onRedisRemove records why a key's copy left Redis on its own (expired,
// evicted, lost with the node, moved by resharding), for attributing a later miss.
// When the copy held the latest context, that context is now lost.
func (r *runner) onRedisRemove(key string, why redisnode.Removal) {
	k, ok := r.keyID(key)
	if !ok || int(k) >= len(r.fate) {
		return
	}
	var c Cause
	switch why {
	case redisnode.Expired:
		c = CauseTTLExpired
	case redisnode.Evicted:
		c = CauseEvicted
	case redisnode.Lost:
		c = CauseRedisLost
	case redisnode.Moved:
		c = CauseRingMoved
	case redisnode.FailoverLost:
		c = CauseFailoverLost
	case redisnode.FailoverUnacked:
		// The write was in flight when the master failed: its client would
		// have had an error, as for a node that is down.
		c = CauseRedisUnavailable
	default:
		return
	}
	r.redisGone[k] = uint8(c) + 1
	if r.fate[k] == fateRedis {
		r.fate.lose(k, c)
	}
}

// keyID is the datapoint id of a store key or Redis key (workload.ParseKey,
// the one owner of the key format).
// keyID is the simulated key a record, store or Redis key belongs to (with
// sampling, keys carry their datapoint's id: workload.Index maps it back).
func (r *runner) keyID(key string) (uint32, bool) {
	id, ok := workload.ParseKey(key)
	if !ok {
		return 0, false
	}
	return r.wl.Index(id)
}

// epoch is the series of datapoint k that message seq belongs to (workload.lifetime).
func (r *runner) epoch(k, seq uint32) uint32 {
	life := r.cfg.lifetime
	if life <= 0 || seq == 0 {
		return 0
	}
	per := max(uint32(life/r.wl.Interval(k)), 1)
	return (seq - 1) / per
}

// keyNames names every datapoint. The names are substrings of one string, so
// they cost one allocation, give the garbage collector one object instead of
// one per key, and a key's name sits next to its neighbours' in memory.
func keyNames(wl *workload.Workload, n int) []string {
	buf := make([]byte, 0, n*workload.KeyLen)
	ends := make([]int, n)
	for k := range n {
		buf = wl.AppendKey(buf, uint32(k))
		ends[k] = len(buf)
	}
	all := string(buf)
	names := make([]string, n)
	start := 0
	for k, end := range ends {
		names[k] = all[start:end]
		start = end
	}
	return names
}

// nameOf is the store key of message seq of datapoint k: its series' name.
func (r *runner) nameOf(k, seq uint32) string {
	if r.cfg.lifetime <= 0 {
		return r.keyNames[k]
	}
	e := r.epoch(k, seq)
	if c := &r.seriesNames[k]; c.name != "" && c.epoch == e {
		return c.name
	}
	name := workload.SeriesKey(r.keyNames[k], e)
	r.seriesNames[k] = seriesName{epoch: e, name: name}
	return name
}

// needsContext reports whether message seq of k needs its predecessor's context:
// a counter, not its series' first message.
func (r *runner) needsContext(k, seq uint32) bool {
	return seq > 1 && r.wl.IsCounter(k) && r.epoch(k, seq) == r.epoch(k, seq-1)
}

// isCurrent reports whether key is datapoint k's current series (always, without churn).
func (r *runner) isCurrent(k uint32, key string) bool {
	return r.seriesNames == nil || r.seriesNames[k].name == key
}

type seriesName struct {
	epoch uint32
	name  string
}

// livePods counts pods that are starting or running (not terminating or dead).
func (r *runner) livePods() int {
	n := 0
	for _, p := range r.slots {
		if p != nil && (p.state == podStarting || p.state == podRunning) {
			n++
		}
	}
	return n
}

func (r *runner) partitionsSorted(m map[int32]int64) []int32 {
	out := make([]int32, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// watchRedis logs forks, fork failures and OOM kills as events (the report marks them).
func (r *runner) watchRedis() {
	_, t := r.redis.memory()
	if t.Forks > r.seenMem.Forks {
		r.event("fork", "redis fork (%d so far)", t.Forks)
	}
	if t.ForkFailures > r.seenMem.ForkFailures {
		r.event("fork_failed", "redis fork failed: writes now refused with MISCONF until a save succeeds")
	}
	if t.OOMKills > r.seenMem.OOMKills {
		r.event("oom", "redis OOM-killed: RSS + copy-on-write passed system memory; every key lost")
	}
	r.seenMem = t
}
