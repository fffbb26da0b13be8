package sim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillway-sim/spillway/core"
	"github.com/spillway-sim/spillway/sim/broker"
	"github.com/spillway-sim/spillway/sim/redisnode"
	"github.com/spillway-sim/spillway/sim/workload"
)

// Behavior: a consumer pod (Kubernetes pod running one Kafka consumer with a
// core.Store), docs/design.md "Consumer group" and the Kubernetes defaults.
//
// Modelled: startup delay before joining; the rebalance listener —
// onPartitionsAssigned claims the partitions (Store.Assigned) and, with eager
// restore, warms them; onPartitionsRevoked spills the revoked partitions, then
// commits their offsets; onPartitionsLost runs Kafka's default, which calls
// onPartitionsRevoked (so a zombie tries to spill, and fencing must refuse it),
// then drops the partitions and rejoins. SIGTERM: processing stops, the shutdown
// hook spills everything with the termination grace as its virtual deadline,
// commits, and leaves the group (dynamic members; static members just stop, as
// KIP-345 members do on close); SIGKILL at the end of the grace kills whatever is
// still running. Crash: SIGKILL with no hook. Pause: a stop-the-world pause;
// heartbeats stop too.
//
// Not modelled: the time the callbacks take on the consumer's CPU beyond Redis
// round trips; readiness probes (a pod is ready when its startup delay ends).
type podState uint8

const (
	podStarting podState = iota
	podRunning
	podTerminating
	podDead
)

type pod struct {
	r     *runner
	index int    // incarnation index in runner.pods
	slot  int    // replica ordinal
	name  string // pod name (instance id with static membership)
	id    broker.MemberID
	state podState
	// polledAt is the last tick the pod processed a batch in (or ran a sampled
	// run's idle checkpoint: idleSync).
	polledAt time.Duration
	// A sampled run's count of the real polls its polls stand for
	// (realpolls.go): unseen, those of the ticks since the pod's last sampled
	// poll that fetched nothing; restoreWin and syncWin, those since the last
	// restore and the last Sync that made calls. backoff is the back-off the
	// store took after its last Sync (0: that Sync wrote), retryAt when the real
	// store's retries next end.
	unseen, restoreWin, syncWin realPolls
	backoff, retryAt            time.Duration
	// What processing put since the last Sync, for its count of round trips
	// (syncTrips): keys, and how many in each partition (dirtyList: those
	// with any, in the order they came).
	dirtied     int
	dirtyParts  []int // by partition
	dirtyList   []int32
	dirtyCounts []int // syncTrips' scratch
	// The partitions the pod missed keys of since its partitions last changed
	// (restoreTrips).
	missParts  []bool
	missPartsN int
	// restoreTrips' scratch: the partitions a restore reads and its nodes,
	// with the keys it reads in each.
	restoreParts    []int32
	restorePartKeys []int
	restoreNodes    []*redisnode.Node
	restoreKeys     []int

	store  *core.Store[ctxVal]
	client redis.UniversalClient
	gen    int32
	joined bool
	paused bool

	pos        map[int32]int64 // next offset to process, per owned partition
	rr         int             // round-robin start over owned partitions
	cursor     time.Duration   // the pod's own timeline: busy until
	lastCommit time.Duration
	failed     map[string]core.Reason // why the last spills could not write a key still in memory
	crashed    bool
	scratch              // the poll loop's buffers, reused per batch
	fx         effects   // where processing's shared effects go (ahead.go): applied now, or to tally
	tally      tally     // what working ahead deferred, for the serial pass
	held       held      // the step working ahead stopped before
	heldBatch  []fetched // held == heldRestore: the batch whose restore was left
	onReady    func()    // rolling restart: continue when this pod is ready
	onExit     func()    // rolling restart: continue when this pod has exited

	sm        *streamMember         // log.kind redis-streams: the consumer's side of the log (streamlog.go)
	logClient redis.UniversalClient // its client to the log's Redis

	threadAt []time.Duration // consumers.threads > 1: each thread's busy-until within a batch (clientpool.go)
}

// scratch is a pod's per-batch working memory: buffers the poll loop reuses
// from one batch to the next, so a batch allocates nothing. Nothing in it
// outlives a batch, except while a restore is held for the serial pass
// (ahead.go): then lookups, refs and refIdx are the held batch's.
type scratch struct {
	lookups []lookup      // what each record of the batch found
	refs    []core.KeyRef // the keys to restore from Redis
	refIdx  []int         // refs[i]'s record in the batch
	want    []core.KeyRef // the keys that need context
	wantIdx []int         // want[i]'s record in the batch
	runs    []int         // where each partition's records end in batch
	merged  []fetched     // the batch in time order
	vals    []ctxVal      // GetBatch's values
	found   []bool        // GetBatch's hits
	batch   []fetched     // the fetched records
}

// ctxVal is the per-key context the simulated consumer keeps: which message of
// which key it was computed from. Encoded it is context_bytes long.
type ctxVal struct{ Key, Seq uint32 }

type ctxCodec struct{ size int }

func (c ctxCodec) Append(dst []byte, v ctxVal) ([]byte, error) {
	return workload.AppendContext(dst, v.Key, v.Seq, c.size), nil
}

func (c ctxCodec) Decode(b []byte) (ctxVal, error) {
	k, seq, err := workload.DecodeContext(b)
	return ctxVal{Key: k, Seq: seq}, err
}

func (r *runner) newSlot() int {
	r.slots = append(r.slots, nil)
	r.nextSlot++
	return len(r.slots) - 1
}

// startPod creates a new incarnation in slot; it joins the group after the startup delay.
func (r *runner) startPod(slot int, delay time.Duration) *pod {
	p := &pod{r: r, index: len(r.pods), slot: slot, name: fmt.Sprintf("pod-%d", slot), pos: map[int32]int64{}}
	p.tally.lastAudit = -1
	p.fx = p.effectsFor(false)
	p.id = broker.MemberID(fmt.Sprintf("%s#%d", p.name, p.index))
	cfg := &r.cfg
	every, window := cfg.ttlOnlyEvery, cfg.ttlOnlyFor
	ttl := func(part int32, key string) time.Duration {
		if every > 0 && r.eng.Now()%every >= window {
			return core.Persist // the writer bug: TTLs only inside the window
		}
		if k, ok := p.r.keyID(key); ok && int(k) < r.wl.Datapoints() {
			return cfg.ttlFor(r.wl.Interval(k))
		}
		return 0 // the store's TTL
	}
	opts := []core.Opt{
		core.Namespace(storeNamespace),
		core.WithClock(core.ClockFunc(r.eng.Time)),
		core.WithStrategy(r.strategy),
		core.WithCompression(r.compression),
		core.TTLFunc(ttl),
		core.TTL(cfg.storeTTL),
		core.MaxAge(cfg.maxAge),
		core.SpillParallelism(cfg.spillParallelism),
		core.SpillBatch(cfg.spillBatch),
		core.Manifest(cfg.eagerRestore),
		core.Retries(2, 0),
		core.Fencing(cfg.fencing),
	}
	if cfg.checkpointEvery > 0 {
		opts = append(opts, core.CheckpointEvery(cfg.checkpointEvery))
	}
	if w := r.sc.State.WaitReplicas; w != nil {
		opts = append(opts, core.WaitReplicas(w.Replicas, w.Timeout.Std()))
	}
	if r.strategy != core.MemoryOnly {
		p.client = r.redis.client(cfg.spillParallelism + 1)
	}
	var err error
	p.store, err = core.New[ctxVal](p.client, r.codec, opts...)
	if err != nil {
		panic(fmt.Sprintf("sim: store options rejected after validation: %v", err))
	}
	r.pods = append(r.pods, p)
	r.slots[slot] = p
	r.event("pod", "%s started (incarnation %d)", p.name, p.index)
	r.eng.After(delay+cfg.startup, p.ready)
	return p
}

func (p *pod) closeClient() {
	if p.client != nil {
		p.client.Close()
		p.client = nil
	}
	if p.logClient != nil {
		p.logClient.Close()
		p.logClient = nil
	}
}

func (p *pod) alive() bool {
	return p.state == podStarting || p.state == podRunning || p.state == podTerminating
}

// ready: the startup delay is over; the consumer joins the group.
func (p *pod) ready() {
	if p.state != podStarting {
		return
	}
	p.state = podRunning
	p.cursor = p.r.eng.Now()
	p.lastCommit = p.cursor
	if p.r.streams != nil {
		p.streamJoin()
	} else {
		p.join()
	}
	if p.onReady != nil {
		f := p.onReady
		p.onReady = nil
		f()
	}
}

func (p *pod) join() {
	instance := ""
	if p.r.cfg.static {
		instance = p.name
	}
	p.r.byID[p.id] = p
	if err := p.r.group.Join(p.id, instance, p); err != nil {
		panic(fmt.Sprintf("sim: %s join: %v", p.id, err))
	}
	p.joined = true
}

// meterCtx returns a context charging Redis time to a new meter with budget, for
// an action starting when the pod is free; workers is how many spill workers it runs.
func (p *pod) meterCtx(budget time.Duration, workers int) (context.Context, *redisnode.Meter) {
	m := &redisnode.Meter{Budget: budget, Start: max(p.r.eng.Now(), p.cursor), Workers: max(workers, 1)}
	return redisnode.WithMeter(p.r.ctx, m), m
}

// Assign implements broker.Member (onPartitionsAssigned).
func (p *pod) Assign(gen int32, owned, added []int32) {
	if p.state != podRunning {
		return
	}
	p.gen = gen
	start := max(p.r.eng.Now(), p.cursor)
	ctx, m := p.meterCtx(0, 1)
	if err := p.store.Assigned(ctx, int64(gen), added...); err != nil && !errors.Is(err, core.ErrFenced) {
		p.r.event("claim", "%s generation %d: %v", p.id, gen, err)
	}
	for _, part := range added {
		p.pos[part] = max(p.r.group.Committed(part), p.r.log.StartOffset(part))
	}
	// Partitions no longer owned (cooperative rounds keep the rest).
	moved := len(added) > 0
	for part := range p.pos {
		if !slices.Contains(owned, part) {
			delete(p.pos, part)
			moved = true
		}
	}
	if moved {
		p.reassigned()
	}
	if p.r.cfg.eagerRestore && len(added) > 0 && p.r.strategy != core.MemoryOnly {
		rep, _ := p.store.Warm(ctx, added...)
		p.r.countRestore(rep)
	}
	p.cursor = start + m.Elapsed()
}

// Revoke implements broker.Member (onPartitionsRevoked): spill, commit, done.
func (p *pod) Revoke(gen int32, parts []int32, done func()) {
	if p.state != podRunning {
		// A terminating pod's shutdown hook owns its partitions; a dead one never answers.
		if p.state == podTerminating {
			p.r.eng.After(0, done)
		}
		return
	}
	p.gen = gen
	now := p.r.eng.Now()
	start := max(now, p.cursor)
	budget := p.r.group.Config().RebalanceTimeout - (start - now)
	took, rep := p.spill(parts, max(budget, time.Nanosecond), "revoke")
	p.commit(parts, gen)
	for _, part := range parts {
		delete(p.pos, part)
	}
	// Store.Revoked dropped what the spill could not write and released the
	// partitions: those contexts are lost (their cause is why the write failed).
	p.loseDiscarded(rep, CauseRedisUnavailable)
	p.cursor = start + took
	p.r.eng.Schedule(p.cursor, done)
}

// Lost implements broker.Member (onPartitionsLost). With consumers.on_lost:
// revoke (the default) it does what Kafka's default implementation does, call
// onPartitionsRevoked: the zombie's Store.Revoked spills (fencing decides), drops
// the rest and releases the partitions. With on_lost: lost it follows
// core/doc.go's wiring: Store.Lost drops the context and writes nothing. Then it
// rejoins with a new member id.
func (p *pod) Lost(parts []int32) {
	if p.state != podRunning {
		return
	}
	p.r.event("lost", "%s lost %v (session expired)", p.id, parts)
	if p.r.cfg.lostDrops {
		p.dropAll(parts, CauseZombie)
		p.store.Lost(parts...)
	} else {
		_, rep := p.spill(parts, p.r.group.Config().RebalanceTimeout, "lost")
		p.loseDiscarded(rep, CauseZombie)
	}
	for _, part := range parts {
		delete(p.pos, part)
	}
	p.rejoin()
}

// loseDiscarded books the contexts a Store.Revoked discarded unwritten (its
// failures) that this pod held in their latest version.
func (p *pod) loseDiscarded(rep *core.SpillReport, cause Cause) {
	for _, f := range rep.Failures {
		if f.Reason == core.ReasonDisabled {
			continue // memory-only: booked by bookSpill
		}
		if k, ok := p.r.keyID(f.Key); ok && p.r.fate.heldBy(k, p.index) && p.r.isCurrent(k, f.Key) {
			p.r.fate.lose(k, p.causeOfDrop(f.Key, cause))
		}
	}
}

// rejoin gives the consumer a new member id (Kafka assigns one on rejoin).
func (p *pod) rejoin() {
	p.id = broker.MemberID(fmt.Sprintf("%s#%d.%d", p.name, p.index, p.r.eng.Steps()))
	p.join()
}

// spill runs Store.Revoked (revoke, lost) or Store.SpillAll (shutdown: parts nil)
// with a virtual-time budget and books the outcome.
func (p *pod) spill(parts []int32, budget time.Duration, why string) (time.Duration, *core.SpillReport) {
	var held []string
	for _, part := range p.store.Partitions() {
		if parts == nil || slices.Contains(parts, part) {
			held = append(held, p.store.Keys(part)...)
		}
	}
	batches := (len(held) + p.r.cfg.spillBatch - 1) / p.r.cfg.spillBatch
	ctx, m := p.meterCtx(budget, min(p.r.cfg.spillParallelism, batches))
	m.Batch = p.r.cfg.realSpillBatch // batches of the store's spill batch (sampling: redisnode.Meter.Batch)
	var rep *core.SpillReport
	var err error
	if parts == nil {
		rep, err = p.store.SpillAll(ctx)
	} else {
		rep, err = p.store.Revoked(ctx, parts...)
	}
	took := m.Elapsed()
	p.r.auditSpill(p, parts, held, rep)
	p.r.bookSpill(p, rep, took, held)
	p.r.handoff.record(rep, took, m.Workers)
	if rep.Keys > 0 {
		msg := fmt.Sprintf("%s %s: %d keys, %d written, %d not written in %v", p.name, why, rep.Keys, rep.Written, rep.NotWritten, took)
		if err != nil && rep.NotWritten > rep.Count(core.ReasonDisabled) {
			msg += fmt.Sprintf(" (%v)", firstReason(rep))
		}
		p.r.event("spill", "%s", msg)
	}
	return took, rep
}

func firstReason(rep *core.SpillReport) core.Reason {
	for _, r := range core.Reasons() {
		if rep.Count(r) > 0 {
			return r
		}
	}
	return core.ReasonNone
}

// commit commits the pod's positions of parts (all owned when nil).
func (p *pod) commit(parts []int32, gen int32) {
	if p.sm != nil {
		p.r.streams.ack(p) // Redis Streams: XACK what was processed
		return
	}
	if parts == nil {
		parts = p.r.partitionsSorted(p.pos)
	}
	for _, part := range parts {
		if pos, ok := p.pos[part]; ok && pos > p.r.group.Committed(part) {
			if err := p.r.group.Commit(p.id, gen, part, pos); err != nil { // a zombie's or stale generation's commit fails, as in Kafka
				p.r.c.commitsFailed++
			}
		}
	}
}

// terminate: SIGTERM. The shutdown hook spills everything within the grace period.
func (p *pod) terminate() {
	r := p.r
	switch p.state {
	case podStarting:
		p.state = podDead
		r.slots[p.slot] = nil
		return
	case podTerminating, podDead:
		return
	}
	p.state = podTerminating
	now := r.eng.Now()
	grace := r.cfg.terminationGrace
	r.event("sigterm", "%s SIGTERM, grace %v", p.name, grace)
	start := max(now, p.cursor) // the current poll batch finishes first
	budget := grace - (start - now)
	var took time.Duration
	if budget > 0 && !p.paused {
		took, _ = p.spill(nil, budget, "shutdown")
		p.commit(nil, p.gen)
		if p.sm != nil {
			p.streamLeave()
		}
	}
	end := start + took
	if end < now+grace && !p.paused {
		r.eng.Schedule(end, func() { p.exit(false) })
		return
	}
	r.eng.Schedule(now+grace, func() { p.exit(true) })
}

// exit ends the process: cleanly (leave) or by SIGKILL at the end of the grace.
func (p *pod) exit(killed bool) {
	r := p.r
	if p.state == podDead {
		return
	}
	p.state = podDead
	if killed {
		r.event("sigkill", "%s SIGKILL after the grace period", p.name)
		p.dropAll(nil, CauseGraceOverrun)
		if p.joined {
			_ = r.group.Stop(p.id)
		}
	} else {
		p.dropAll(nil, CauseGraceOverrun) // whatever the spill could not write dies with the process
		if p.joined {
			if r.cfg.static {
				_ = r.group.Stop(p.id)
			} else {
				_ = r.group.Leave(p.id)
			}
		}
	}
	if r.slots[p.slot] == p {
		r.slots[p.slot] = nil
	}
	p.closeClient()
	r.podExited(p)
}

// crash: SIGKILL / OOMKilled. No hook runs; the group notices at the session timeout.
func (p *pod) crash() {
	r := p.r
	if p.state == podDead {
		return
	}
	r.event("crash", "%s killed (no shutdown hook)", p.name)
	r.c.crashes++
	p.state = podDead
	p.crashed = true
	p.dropAll(nil, CauseCrash)
	if p.joined {
		_ = r.group.Stop(p.id)
	}
	if r.slots[p.slot] == p {
		r.slots[p.slot] = nil
	}
	p.closeClient()
}

// dropAll forgets the pod's memory (partitions parts, or all); keys whose latest
// context it held are lost with cause.
func (p *pod) dropAll(parts []int32, cause Cause) {
	if parts == nil {
		parts = p.store.Partitions()
	}
	for _, part := range parts {
		for _, key := range p.store.Keys(part) {
			if k, ok := p.r.keyID(key); ok && p.r.fate.heldBy(k, p.index) && p.r.isCurrent(k, key) {
				p.r.fate.lose(k, p.causeOfDrop(key, cause))
			}
		}
	}
	p.store.Drop(parts...)
}

// pause: a stop-the-world pause of d.
func (p *pod) pause(d time.Duration) {
	r := p.r
	if p.state != podRunning || p.paused {
		return
	}
	p.paused = true
	r.event("pause", "%s paused for %v", p.name, d)
	_ = r.group.Pause(p.id)
	r.eng.After(d, func() {
		if p.state == podDead {
			return
		}
		p.paused = false
		p.cursor = max(p.cursor, r.eng.Now())
		r.event("resume", "%s resumed", p.name)
		_ = r.group.Resume(p.id)
	})
}
