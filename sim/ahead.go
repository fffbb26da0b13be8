package sim

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spillway-sim/spillway/core"
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

// tally is what a pod did while working ahead, for the serial pass to apply.
type tally struct {
	c         counters
	latencies []time.Duration
	effects   []effect
	lastAudit int32 // the partition of the last effAudit (-1: none); repeats are idempotent
	pending   bool
}

// effect applies e now, or defers it to the tally while the pod works ahead.
func (p *pod) effect(e effect) {
	if !p.ahead {
		p.apply(e)
		return
	}
	t := &p.tally
	if e.kind == effAudit {
		if e.part == t.lastAudit {
			return
		}
		t.lastAudit = e.part
	}
	t.effects = append(t.effects, e)
}

func (p *pod) apply(e effect) {
	r := p.r
	switch e.kind {
	case effAudit:
		r.auditProcess(p, e.part)
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

// latency records one message's latency.
func (p *pod) latency(d time.Duration) {
	if p.ahead {
		p.tally.latencies = append(p.tally.latencies, d) // process sets pending
		return
	}
	p.r.lat.add(d)
	p.r.latWindow.add(d)
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
	for _, d := range t.latencies {
		r.lat.add(d)
		r.latWindow.add(d)
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

// helpers runs the pods' work ahead on n goroutines (the caller's included).
//
// A tick's work ahead is short (tens of microseconds per pod), shorter than it
// takes to wake a parked goroutine, so a helper that has finished a tick spins
// for a while (yielding to anything else runnable) waiting for the next one, and
// parks only when none comes. Which goroutine works on which pod does not matter
// to the result.
type helpers struct {
	n          int
	minRecords int                      // Options.ParallelMinRecords
	offer      atomic.Pointer[aheadJob] // the latest tick's job
	parked     atomic.Int32             // helpers parked on wake
	wake       chan struct{}
	quit       atomic.Bool
	helped     atomic.Int64   // pods worked on by helpers (not the simulator's goroutine), for tests
	wg         sync.WaitGroup // the goroutines, for close
}

// An idle helper checks for the next tick's job spinChecks times before it
// parks — at a few ns per check, somewhat longer than a tick's serial part — and
// yields the processor every yieldEvery checks. (Yielding on every check costs
// more: each yield takes the scheduler's global lock.)
const (
	spinChecks = 1 << 17
	yieldEvery = 256
)

// aheadJob is one tick's work ahead: pods taken in turn by whoever is free.
type aheadJob struct {
	pods       []*pod
	now        time.Duration
	next       atomic.Int32 // the next pod to take
	active     atomic.Int32 // goroutines working on the job's pods
	extra      func()       // a task for whoever comes first (the next tick's emission)
	extraTaken atomic.Bool
	mu         sync.Mutex
	panic      any // the first panic of a helper, re-raised on the simulator's goroutine
}

// defaultMinRecords is Options.ParallelMinRecords's default.
const defaultMinRecords = 64

// newHelpers starts n-1 goroutines (n ≤ 1: none; the pods work serially).
func newHelpers(n, minRecords int) *helpers {
	if minRecords <= 0 {
		minRecords = defaultMinRecords
	}
	h := &helpers{n: n, minRecords: minRecords}
	if n <= 1 {
		return h
	}
	h.wake = make(chan struct{}, n-1)
	h.wg.Add(n - 1)
	for range n - 1 {
		go h.loop()
	}
	return h
}

func (h *helpers) loop() {
	defer h.wg.Done()
	var last *aheadJob
	for {
		j := h.await(last)
		if j == nil {
			return
		}
		last = j
		j.runExtra()
		h.helped.Add(int64(j.work()))
	}
}

// await returns the job on offer once it is not last; nil when closing.
func (h *helpers) await(last *aheadJob) *aheadJob {
	for i := 0; ; i++ {
		if h.quit.Load() {
			return nil
		}
		if j := h.offer.Load(); j != nil && j != last {
			return j
		}
		if i < spinChecks {
			if i%yieldEvery == yieldEvery-1 {
				runtime.Gosched() // let the emitter or the GC have the processor
			}
			continue
		}
		// Park. The offer is checked again after announcing it, so an offer
		// made in between either is seen here or sees this helper parked.
		h.parked.Add(1)
		if j := h.offer.Load(); (j == nil || j == last) && !h.quit.Load() {
			<-h.wake
		}
		h.parked.Add(-1)
		i = 0
	}
}

// parallel reports whether a tick with pods and records is worth working on in
// parallel. When it is not, the serial pass does all the work, which gives the
// same result.
func (h *helpers) parallel(pods, records int) bool {
	return h.n > 1 && pods >= 2 && records >= h.minRecords
}

// workAhead lets pods work ahead up to now, in parallel, and has extra (when not
// nil) run once by a helper — or by the caller, at the end, if no helper came.
// It returns when every pod has stopped; a helper may still be running extra.
func (h *helpers) workAhead(pods []*pod, now time.Duration, extra func()) {
	j := &aheadJob{pods: pods, now: now, extra: extra}
	h.offer.Store(j)
	for range h.parked.Load() {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
	j.work()
	j.runExtra()
	for i := 1; j.active.Load() > 0; i++ { // a helper is finishing its last pod
		if i%yieldEvery == 0 {
			runtime.Gosched()
		}
	}
	h.offer.Store(nil) // let the job and its pods go
	if j.panic != nil {
		panic(j.panic)
	}
}

// runExtra runs the job's extra task unless someone has.
func (j *aheadJob) runExtra() {
	if j.extra != nil && j.extraTaken.CompareAndSwap(false, true) {
		j.extra()
	}
}

// work takes pods until none is left and returns how many it took; run by every
// goroutine taking part, the simulator's included. A helper that comes late finds
// none: the job is done.
func (j *aheadJob) work() (took int) {
	j.active.Add(1) // before taking a pod, so workAhead waits for it
	defer j.active.Add(-1)
	defer func() {
		if v := recover(); v != nil {
			j.mu.Lock()
			if j.panic == nil {
				j.panic = v
			}
			j.mu.Unlock()
			j.next.Store(int32(len(j.pods))) // the others stop too
		}
	}()
	for {
		i := int(j.next.Add(1)) - 1
		if i >= len(j.pods) {
			return
		}
		j.pods[i].poll(j.now, true)
		took++
	}
}

func (h *helpers) close() {
	if h.n > 1 && !h.quit.Swap(true) {
		close(h.wake)
		h.wg.Wait()
	}
}

// held is the step a pod working ahead stopped before, left for the serial pass.
type held uint8

const (
	heldNone     held = iota
	heldRestore       // a fetched batch's restore from Redis (heldBatch)
	heldBatchEnd      // the end of a processed batch: its sync and commit
	heldFinished      // nothing: the pod is done with this tick
)
