package sim

import (
	"cmp"
	"slices"
	"time"

	"github.com/spillway-sim/spillway/core"
	"github.com/spillway-sim/spillway/sim/broker"
)

// Behavior: a consumer's poll loop (Kafka KafkaConsumer.poll with
// max.poll.records = log.poll_batch), run for the time up to now.
//
// The pod keeps its own timeline (cursor): a poll happens when the pod is free and
// records are available; it returns up to poll_batch records, taken partition by
// partition starting from a rotating position (fair fetching); the keys of the
// batch that need context and are not in memory are restored in one batched
// round trip (core.Store.Restore); each record then starts when it arrived or when
// the pod is free, whichever is later, and takes process_time. Latency = end of
// processing − append time. After the batch, Store.Sync (write-through,
// checkpoint) and the offset commit: every commit_interval (auto-commit), or after
// every Sync that wrote (write-through and checkpoint commit what they wrote, so a
// replay starts where the stored context is).
//
// With consumers.threads > 1 the batch's records are shared by the pod's
// threads, partition by partition, and its restore and Sync by their Redis
// clients (clientpool.go); the batch ends when its last thread is done.
//
// Not modelled: fetch latency and broker-side batching (fetch.min.bytes = 1 means
// a fetch returns as soon as a record is there), consumer CPU for restores.
func (p *pod) work(now time.Duration) {
	p.settle() // first, what working ahead left for this pass (ahead.go)
	p.poll(now, false)
}

// poll is the poll loop. ahead: the pod works ahead on a helper goroutine
// (ahead.go): it stops before the first step that needs Redis or the group (a
// restore, a sync, a commit), leaves that step for the serial pass, and its
// effects on shared state go to its tally (p.fx, effectsFor).
func (p *pod) poll(now time.Duration, ahead bool) {
	if p.state != podRunning || p.paused || len(p.pos) == 0 {
		if p.state == podRunning && !p.paused {
			p.cursor = max(p.cursor, now)
		}
		return
	}
	r := p.r
	p.fx = p.effectsFor(ahead)
	defer func() { p.fx = p.effectsFor(false) }()
	batchMax := r.cfg.pollBatch
	pt := r.cfg.processTime
	switch p.held {
	case heldFinished:
		p.held = heldNone
		p.idleSync(now)
		return // polling again would fetch nothing and move the round-robin start
	case heldBatchEnd:
		p.held = heldNone
		p.batchEnd()
	}
	parts := r.partitionsSorted(p.pos)
	for p.cursor <= now || p.held == heldRestore {
		var batch []fetched
		if p.held == heldRestore {
			batch, p.held = p.heldBatch, heldNone
		} else {
			batch = p.fetch(parts, now, batchMax)
			if len(batch) == 0 {
				p.missedPoll(now)
				p.cursor = now
				if ahead {
					p.held = heldFinished
				} else {
					p.idleSync(now)
				}
				return
			}
			p.polledAt = now
			p.polled(len(batch))
			first := batch[0].rec.At
			for _, b := range batch {
				first = min(first, b.rec.At)
			}
			p.cursor = max(p.cursor, first)
			p.lookUp(batch)
			if ahead && len(p.refs) > 0 {
				p.held, p.heldBatch = heldRestore, batch
				return
			}
		}
		before := p.cursor
		pre := p.restore(batch)
		restoring := p.cursor - before
		perPoll := 0 // real messages per real poll, when a sampled poll's restore delays some of its messages
		if restoring > 0 && r.cfg.weight > 1 {
			perPoll = r.cfg.realPerPoll(r.livePods())
		}
		threads := r.clients.threads
		if threads > 1 {
			p.threadAt = p.threadAt[:0]
			for range threads {
				p.threadAt = append(p.threadAt, p.cursor)
			}
		}
		for i, b := range batch {
			cur := &p.cursor
			if threads > 1 {
				cur = &p.threadAt[threadOf(b.part, parts, threads)] // the batch's threads (clientpool.go)
			}
			start := max(b.rec.At, *cur)
			*cur = start + pt
			if b.rec.At >= r.formedAt {
				p.recordLatency(b.rec.At, start, restoring, perPoll)
			}
			p.process(b, pre[i])
		}
		if threads > 1 {
			p.cursor = slices.Max(p.threadAt)
		}
		if ahead && p.batchEndDue() {
			p.held = heldBatchEnd
			return
		}
		p.batchEnd()
	}
}

// idleSync runs a due checkpoint in a sampled run when the pod fetched nothing in
// this tick but the consumer it stands for would have: it polls the real message
// rate, a tick's worth of records or more, so its poll loop reaches Sync every
// tick and its checkpoints fall when they are due. A sampled pod sees 1/W of
// those records and may go ticks without one; syncing only after a batch would
// delay its checkpoints to its next sampled record, spreading the pods'
// checkpoints that a real group makes at once (and the queueing between them).
func (p *pod) idleSync(now time.Duration) {
	r := p.r
	if r.cfg.weight <= 1 || r.strategy != core.Checkpoint || p.polledAt == now ||
		!r.cfg.realPollsEveryTick(r.livePods()) {
		return
	}
	p.polledAt = now
	p.sync()
}

// batchEndDue reports whether batchEnd has anything to do.
func (p *pod) batchEndDue() bool {
	r := p.r
	if r.strategy == core.WriteThrough || r.strategy == core.Checkpoint {
		return true
	}
	return p.cursor-p.lastCommit >= r.cfg.commitInterval
}

// batchEnd runs after each batch: Store.Sync (write-through, checkpoint) and the
// offset commit.
func (p *pod) batchEnd() {
	r := p.r
	p.sync()
	if r.strategy != core.WriteThrough && r.strategy != core.Checkpoint &&
		p.cursor-p.lastCommit >= r.cfg.commitInterval {
		p.commit(nil, p.gen)
		p.lastCommit = p.cursor
	}
}

type fetched struct {
	part   int32
	offset int64
	rec    broker.Record
}

// fetch takes up to max records with At ≤ now from the owned, fetchable partitions.
func (p *pod) fetch(parts []int32, now time.Duration, limit int) []fetched {
	r := p.r
	out := p.batch[:0]
	p.runs = p.runs[:0]
	defer func() { p.batch = out[:0] }()
	n := len(parts)
	for i := 0; i < n && len(out) < limit; i++ {
		part := parts[(p.rr+i)%n]
		if owner, _, ok := r.group.Owner(part); !ok || owner != p.id || !r.group.Fetchable(part) {
			continue
		}
		pos := p.pos[part]
		runStart := len(out)
		for len(out) < limit {
			hw := r.log.HighWatermark(part)
			if pos >= hw {
				break
			}
			recs := r.log.Fetch(part, pos, min(limit-len(out), int(hw-pos)))
			if len(recs) == 0 {
				break
			}
			taken := 0
			for _, rec := range recs {
				if rec.At > now {
					break
				}
				out = append(out, fetched{part: part, offset: pos, rec: rec})
				pos++
				taken++
			}
			if taken < len(recs) {
				break
			}
		}
		p.pos[part] = pos
		if len(out) > runStart {
			p.runs = append(p.runs, len(out))
		}
	}
	p.rr++
	// A consumer that polls continuously handles records close to their arrival,
	// whatever their partition: order the batch by append time (ties by partition
	// and offset, so each partition keeps its order and the order is total).
	if len(p.runs) <= maxMergeRuns {
		p.merged = mergeRuns(p.merged[:0], out, p.runs)
		out, p.merged = p.merged, out
		return out
	}
	slices.SortFunc(out, func(a, b fetched) int {
		if c := cmp.Compare(a.rec.At, b.rec.At); c != 0 {
			return c
		}
		if c := cmp.Compare(a.part, b.part); c != 0 {
			return c
		}
		return cmp.Compare(a.offset, b.offset)
	})
	return out
}

// maxMergeRuns is the most partitions in one batch that fetch merges; more are
// sorted (a linear scan of the run heads per record would cost more).
const maxMergeRuns = 16

// mergeRuns appends to dst the records of batch, whose runs (one per partition,
// ends[i] the end of run i) are each in append-time and offset order, merged into
// (append time, partition, offset) order: what sorting the batch would give.
func mergeRuns(dst, batch []fetched, ends []int) []fetched {
	var heads [maxMergeRuns]int
	n := len(ends)
	for i := range n {
		if i > 0 {
			heads[i] = ends[i-1]
		}
	}
	for {
		best := -1
		for i := range n {
			h := heads[i]
			if h == ends[i] {
				continue
			}
			if best < 0 {
				best = i
				continue
			}
			a, b := &batch[h], &batch[heads[best]]
			if a.rec.At < b.rec.At || a.rec.At == b.rec.At && a.part < b.part {
				best = i
			}
		}
		if best < 0 {
			return dst
		}
		dst = append(dst, batch[heads[best]])
		heads[best]++
	}
}

// lookup is what the pod found for a record's key before processing the batch.
type lookup struct {
	v        ctxVal
	ok       bool
	restored core.Outcome // OutcomeLocal unless the key went to Redis
}

// lookUp looks the context every record of batch needs up in memory, all at
// once (one lock per partition), into p.lookups; the keys missing there and
// worth asking Redis for go to p.refs (p.refIdx: their records).
func (p *pod) lookUp(batch []fetched) {
	r := p.r
	if cap(p.lookups) < len(batch) {
		p.lookups = make([]lookup, len(batch))
	}
	pre := p.lookups[:len(batch)]
	p.want, p.wantIdx = p.want[:0], p.wantIdx[:0]
	for i, b := range batch {
		pre[i] = lookup{}
		if r.needsContext(b.rec.Key, b.rec.Seq) {
			p.want = append(p.want, core.KeyRef{Partition: b.part, Key: r.nameOf(b.rec.Key, b.rec.Seq)})
			p.wantIdx = append(p.wantIdx, i)
		}
	}
	if cap(p.vals) < len(p.want) {
		p.vals, p.found = make([]ctxVal, len(p.want)), make([]bool, len(p.want))
	}
	vals, found := p.vals[:len(p.want)], p.found[:len(p.want)]
	p.store.GetBatch(p.want, vals, found)
	p.refs, p.refIdx = p.refs[:0], p.refIdx[:0]
	for j, i := range p.wantIdx {
		pre[i].v, pre[i].ok = vals[j], found[j]
		if !found[j] && r.strategy != core.MemoryOnly {
			p.refs = append(p.refs, p.want[j])
			p.refIdx = append(p.refIdx, i)
		}
	}
}

// restore batch-restores the keys lookUp found missing, in one round trip, and
// returns what each record of batch found.
func (p *pod) restore(batch []fetched) []lookup {
	r := p.r
	pre := p.lookups[:len(batch)]
	if len(p.refs) == 0 {
		return pre
	}
	ctx, m := p.meterCtx(0, 1)
	p.restoreTrips(m)
	m.Trace = r.clients.trace
	rep, _ := p.store.Restore(ctx, p.refs)
	r.redis.deliverRemovals() // why a key is missing (evicted a moment ago) before the miss is judged
	r.countRestore(rep)
	p.cursor += r.clients.elapsed(m)
	for j, i := range p.refIdx {
		pre[i].restored = rep.Outcomes[j]
		if rep.Outcomes[j] == core.OutcomeRestored || rep.Outcomes[j] == core.OutcomeLocal {
			pre[i].v, pre[i].ok = p.store.Get(batch[i].part, p.refs[j].Key)
		}
	}
	return pre
}

// process judges one record against ground truth and updates the context. pre is
// what the key had before the batch: when it is not the expected context, the key
// is looked up again (an earlier record of the same batch may have updated it).
//
// Counters and effects on shared state go through p.fx: applied now, or recorded
// in the tally when working ahead (ahead.go).
func (p *pod) process(b fetched, pre lookup) {
	r := p.r
	c := p.fx.counts()
	c.messages++
	p.fx.effect(effect{kind: effAudit, part: b.part})
	if b.offset <= r.processed[b.part] {
		c.replayed++
	} else {
		r.processed[b.part] = b.offset
	}
	k, seq := b.rec.Key, b.rec.Seq
	if !r.wl.IsCounter(k) {
		return // a gauge needs no context and keeps none
	}
	key := r.nameOf(k, seq)
	if r.needsContext(k, seq) {
		c.needed++
		v, ok := pre.v, pre.ok
		if !ok || v.Seq != seq-1 {
			v, ok = p.store.Get(b.part, key)
		}
		switch {
		case ok && v.Seq == seq-1:
			c.ok++
			if pre.restored == core.OutcomeLocal {
				c.localHits++
			}
		case ok && v.Seq >= seq:
			// A replay: the context already includes this message (its offset was
			// not committed when the context was spilled).
			c.staleUsed++
			c.staleBy[CauseReplay]++
		case ok:
			c.staleUsed++
			p.fx.effect(effect{kind: effStale, k: k, restored: pre.restored})
		default:
			c.lost++
			p.fx.effect(effect{kind: effLost, k: k, restored: pre.restored})
		}
	}
	p.store.Put(b.part, key, ctxVal{Key: k, Seq: seq})
	p.dirty(b.part)
	p.fx.effect(effect{kind: effInMemory, k: k})
}

// staleCause is why the context key k found was older than its latest.
func (r *runner) staleCause(k uint32, restored core.Outcome) Cause {
	if r.streams != nil {
		if c, ok := r.streams.staleCause(k, restored); ok {
			return c
		}
	}
	if r.fate[k]&fateKind == fateRedis {
		// The latest context was written to Redis, yet an older one came
		// back: something overwrote it — an unfenced zombie's late spill.
		return CauseZombie
	}
	return r.causeOf(k, restored)
}

// causeOf is why key k's latest context was not what the pod had.
func (r *runner) causeOf(k uint32, restored core.Outcome) Cause {
	if r.streams != nil {
		if c, ok := r.streams.causeOf(k); ok {
			return c
		}
	}
	if restored == core.OutcomeStale && r.redisGone[k] == uint8(CauseFailoverLost)+1 && r.fate[k]&fateKind == fateLost {
		// A failover gave back the replica's older copy, which the restore
		// discarded: the latest context went with the failover.
		return CauseFailoverLost
	}
	switch restored {
	case core.OutcomeStale:
		return CauseStaleDiscarded
	case core.OutcomeCorrupt:
		return CauseCorrupt
	case core.OutcomeFailed:
		return r.unavailableCause(k)
	}
	switch r.fate[k] & fateKind {
	case fateMemory:
		// The latest context is still in another pod's memory: one that is paused
		// (its partitions were reassigned when its session expired).
		if holder := r.pods[r.fate[k]&^fateKind]; holder.paused {
			return CauseZombie
		}
		fallthrough
	case fateRedis:
		// It was also (or only) in Redis, and that copy left on its own: evicted,
		// expired, lost with the node, or moved by resharding.
		if g := r.redisGone[k]; g > 0 {
			return Cause(g - 1)
		}
	}
	return r.fate.cause(k)
}

// sync runs Store.Sync (write-through, checkpoint) and commits what it wrote.
func (p *pod) sync() {
	r := p.r
	if r.strategy != core.WriteThrough && r.strategy != core.Checkpoint {
		return
	}
	ctx, m := p.meterCtx(0, r.cfg.spillParallelism)
	m.Batch = r.cfg.realSpillBatch
	m.Trace = r.clients.trace
	p.syncTrips(m)
	rep, err := p.store.Sync(ctx)
	if rep == nil {
		return
	}
	p.synced(r.eng.Now(), err)
	took := r.clients.elapsed(m) // the pod's threads share the Sync (clientpool.go)
	p.cursor += took
	r.bookSpill(p, rep, took, nil)
	if err == nil {
		p.commit(nil, p.gen)
		p.lastCommit = p.cursor
	}
}

// bookSpill updates the counters of a spill or sync. held, when not nil, lists the
// keys the pod had in memory before a spill: those not reported as failures were
// written, and their latest context (if this pod held it) is now in Redis. Failed
// keys stay in memory; p.failed remembers why, for when the pod drops them.
func (r *runner) bookSpill(p *pod, rep *core.SpillReport, took time.Duration, held []string) {
	if rep == nil || rep.Keys == 0 {
		return
	}
	r.c.spilledKeys += int64(rep.Written)
	r.c.spillBytes += rep.WireBytes
	r.c.spillFailed += int64(rep.NotWritten - rep.Count(core.ReasonDisabled))
	r.c.fencedWrites += int64(rep.Count(core.ReasonFenced))
	r.c.spillRewritten += int64(rep.Rewritten)
	r.c.spillMax = max(r.c.spillMax, took)
	if held == nil {
		return
	}
	failed := make(map[string]bool, len(rep.Failures))
	for _, f := range rep.Failures {
		failed[f.Key] = true
		if p.failed == nil {
			p.failed = map[string]core.Reason{}
		}
		p.failed[f.Key] = f.Reason
		if f.Reason == core.ReasonDisabled { // memory-only: the store dropped it unwritten
			if k, ok := r.keyID(f.Key); ok && r.fate.heldBy(k, p.index) && r.isCurrent(k, f.Key) {
				r.fate.lose(k, CauseNotSpilled)
			}
		}
	}
	for _, key := range held {
		if failed[key] {
			continue
		}
		if k, ok := r.keyID(key); ok && r.fate.heldBy(k, p.index) && r.isCurrent(k, key) {
			r.fate[k] = fateRedis
		}
	}
}

// causeOfDrop is the cause for a key dropped from memory: why its spill failed, or
// the default when it was never tried.
func (p *pod) causeOfDrop(key string, def Cause) Cause {
	reason, ok := p.failed[key]
	if !ok {
		return def
	}
	switch reason {
	case core.ReasonDeadline, core.ReasonCanceled:
		return CauseGraceOverrun
	case core.ReasonDisabled:
		return CauseNotSpilled
	case core.ReasonFenced:
		return CauseFenced
	}
	if k, ok := p.r.keyID(key); ok {
		return p.r.unavailableCause(k) // cluster.go: refused while its slot migrated
	}
	return CauseRedisUnavailable
}

// recordLatency books the latency of a message appended at at that started
// processing at start, in a poll whose restore took restoring (perPoll:
// realPerPoll, computed once per poll). Without
// sampling: start + process time − at. A sampled message stands for weight
// messages (and its process time is theirs): each of them takes one message's
// process time, and of the real polls they arrived in (realPerPoll messages
// each) only the first message of each waited for the poll's restore, so
// weight/realPerPoll of them take the wait this one saw and the rest the wait
// without the restore.
func (p *pod) recordLatency(at, start, restoring time.Duration, perPoll int) {
	r := p.r
	w := int64(r.cfg.weight)
	if w <= 1 {
		p.fx.latency(start+r.cfg.processTime-at, 1)
		return
	}
	one := r.cfg.processTime / time.Duration(w)
	delayed := w
	if restoring > 0 {
		delayed = min(w, max(1, (w+int64(perPoll)/2)/int64(perPoll)))
	}
	p.fx.latency(start+one-at, delayed)
	if rest := w - delayed; rest > 0 {
		p.fx.latency(max(start-restoring, at)+one-at, rest)
	}
}
