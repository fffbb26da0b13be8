package sim

import (
	"errors"
	"math"
	"slices"
	"time"

	"github.com/spillway-sim/spillway/core"
	"github.com/spillway-sim/spillway/sim/redisnode"
)

// Behavior: in a sampled run, how many round trips and commands a sampled
// pod's restores and Syncs stand for (docs/sampling.md).
//
// A sampled pod sees 1/W of its partitions' records, so it polls records less
// often than the consumer it stands for: that consumer polls in every tick in
// which a record of its partitions arrives, and each of its polls makes its own
// restore (when a record's context is missing) and, with write-through, its own
// Sync, each with its own round trips: a fence read per spill worker, a batch
// per partition written. A sampled poll therefore stands for the real polls
// since the pod's last one (realPolls); its restore and Sync count the round
// trips of the real ones in their window, the polls since the last restore
// (Sync) that made calls (redisnode.Meter.KeyedTrips, BareTrips). Their time
// stays that of the sampled action: the real polls happened at other times,
// each delaying only itself.
//
// Arrivals are taken as a Poisson process at the real message rate, spread
// evenly over the partitions; the records of a real poll are taken to need a
// restore (to put a key) in the proportion the window's sampled polls show, so
// that of its real polls those with one are counted: a poll of m real
// messages has one with probability 1 − (1 − f)^m (share).

// realPolls is what sampled polls stand for.
type realPolls struct {
	polls float64 // real polls
	syncs float64 // of those, the ones whose write-through Sync would write (not deferred)
	msgs  int     // the sampled polls' messages
}

func (a *realPolls) add(b realPolls) {
	a.polls += b.polls
	a.syncs += b.syncs
	a.msgs += b.msgs
}

// missedPoll counts, in a sampled run, the real poll the consumer this pod
// stands for may have made in this tick when the pod fetched nothing: it is
// free and polling, and the real one finds a record of its partitions in a tick
// with probability 1 − e^−λ, λ its share of the real message rate per tick. Its
// write-through Sync writes unless the store defers Syncs (Redis refused the
// last one: core.Store.SyncDeferred).
func (p *pod) missedPoll(now time.Duration) {
	r := p.r
	if r.cfg.weight <= 1 || p.polledAt == now {
		return // a tick the pod already polled in counts once
	}
	lambda := r.cfg.realRate * Tick.Seconds() * float64(len(p.pos)) / float64(len(r.processed))
	q := -math.Expm1(-lambda)
	p.unseen.polls += q
	if r.strategy != core.WriteThrough || p.store.SyncDeferred() > 0 {
		return
	}
	switch {
	case p.backoff == 0:
		p.unseen.syncs += q
	case now >= p.retryAt:
		// The real store retries once its back-off ends, and is refused again
		// as far as this pod knows (its own last Sync was): its back-off doubles
		// up to core.MaxSyncBackoff (core.Store.Sync).
		p.unseen.syncs += q
		p.backoff = min(2*p.backoff, core.MaxSyncBackoff)
		p.retryAt = now + p.backoff
	}
}

// polled adds a sampled poll of n messages to the restore and Sync windows:
// it stands for this tick's real poll, the unseen ones since the pod's last
// poll, and at least the full polls (log.poll_batch) that carry its n × weight
// messages, as behind a backlog.
func (p *pod) polled(n int) {
	r := p.r
	if r.cfg.weight <= 1 {
		return
	}
	full := math.Ceil(float64(n*r.cfg.weight) / float64(r.cfg.realPollBatch))
	now := realPolls{polls: max(full, 1+p.unseen.polls), syncs: max(full, 1+p.unseen.syncs), msgs: n}
	p.restoreWin.add(now)
	p.syncWin.add(now)
	p.unseen = realPolls{}
}

// reassigned starts the pod's restore window, unseen polls and missed
// partitions over when its partitions change: the misses of the polls before are not those of the polls
// after (a new owner misses every key it was handed), and a window spanning
// both would spread the new owner's misses over the quiet polls before.
func (p *pod) reassigned() {
	p.unseen = realPolls{}
	p.restoreWin = realPolls{}
	clear(p.missParts)
	p.missPartsN = 0
}

// share is how many of polls real polls, carrying msgs × weight messages in
// all, have one of the k × weight of them that do something (miss, put).
func (s *settings) share(polls float64, k, msgs int) float64 {
	if polls <= 0 {
		return 0
	}
	return polls * redisnode.CarryShare(k, msgs, float64(msgs*s.weight)/polls)
}

// restoreTrips sets a sampled poll's restore (its k misses) to stand for the
// restores of the real polls in the restore window: those with a miss, all of
// them on this pod's timeline (the restore's time: Meter.Batch). Each real
// restore reads the partitions of its misses, an MGET (and a fence read) each:
// d = U(1 − (1 − 1/U)^m) of them for m real misses, U the partitions the pod
// has missed keys of since its partitions last changed (a new owner misses
// only in the partitions it was handed). It reads them in one call per node
// they are on (a ring or cluster client splits the pipeline): n = N(1 − (1 −
// 1/N)^d) of N nodes. A call or command carrying k of the sampled misses is
// made by 1 − (1 − k/misses)^m of the real restores, and those shares are
// scaled to add up to n calls and d MGETs per real restore.
func (p *pod) restoreTrips(m *redisnode.Meter) {
	r := p.r
	if r.cfg.weight <= 1 {
		return
	}
	k := len(p.refs)
	misses := float64(k * r.cfg.weight)
	busy := min(max(1, r.cfg.share(p.restoreWin.polls, k, p.restoreWin.msgs)), misses)
	p.restoreWin = realPolls{}
	m.Batch = max(1, int(math.Ceil(misses/busy)))
	perRestore := misses / busy
	p.restoreParts, p.restorePartKeys = p.restoreParts[:0], p.restorePartKeys[:0]
	p.restoreNodes, p.restoreKeys = p.restoreNodes[:0], p.restoreKeys[:0]
	if p.missParts == nil {
		p.missParts = make([]bool, len(r.processed))
	}
	for _, ref := range p.refs {
		part := ref.Partition
		i := slices.Index(p.restoreParts, part)
		if i < 0 {
			i = len(p.restoreParts)
			p.restoreParts, p.restorePartKeys = append(p.restoreParts, part), append(p.restorePartKeys, 0)
			if !p.missParts[part] {
				p.missParts[part] = true
				p.missPartsN++
			}
		}
		p.restorePartKeys[i]++
	}
	for i, part := range p.restoreParts {
		node := r.redis.nodeOf(part)
		j := slices.Index(p.restoreNodes, node)
		if j < 0 {
			j = len(p.restoreNodes)
			p.restoreNodes, p.restoreKeys = append(p.restoreNodes, node), append(p.restoreKeys, 0)
		}
		p.restoreKeys[j] += p.restorePartKeys[i]
	}
	d := touched(float64(p.missPartsN), perRestore)
	n := touched(float64(r.redis.shards()), d)
	m.Keys, m.PerAction = k, perRestore
	m.KeyedTrips = busy * n / sharesOf(p.restoreKeys, k, perRestore)
	m.KeyedOps = busy * d / sharesOf(p.restorePartKeys, k, perRestore)
}

// touched is how many of n bins keys keys thrown at random fill: n(1 − (1 −
// 1/n)^keys), at least one.
func touched(n, keys float64) float64 {
	if n <= 1 {
		return 1
	}
	return max(1, n*-math.Expm1(keys*math.Log1p(-1/n)))
}

// sharesOf adds up, over groups of counts[i] of total keys, the share of
// actions of per keys that carry one of a group's: 1 − (1 − counts[i]/total)^per.
func sharesOf(counts []int, total int, per float64) float64 {
	sum := 0.0
	for _, c := range counts {
		sum += redisnode.CarryShare(c, total, per)
	}
	return max(sum, 1e-9)
}

// partsTouched is how many of the pod's partitions a real restore or Sync of
// keys real keys touches.
func (p *pod) partsTouched(keys float64) float64 {
	return touched(float64(max(1, len(p.pos))), keys)
}

// dirty notes a key of part put since the last Sync.
func (p *pod) dirty(part int32) {
	if p.r.cfg.weight <= 1 {
		return
	}
	p.dirtied++
	if p.dirtyParts == nil {
		p.dirtyParts = make([]int, len(p.r.processed))
	}
	if p.dirtyParts[part] == 0 {
		p.dirtyList = append(p.dirtyList, part)
	}
	p.dirtyParts[part]++
}

// syncTrips sets a sampled pod's Sync to stand for the real Syncs: with
// write-through, those of the real polls in the Sync window that put a key;
// else (a checkpoint) one. Each real Sync writes its keys' partitions (of the
// pod's P, d = P(1 − (1 − 1/P)^keys) of them), a batch each, with a fence
// read per spill worker busy (min(spill_parallelism, d)). The sampled Sync
// writes the d_s partitions its keys are in; a batch carrying a partition's k
// of its keys is made by 1 − (1 − k/keys)^m of the real Syncs (m real keys
// each), and those shares are scaled to add up to d batches per real Sync.
func (p *pod) syncTrips(m *redisnode.Meter) {
	r := p.r
	if r.cfg.weight <= 1 || p.dirtied == 0 {
		return
	}
	busy := 1.0
	if r.strategy == core.WriteThrough {
		busy = max(1, r.cfg.share(p.syncWin.syncs, p.dirtied, p.syncWin.msgs))
	}
	perSync := float64(p.dirtied*r.cfg.weight) / busy
	d := p.partsTouched(perSync)
	p.dirtyCounts = p.dirtyCounts[:0]
	for _, part := range p.dirtyList {
		p.dirtyCounts = append(p.dirtyCounts, p.dirtyParts[part])
	}
	ds := float64(len(p.dirtyList))
	w := float64(r.cfg.spillParallelism)
	m.Keys, m.PerAction = p.dirtied, perSync
	m.KeyedTrips = busy * d / sharesOf(p.dirtyCounts, p.dirtied, perSync)
	m.BareTrips = busy * min(w, d) / min(w, ds)
}

// synced ends the Sync window once a Sync ran with keys put (a checkpoint that
// was not due did not run; a Sync without keys leaves the window open: the
// real polls in it may have put some), and notes whether Redis refused it: the
// store then defers its Syncs for a back-off, and so does the real one
// (missedPoll). A Sync that was itself deferred leaves the back-off as it was.
func (p *pod) synced(now time.Duration, err error) {
	if p.r.cfg.weight <= 1 || p.dirtied == 0 {
		return
	}
	p.syncWin = realPolls{}
	p.dirtied = 0
	for _, part := range p.dirtyList {
		p.dirtyParts[part] = 0
	}
	p.dirtyList = p.dirtyList[:0]
	if !errors.Is(err, core.ErrSyncDeferred) {
		p.backoff = p.store.SyncDeferred()
		p.retryAt = now + p.backoff
	}
}
