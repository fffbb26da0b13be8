package sim

import (
	"fmt"
	"time"

	"github.com/spillway-sim/spillway/core"
	"github.com/spillway-sim/spillway/sim/internal/pool"
)

// Working ahead: each tick, the pods first work on helper goroutines, in
// parallel, as far as they can without Redis or the group; then the serial pass
// (step) settles each pod's deferred effects and lets it finish its work, pod by
// pod in slot order, exactly as if the whole tick had run serially.
//
// Why the result is the same byte for byte, whatever the number of helpers:
//
//   - While working ahead, a pod touches only what is its own: its store, cursor,
//     positions and buffers, and the per-partition and per-key entries of the
//     partitions it owns (processed offsets, series names). It reads what no one
//     changes during a tick: the log (appended before the pods work, trimmed after),
//     the group's assignment, the workload's immutable facts, the clock.
//   - It stops before the first step that reaches Redis or the group — a restore
//     of keys missing from memory, a sync, a commit — and leaves that step for the
//     serial pass. Those are the only steps whose outcome depends on other pods
//     (the Redis models' memory, queueing and eviction depend on the order of calls).
//   - Its effects on shared state — counters, latencies, the audit, and each key's
//     fate and Redis history, which other pods' Redis calls also update through
//     eviction and expiry callbacks — go to its tally, an ordered log that the
//     serial pass applies at the pod's turn, before it continues. So every shared
//     write, every judgement of why a context was lost, and every Redis call happens
//     in the order the serial simulator would make them.
//
// A judgement of a lost or stale context reads shared state (the key's fate), so it
// is deferred too, as an effect, and made when the tally is applied.

// effect is one deferred effect of processing a record on shared state.
type effect struct {
	kind     effectKind
	restored core.Outcome // effStale, effLost: the record's restore outcome
	part     int32        // effAudit
	k        uint32       // effStale, effLost, effInMemory
}

type effectKind uint8

const (
	effAudit    effectKind = iota // the pod processed a record of part (audit.go)
	effStale                      // the record found an older context: judge why
	effLost                       // the record found no context: judge why
	effInMemory                   // the pod now holds k's latest context
)

// effects is the one way a pod's processing reaches shared state (counters,
// latencies, the audit, each key's fate): applied at once in the serial pass
// (applyNow), or recorded in the pod's tally while it works ahead and applied at
// its turn in the serial pass (settle). poll picks one; process and the poll loop
// only call it.
type effects interface {
	// counts returns the counters to add this record's counts to.
	counts() *counters
	// effect applies or records e.
	effect(e effect)
	// latency applies or records one message's latency.
	latency(d time.Duration, n int64) // n messages took d
}

// applyNow applies a pod's effects to the runner at once: the serial pass.
type applyNow struct{ p *pod }

func (a applyNow) counts() *counters { return &a.p.r.c }

func (a applyNow) effect(e effect) { a.p.apply(e) }

func (a applyNow) latency(d time.Duration, n int64) {
	a.p.r.lat.addN(d, n)
	a.p.r.latWindow.addN(d, n)
}

// tally is what a pod did while working ahead, recorded in order for the serial
// pass to apply (settle); it implements effects.
type tally struct {
	c         counters
	latencies []latencyN
	effects   []effect
	lastAudit int32 // the partition of the last effAudit (-1: none); repeats are idempotent
	pending   bool
}

func (t *tally) counts() *counters {
	t.pending = true
	return &t.c
}

func (t *tally) effect(e effect) {
	t.pending = true
	if e.kind == effAudit {
		if e.part == t.lastAudit {
			return
		}
		t.lastAudit = e.part
	}
	t.effects = append(t.effects, e)
}

func (t *tally) latency(d time.Duration, n int64) {
	t.pending = true
	t.latencies = append(t.latencies, latencyN{d, n})
}

// latencyN is n messages' latency d.
type latencyN struct {
	d time.Duration
	n int64
}

// effectsFor is where the pod's effects go: recorded in its tally while it
// works ahead, else applied now.
func (p *pod) effectsFor(ahead bool) effects {
	if ahead {
		return &p.tally
	}
	return applyNow{p}
}

// apply makes effect e on the runner's state.
func (p *pod) apply(e effect) {
	r := p.r
	switch e.kind {
	case effAudit:
		if r.streams != nil {
			r.streams.audit(p, e.part)
		} else {
			r.auditProcess(p, e.part)
		}
	case effStale:
		r.c.staleBy[r.staleCause(e.k, e.restored)]++
	case effLost:
		r.c.lostBy[r.causeOf(e.k, e.restored)]++
	case effInMemory:
		r.fate.inMemory(e.k, p.index)
		r.redisGone[e.k] = 0
	default:
		panic(fmt.Sprintf("sim: unknown effect kind %d", e.kind))
	}
}

// settle applies the pod's tally, in the order it was recorded.
func (p *pod) settle() {
	t := &p.tally
	if !t.pending {
		return
	}
	r := p.r
	for _, e := range t.effects {
		p.apply(e)
	}
	for _, l := range t.latencies {
		r.lat.addN(l.d, l.n)
		r.latWindow.addN(l.d, l.n)
	}
	r.c.add(&t.c)
	r.aheadMessages += t.c.messages
	*t = tally{c: counters{}, latencies: t.latencies[:0], effects: t.effects[:0], lastAudit: -1}
}

// add adds o's counts to c (spillMax: the larger).
func (c *counters) add(o *counters) {
	c.messages += o.messages
	c.replayed += o.replayed
	c.needed += o.needed
	c.ok += o.ok
	c.lost += o.lost
	c.staleUsed += o.staleUsed
	for i := range c.lostBy {
		c.lostBy[i] += o.lostBy[i]
		c.staleBy[i] += o.staleBy[i]
	}
	c.localHits += o.localHits
	c.restored += o.restored
	c.staleDiscard += o.staleDiscard
	c.redisMissed += o.redisMissed
	c.restoreFailed += o.restoreFailed
	c.spilledKeys += o.spilledKeys
	c.spillBytes += o.spillBytes
	c.spillFailed += o.spillFailed
	c.fencedWrites += o.fencedWrites
	c.spillRewritten += o.spillRewritten
	c.spillMax = max(c.spillMax, o.spillMax)
	c.commitsFailed += o.commitsFailed
	c.crashes += o.crashes
}

// helpers runs the pods' work ahead on a pool of goroutines (sim/internal/pool,
// which knows nothing of pods) and decides which ticks are worth it.
type helpers struct {
	pool       *pool.Pool
	minRecords int // Options.ParallelMinRecords
}

// defaultMinRecords is Options.ParallelMinRecords's default.
const defaultMinRecords = 64

// newHelpers starts a pool of n goroutines, the caller's included (n ≤ 1: none;
// the pods work serially).
func newHelpers(n, minRecords int) *helpers {
	if minRecords <= 0 {
		minRecords = defaultMinRecords
	}
	return &helpers{pool: pool.New(n), minRecords: minRecords}
}

// parallel reports whether a tick with pods and records is worth working on in
// parallel. When it is not, the serial pass does all the work, which gives the
// same result.
func (h *helpers) parallel(pods, records int) bool {
	return h.pool.Size() > 1 && pods >= 2 && records >= h.minRecords
}

// workAhead lets pods work ahead up to now, in parallel, and has extra (when not
// nil) run once by a helper or by the caller. It returns when every pod has
// stopped; a panic of a pod's work is raised again here.
func (h *helpers) workAhead(pods []*pod, now time.Duration, extra func()) {
	h.pool.Run(len(pods), func(i int) { pods[i].poll(now, true) }, extra)
}

func (h *helpers) close() { h.pool.Close() }

// held is the step a pod working ahead stopped before, left for the serial pass.
type held uint8

const (
	heldNone     held = iota
	heldRestore       // a fetched batch's restore from Redis (heldBatch)
	heldBatchEnd      // the end of a processed batch: its sync and commit
	heldFinished      // nothing: the pod is done with this tick
)
