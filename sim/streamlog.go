package sim

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/spillway-sim/spillway/core"
	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim/broker"
	"github.com/spillway-sim/spillway/sim/redisnode"
	"github.com/spillway-sim/spillway/sim/streams"
)

// Behavior: log.kind redis-streams — the log is real Redis Streams in a
// miniredis of its own (a redisnode.Node named "log", so every log command pays
// the node's RTT and service time on the pod's timeline), driven through
// go-redis by sim/streams: producers XADD, consumers XREADGROUP, XACK every
// log.commit_interval, XAUTOCLAIM what has been pending for log.claim_min_idle.
// The context store keeps its own Redis (the redis block), so the store's memory
// numbers are those of the store alone; the stream and its PEL are measured on
// the log's server (XLEN, XPENDING) and sized by streams.MemoryBytes
// (stream_used_memory_peak_bytes).
//
//   - Blocking reads. Consumers block in XREADGROUP; Redis serves blocked
//     clients first come, first served, and a woken consumer gets what has
//     arrived. Shared: the next entry goes to the consumer that has waited
//     longest (the free one with the earliest cursor), which reads every entry
//     arrived by then (COUNT log.poll_batch per stream). Leased: each consumer
//     reads its own streams as a Kafka consumer reads its partitions. The reads
//     themselves are sent without BLOCK (miniredis would block on wall time).
//   - shared: every consumer reads every stream; its store claims every stream
//     with generation 1; context in memory is found only when the same
//     consumer read the key's previous message (cause other_consumer).
//   - leased: each stream is leased to one consumer (streams.Leases: SET NX PX
//     log.lease_ttl, a heartbeat every third of it that also counts the live
//     consumers). A consumer aims at ceil(streams / consumers): it takes free
//     streams up to that (Store.Assigned with the lease's epoch as generation),
//     and gives back the ones above it (Store.Revoked: spill, XACK, release). A
//     SIGTERM spills, acks and releases everything; a crash or a pause past the
//     TTL lets the lease expire and another consumer takes it; a consumer that
//     finds a lease gone (a zombie) drops those streams as consumers.on_lost says.
//   - Claims: every claim period (log.claim_min_idle / 4) each live consumer, in
//     slot order, runs XAUTOCLAIM on the streams it reads and processes what it
//     claims at once (messages_redelivered). With log.delete_idle_consumers the
//     pass is one XAUTOCLAIM (COUNT log.poll_batch) followed by XGROUP
//     DELCONSUMER of every consumer idle for longer than claim_min_idle: what
//     that pass did not claim is gone from the PEL (messages_unclaimable).
//   - Redelivery is out of order: a claimed entry is processed after newer
//     entries of its key, sets the key's context back (a replay that met a newer
//     context), and the key's next message then meets that older context (stale,
//     cause replay).
//   - Trimming: XADD MAXLEN log.maxlen (exact). An entry trimmed before any
//     consumer read it is never processed (messages_trimmed); the key's next
//     message then meets an older context (cause message_lost).
//   - Where miniredis's streams differ from redis-server 7.0
//     (sim/streams TestTrimmedPendingEntries): XPENDING hides pending entries
//     whose stream entries were trimmed (Redis counts them until a claim or an
//     XACK removes them), XAUTOCLAIM skips them and claims live ones in their
//     COUNT (Redis spends COUNT on them and deletes them from the PEL), and XINFO
//     CONSUMERS answers idle -1 for a consumer that only reads: the cleanup
//     takes idle times from the simulator's own record of each consumer's last
//     read or claim, as Redis would report them.
//   - Consumer names are per incarnation (pod#index): a restarted container's
//     pending entries wait for a claim, as with names from a fresh UUID.
//
// Not modelled: XREADGROUP's BLOCK timeouts beyond waking at arrival (an idle
// consumer costs no round trips here), the log's Redis going down or out of
// memory, several log nodes, a consumer reading its own PEL again with ID 0.
type streamRun struct {
	r      *runner
	node   *redisnode.Node
	prod   *streams.Log // the producers' client
	leased bool

	claimMinIdle, leaseTTL, renewEvery, claimEvery time.Duration
	deleteIdle                                     bool
	pollBatch                                      int64
	producers                                      *streams.Producers

	// Mirror of what was appended, per stream: At of every entry from base on.
	at       [][]time.Duration
	base     []int64 // offset of at[s][0]
	next     []int64 // the group's next undelivered offset
	appended []int64
	maxLen   int64

	maxSeq   []uint32 // per key: the highest seq processed
	lostPrev bool     // the record being processed: its predecessor was never processed
	// regressed marks keys whose context a redelivered (claimed) older message
	// set back: XAUTOCLAIM delivers out of order, after newer entries of the key
	// were processed, and the key's next message then meets an older context.
	regressed map[uint32]bool
	holder    []*pod // leased: the last consumer that took each stream's lease
	auditBy   []procMark
	nextPod   int // round-robin start of lease acquisition

	redelivered, unclaimable, trimmed, handoffs int64
	pendingMax, memPeak                         int64
	dupsProcessed                               int64
	tickDelay                                   histogram                // delays of ticks emitted late
	onTime                                      int64                    // ticks emitted on time
	lastSeen                                    map[string]time.Duration // consumer -> its last read or claim (XINFO's idle; miniredis does not track it)
	lastClaim                                   time.Duration
	emitted                                     []streams.Emission
}

// streamMember is a pod's side of the Redis Streams log.
type streamMember struct {
	consumer string
	log      *streams.Log
	leases   *streams.Leases
	held     map[int32]int64 // leased: stream -> lease epoch
	unacked  map[int32][]string
	lastAck  time.Duration
	nextBeat time.Duration
}

func newStreamRun(r *runner) (*streamRun, error) {
	sc := r.sc
	l := sc.Log
	rc := sc.Redis
	// The log's own Redis: the scenario's network and host, no maxmemory, no
	// persistence (its memory is reported by the stream model).
	node, err := redisnode.New(r.eng, redisnode.Config{
		Name: "log", RTT: rc.RTT.Std(), Rand: r.eng.NewRand(), // drawn after every Kafka-run draw
		Policy: redisnode.NoEviction, Samples: 5, SystemMemory: rc.SystemMemory.Bytes(), OvercommitMemory: 1,
		AOFRewritePercentage: 100, SnapshotRate: float64(rc.Persistence.SnapshotRate.Bytes()),
		PageSize: rc.Model.PageSize.Bytes(), ForkTimePerGiB: rc.Model.ForkTimePerGiB.Std(),
	})
	if err != nil {
		return nil, err
	}
	s := &streamRun{
		r: r, node: node, leased: l.StreamAssignment == scenarios.StreamsLeased,
		claimMinIdle: l.ClaimMinIdle.Std(), leaseTTL: l.LeaseTTL.Std(), deleteIdle: l.DeleteIdleConsumers,
		pollBatch: int64(l.PollBatch), maxLen: int64(l.MaxLen),
		at: make([][]time.Duration, l.Partitions), base: make([]int64, l.Partitions),
		next: make([]int64, l.Partitions), appended: make([]int64, l.Partitions),
		maxSeq: make([]uint32, sc.Workload.Datapoints), holder: make([]*pod, l.Partitions),
		auditBy: make([]procMark, l.Partitions), lastSeen: map[string]time.Duration{}, regressed: map[uint32]bool{},
	}
	for i := range s.auditBy {
		s.auditBy[i].pod = -1
	}
	s.renewEvery = max(s.leaseTTL/3, Tick)
	s.claimEvery = max(s.claimMinIdle/4, Tick)
	s.prod = streams.NewLog(node.NewClient(1), s.logConfig())
	if err := s.prod.Create(r.ctx); err != nil {
		return nil, err
	}
	if p := sc.Producers; p != nil {
		sched, err := streams.ParseScheduling(string(p.Scheduling))
		if err != nil {
			return nil, err
		}
		cfg := streams.ProducerConfig{Replicas: p.Replicas, Scheduling: sched, PollEvery: p.PollEvery.Std(), LeaseTTL: l.LeaseTTL.Std()}
		for _, ev := range sc.Timeline {
			if pr := ev.ProducerRestart; pr != nil {
				cfg.Down = append(cfg.Down, streams.Downtime{Replica: pr.Replica, From: ev.At.Std(), Until: ev.At.Std() + pr.For.Std()})
			}
		}
		if s.producers, err = streams.NewProducers(cfg, sc.Workload.Datapoints); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *streamRun) logConfig() streams.Config {
	return streams.Config{Streams: s.r.sc.Log.Partitions, MaxLen: s.maxLen}
}

func (s *streamRun) close() { s.node.Close() }

// step is the tick of a Redis Streams run: emit, let the servers catch up,
// keep leases and claims, dispatch reads, ack.
func (s *streamRun) step() {
	r := s.r
	now := r.eng.Now()
	recs := r.em.window(r.lastEmit, now)
	r.lastEmit = now
	s.node.Advance()
	r.redis.advance()
	r.watchRedis()
	s.emit(recs, now)
	pods := r.slotsSorted()
	if s.leased {
		for _, p := range pods {
			if p.sm != nil && now >= p.sm.nextBeat && !p.paused && p.state == podRunning {
				s.heartbeat(p, true)
			}
		}
	}
	if now-s.lastClaim >= s.claimEvery {
		s.lastClaim = now
		for _, p := range pods {
			if p.sm != nil && !p.paused && p.state == podRunning {
				s.claim(p)
			}
		}
	}
	if s.leased {
		for _, p := range pods {
			s.readLeased(p, now)
		}
	} else {
		s.readShared(pods, now)
	}
	for _, p := range pods {
		if p.sm != nil && p.state == podRunning && !p.paused && p.cursor-p.sm.lastAck >= r.cfg.commitInterval {
			p.sync()
			s.ack(p)
		}
	}
	if r.formedAt < 0 && (!s.leased || !slices.Contains(s.holder, nil)) {
		r.formedAt = now // every stream has a reader: latency is measured from here
	}
	lag := s.lag()
	r.lagMax = max(r.lagMax, lag)
	r.lagWindow = max(r.lagWindow, lag)
}

// emit turns the workload's due ticks into entries (through the producers, when
// the scenario has them) and XADDs them in one round trip.
func (s *streamRun) emit(recs []emittedRec, now time.Duration) {
	r := s.r
	var entries []streams.Entry
	add := func(k, seq uint32, at time.Duration, dup bool) {
		st := r.wl.Partition(k)
		entries = append(entries, streams.Entry{Stream: st, Offset: s.appended[st], Key: k, Seq: seq, At: at, Dup: dup})
		s.appended[st]++
		s.at[st] = append(s.at[st], at)
	}
	if s.producers == nil {
		for _, e := range recs {
			add(e.rec.Key, e.rec.Seq, e.rec.At, false)
		}
	} else {
		for _, e := range recs {
			s.producers.Schedule(e.rec.Key, e.rec.At, r.wl.Interval(e.rec.Key))
		}
		s.emitted = s.producers.Pop(now, s.emitted[:0])
		for _, e := range s.emitted {
			if d := e.At - e.Due; e.Dup {
			} else if d > 0 {
				s.tickDelay.add(d)
			} else {
				s.onTime++
			}
			add(e.Key, e.Seq, e.At, e.Dup)
		}
	}
	if len(entries) == 0 {
		return
	}
	if _, err := s.prod.Add(r.ctx, entries); err != nil {
		panic(fmt.Sprintf("sim: XADD to the log: %v", err))
	}
	if s.maxLen > 0 {
		for st := range s.at {
			if over := s.appended[st] - s.maxLen - s.base[st]; over > 0 {
				// Trimmed: entries never delivered are never processed.
				low := s.base[st] + over
				if s.next[st] < low {
					s.trimmed += low - s.next[st]
					s.next[st] = low
				}
				s.at[st] = s.at[st][over:]
				s.base[st] = low
			}
		}
	}
}

// join is a Redis Streams consumer's start: its client to the log, and with
// shared streams the claim of every stream.
func (p *pod) streamJoin() {
	r := p.r
	s := r.streams
	p.sm = &streamMember{consumer: string(p.id), held: map[int32]int64{}, unacked: map[int32][]string{}}
	c := s.node.NewClient(1)
	p.logClient = c
	p.sm.log = streams.NewLog(c, s.logConfig())
	p.sm.lastAck = p.cursor
	if s.leased {
		p.sm.leases = streams.NewLeases(c, p.sm.consumer, s.leaseTTL)
		s.heartbeat(p, false) // register; streams are taken from the next beat on, once the others have registered too
		return
	}
	all := make([]int32, r.sc.Log.Partitions)
	for i := range all {
		all[i] = int32(i)
	}
	ctx, m := p.meterCtx(0, 1)
	if err := p.store.Assigned(ctx, 1, all...); err != nil {
		r.event("claim", "%s: %v", p.id, err)
	}
	p.cursor = max(p.cursor, r.eng.Now()) + m.Elapsed()
}

// heartbeat renews p's leases, notices the ones it lost, and takes or gives
// back streams to hold its share.
func (s *streamRun) heartbeat(p *pod, acquire bool) {
	r := s.r
	sm := p.sm
	sm.nextBeat = r.eng.Now() + s.renewEvery
	held := sortedStreams(sm.held)
	ctx, m := p.meterCtx(0, 1)
	kept, members, err := sm.leases.Heartbeat(ctx, held, r.eng.Time())
	p.cursor = max(p.cursor, r.eng.Now()) + m.Elapsed()
	if err != nil {
		r.event("lease", "%s heartbeat: %v", p.id, err)
		return
	}
	var lost []int32
	for i, st := range held {
		if !kept[i] {
			lost = append(lost, st)
		}
	}
	if len(lost) > 0 {
		s.loseStreams(p, lost)
	}
	n := r.sc.Log.Partitions
	share := (n + max(members, 1) - 1) / max(members, 1)
	switch have := len(sm.held); {
	case have > share:
		give := sortedStreams(sm.held)[share:]
		s.giveBack(p, give)
	case have < share && acquire:
		var free []int32
		start := s.nextPod % n
		s.nextPod++
		for i := range n {
			st := int32((start + i) % n)
			if _, ok := sm.held[st]; !ok {
				free = append(free, st)
			}
		}
		ctx, m := p.meterCtx(0, 1)
		epochs, err := sm.leases.Acquire(ctx, free, share-have)
		p.cursor += m.Elapsed()
		if err != nil {
			r.event("lease", "%s acquire: %v", p.id, err)
			return
		}
		for i, e := range epochs {
			if e > 0 {
				s.take(p, free[i], e)
			}
		}
	}
}

// take: p holds stream st's lease in epoch e (Store.Assigned with e as the generation).
func (s *streamRun) take(p *pod, st int32, e int64) {
	r := s.r
	p.sm.held[st] = e
	if prev := s.holder[st]; prev != nil && prev != p {
		s.handoffs++
		r.event("lease", "stream %d: %s -> %s (epoch %d)", st, prev.id, p.id, e)
	}
	s.holder[st] = p
	ctx, m := p.meterCtx(0, 1)
	if err := p.store.Assigned(ctx, e, st); err != nil {
		r.event("claim", "%s stream %d epoch %d: %v", p.id, st, e, err)
	}
	if r.cfg.eagerRestore && r.strategy != core.MemoryOnly {
		rep, _ := p.store.Warm(ctx, st)
		r.countRestore(rep)
	}
	p.cursor += m.Elapsed()
}

// giveBack hands streams over gracefully, as a Kafka revoke: spill, ack, release.
func (s *streamRun) giveBack(p *pod, give []int32) {
	r := s.r
	took, rep := p.spill(give, r.cfg.terminationGrace, "handoff")
	p.cursor += took
	p.loseDiscarded(rep, CauseRedisUnavailable)
	s.ack(p)
	ctx, m := p.meterCtx(0, 1)
	if _, err := p.sm.leases.Release(ctx, give, false); err != nil {
		r.event("lease", "%s release: %v", p.id, err)
	}
	p.cursor += m.Elapsed()
	for _, st := range give {
		delete(p.sm.held, st)
	}
}

// loseStreams: p's leases on lost expired or were taken (it is a zombie).
func (s *streamRun) loseStreams(p *pod, lost []int32) {
	r := s.r
	r.event("lost", "%s lost the leases of streams %v", p.id, lost)
	if r.cfg.lostDrops {
		p.dropAll(lost, CauseZombie)
		p.store.Lost(lost...)
	} else {
		_, rep := p.spill(lost, r.cfg.terminationGrace, "lost")
		p.loseDiscarded(rep, CauseZombie)
	}
	for _, st := range lost {
		delete(p.sm.held, st)
	}
}

func sortedStreams(m map[int32]int64) []int32 {
	out := make([]int32, 0, len(m))
	for st := range m {
		out = append(out, st)
	}
	slices.Sort(out)
	return out
}

// readsFrom is the streams p reads: its leased ones, or all.
func (s *streamRun) readsFrom(p *pod) []int32 {
	if s.leased {
		return sortedStreams(p.sm.held)
	}
	out := make([]int32, len(s.at))
	for i := range out {
		out[i] = int32(i)
	}
	return out
}

// arrived is how many undelivered entries of stream st arrived by t (at most the poll batch).
func (s *streamRun) arrived(st int32, t time.Duration) int64 {
	from := s.next[st] - s.base[st]
	at := s.at[st][from:]
	n, _ := slices.BinarySearchFunc(at, t, func(a, b time.Duration) int {
		if a <= b {
			return -1
		}
		return 1
	})
	return min(int64(n), s.pollBatch)
}

// nextArrival is the earliest undelivered entry's time among streams.
func (s *streamRun) nextArrival(sts []int32) (time.Duration, bool) {
	var best time.Duration
	ok := false
	for _, st := range sts {
		if i := s.next[st] - s.base[st]; i < int64(len(s.at[st])) {
			if a := s.at[st][i]; !ok || a < best {
				best, ok = a, true
			}
		}
	}
	return best, ok
}

func (s *streamRun) canRead(p *pod) bool {
	return p.sm != nil && p.state == podRunning && !p.paused
}

// readShared dispatches the tick's entries to the consumers as Redis serves
// blocked clients: the one waiting longest wakes at the next arrival and reads
// what has arrived.
func (s *streamRun) readShared(pods []*pod, now time.Duration) {
	all := s.readsFrom(nil)
	for {
		next, ok := s.nextArrival(all)
		if !ok {
			break
		}
		var pick *pod
		for _, p := range pods {
			if !s.canRead(p) {
				continue
			}
			// First come, first served: the consumer blocked the longest (the
			// earliest cursor) is woken first.
			if pick == nil || p.cursor < pick.cursor {
				pick = p
			}
		}
		if pick == nil {
			break
		}
		wake := max(pick.cursor, next)
		if wake > now {
			break
		}
		s.readBatch(pick, all, wake)
	}
	for _, p := range pods {
		if s.canRead(p) {
			p.cursor = max(p.cursor, now)
		}
	}
}

// readLeased lets p read its own streams up to now.
func (s *streamRun) readLeased(p *pod, now time.Duration) {
	if !s.canRead(p) {
		return
	}
	own := s.readsFrom(p)
	for p.cursor <= now {
		next, ok := s.nextArrival(own)
		if !ok {
			break
		}
		if !s.readBatch(p, own, max(p.cursor, next)) {
			break
		}
	}
	p.cursor = max(p.cursor, now)
}

// readBatch: p reads, at wake, what arrived on sts, and processes it.
func (s *streamRun) readBatch(p *pod, sts []int32, wake time.Duration) bool {
	counts := make([]int64, len(s.at))
	total := int64(0)
	for _, st := range sts {
		counts[st] = s.arrived(st, wake)
		total += counts[st]
	}
	if total == 0 {
		return false
	}
	p.cursor = max(p.cursor, wake)
	s.lastSeen[p.sm.consumer] = p.cursor
	ctx, m := p.meterCtx(0, 1)
	msgs, err := p.sm.log.Read(ctx, p.sm.consumer, counts)
	p.cursor += m.Elapsed()
	if err != nil {
		panic(fmt.Sprintf("sim: %s XREADGROUP: %v", p.id, err))
	}
	for _, msg := range msgs {
		s.next[msg.Stream] = max(s.next[msg.Stream], msg.Offset+1)
	}
	if int64(len(msgs)) != total {
		panic(fmt.Sprintf("sim: %s asked the log for %d entries and got %d", p.id, total, len(msgs)))
	}
	s.process(p, msgs, false)
	return true
}

// process runs one delivery (a read or a claim) through the pod's store and
// the accounting, as poll does for a Kafka batch; duplicates of a producer
// cost processing time but are not judged (duplicate_events counts them).
func (s *streamRun) process(p *pod, msgs []streams.Message, claimed bool) {
	r := s.r
	batch := p.batch[:0]
	dups := 0
	for _, m := range msgs {
		p.sm.unacked[m.Stream] = append(p.sm.unacked[m.Stream], m.ID)
		if m.Dup {
			dups++
			continue
		}
		batch = append(batch, fetched{part: m.Stream, offset: m.Offset, rec: broker.Record{Key: m.Key, Seq: m.Seq, At: m.At}})
	}
	if claimed {
		s.redelivered += int64(len(msgs))
	}
	pt := r.cfg.processTime
	if len(batch) > 0 {
		p.lookUp(batch)
		pre := p.restore(batch)
		for i, b := range batch {
			start := max(b.rec.At, p.cursor)
			p.cursor = start + pt
			if b.rec.At >= r.formedAt {
				p.fx.latency(p.cursor-b.rec.At, 1)
			}
			k, seq := b.rec.Key, b.rec.Seq
			s.lostPrev = r.needsContext(k, seq) && s.maxSeq[k] < seq-1
			p.process(b, pre[i])
			s.lostPrev = false
			if claimed && s.maxSeq[k] > seq && r.wl.IsCounter(k) {
				s.regressed[k] = true
			} else if !claimed {
				delete(s.regressed, k)
			}
			s.maxSeq[k] = max(s.maxSeq[k], seq)
		}
	}
	for range dups {
		p.cursor += pt
		r.c.messages++
		s.dupsProcessed++
	}
	p.batch = batch[:0]
}

// ack sends p's pending XACKs.
func (s *streamRun) ack(p *pod) {
	sm := p.sm
	sm.lastAck = p.cursor
	if len(sm.unacked) == 0 {
		return
	}
	ctx, m := p.meterCtx(0, 1)
	if _, err := sm.log.Ack(ctx, sm.unacked); err != nil {
		s.r.event("ack", "%s XACK: %v", p.id, err)
	}
	p.cursor += m.Elapsed()
	clear(sm.unacked)
}

// claim runs p's XAUTOCLAIM pass over the streams it reads and processes what it claims.
func (s *streamRun) claim(p *pod) {
	r := s.r
	s.lastSeen[p.sm.consumer] = max(p.cursor, r.eng.Now())
	for _, st := range s.readsFrom(p) {
		ctx, m := p.meterCtx(0, 1)
		msgs, err := p.sm.log.AutoClaim(ctx, st, p.sm.consumer, s.claimMinIdle, s.pollBatch, !s.deleteIdle)
		p.cursor = max(p.cursor, r.eng.Now()) + m.Elapsed()
		if err != nil {
			r.event("claim", "%s XAUTOCLAIM stream %d: %v", p.id, st, err)
			continue
		}
		if len(msgs) > 0 {
			r.event("xautoclaim", "%s claimed %d pending entries of stream %d", p.id, len(msgs), st)
			s.process(p, msgs, true)
		}
		if s.deleteIdle {
			s.deleteIdleConsumers(p, st)
		}
	}
}

// deleteIdleConsumers is the cleanup some wirings run after a claim pass: XGROUP
// DELCONSUMER of every other consumer idle past claim_min_idle.
func (s *streamRun) deleteIdleConsumers(p *pod, st int32) {
	r := s.r
	ctx, m := p.meterCtx(0, 1)
	defer func() { p.cursor += m.Elapsed() }()
	cs, err := p.sm.log.Consumers(ctx, st)
	if err != nil {
		return
	}
	slices.SortFunc(cs, func(a, b streams.Consumer) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	now := r.eng.Now()
	for _, c := range cs {
		// Idle as redis-server's XINFO CONSUMERS reports it: since the consumer's
		// last read or claim (miniredis answers -1 for consumers that only read).
		seen, ok := s.lastSeen[c.Name]
		if c.Name == p.sm.consumer || !ok || now-seen < s.claimMinIdle {
			continue
		}
		n, err := p.sm.log.DeleteConsumer(ctx, st, c.Name)
		if err == nil && n > 0 {
			s.unclaimable += n
			r.event("delconsumer", "%s deleted consumer %s of stream %d with %d pending entries: unclaimable", p.id, c.Name, st, n)
		}
	}
}

// leave is a graceful consumer's last step after its shutdown spill and ack:
// release its leases and leave the members.
func (p *pod) streamLeave() {
	s := p.r.streams
	s.ack(p)
	if !s.leased {
		return
	}
	ctx, m := p.meterCtx(0, 1)
	if _, err := p.sm.leases.Release(ctx, sortedStreams(p.sm.held), true); err != nil {
		p.r.event("lease", "%s release: %v", p.id, err)
	}
	p.cursor += m.Elapsed()
	clear(p.sm.held)
}

// tickDelayQuantile is the q-quantile of the ticks' delays (on-time ones are 0).
func (s *streamRun) tickDelayQuantile(q float64) time.Duration {
	n := s.tickDelay.n + s.onTime
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(n)))
	if rank <= s.onTime {
		return 0
	}
	return s.tickDelay.quantile(float64(rank-s.onTime) / float64(s.tickDelay.n))
}

// lag is the largest number of entries of one stream not yet delivered.
func (s *streamRun) lag() int64 {
	var worst int64
	for st := range s.at {
		worst = max(worst, s.appended[st]-s.next[st])
	}
	return worst
}

// sample measures the stream and its PEL on the log's server.
func (s *streamRun) sample() {
	ctx := context.Background()
	var entries, pending int64
	for st := range s.at {
		n, err := s.prod.Len(ctx, int32(st))
		if err != nil {
			panic(fmt.Sprintf("sim: XLEN: %v", err))
		}
		pn, err := s.prod.Pending(ctx, int32(st))
		if err != nil {
			panic(fmt.Sprintf("sim: XPENDING: %v", err))
		}
		entries += n
		pending += pn
		s.pendingMax = max(s.pendingMax, pn)
	}
	consumers := int64(0)
	for _, p := range s.r.pods {
		if p.sm != nil {
			consumers++
		}
	}
	s.memPeak = max(s.memPeak, streams.MemoryBytes(len(s.at), entries, pending, consumers*int64(len(s.at))))
}

// causeOf is why k's context was not the latest, on a streams log: its
// previous message was never processed, or another live consumer holds it.
func (s *streamRun) causeOf(k uint32) (Cause, bool) {
	r := s.r
	if s.lostPrev {
		return CauseMessageLost, true
	}
	if r.fate[k]&fateKind == fateMemory {
		if holder := r.pods[r.fate[k]&^fateKind]; holder.alive() && !holder.paused {
			return CauseOtherConsumer, true
		}
	}
	return 0, false
}

// staleCause is why k's context was older than its latest, on a streams log:
// its previous message was never processed, a redelivery set it back, or (shared
// streams: no key affinity) a newer one was made by another consumer.
func (s *streamRun) staleCause(k uint32, _ core.Outcome) (Cause, bool) {
	if s.lostPrev {
		return CauseMessageLost, true
	}
	if s.regressed[k] {
		return CauseReplay, true // a redelivered older message set the context back
	}
	if !s.leased {
		// Shared streams: the newer context was made by another consumer; what
		// this one found (its own copy, or an older one in Redis) is behind it.
		return CauseOtherConsumer, true
	}
	return 0, false
}

// audit checks that with leased streams no two live consumers process one
// stream under the same lease epoch (shared streams have no owner to check).
func (s *streamRun) audit(p *pod, st int32) {
	if !s.leased {
		return
	}
	r := s.r
	e := int32(p.sm.held[st])
	m := &s.auditBy[st]
	if m.pod >= 0 && m.pod != p.index && m.gen == e && r.pods[m.pod].alive() {
		r.audit.ownership++
		r.auditEvent(r.audit.ownership, "stream %d processed by %s and %s under lease epoch %d", st, r.pods[m.pod].name, p.name, e)
	}
	m.gen, m.pod = e, p.index
}
