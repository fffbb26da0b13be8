package engine

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Epoch is the wall-clock instant that virtual time zero maps to in Clock. It is a
// fixed date so that timestamps a run writes (envelopes, miniredis time) never
// depend on when the run happened.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Engine is a discrete-event simulator: a virtual clock and a queue of events.
// It is not safe for concurrent use; events run on the goroutine that calls Run.
type Engine struct {
	now    time.Duration
	seq    uint64
	q      queue
	master *rand.Rand
	steps  uint64
	slab   []Timer // the rest of the current timer slab (see newTimer)
}

// Timer is a scheduled event. Stop prevents it from running if it has not run yet.
// A Timer is never reused for another event, so a late Stop is always harmless.
type Timer struct {
	// at is the event's time while it is pending and ^at (negative, as event
	// times never are) once it has been stopped or has run. One word per Timer
	// halves the slabs the engine allocates, most of its garbage.
	at time.Duration
}

// timerSlab is how many Timers one allocation holds. Timers hold no pointers,
// so a slab is one small no-scan object; it lives while any of its Timers is
// referenced (a caller keeping one Timer keeps timerSlab·8 bytes).
const timerSlab = 128

// pending reports whether the timer's event is still queued and not stopped.
func (t *Timer) pending() bool { return t.at >= 0 }

// settle marks the timer stopped or run: from now on Stop reports false.
func (t *Timer) settle() { t.at = ^t.at }

// Stop cancels the event. It reports whether the event was still pending.
func (t *Timer) Stop() bool {
	if t == nil || !t.pending() {
		return false
	}
	t.settle()
	return true
}

// At reports the virtual time the timer was scheduled for.
func (t *Timer) At() time.Duration {
	if t.pending() {
		return t.at
	}
	return ^t.at
}

// New returns an engine at virtual time zero whose randomness all derives from seed.
func New(seed uint64) *Engine {
	return &Engine{master: rand.New(rand.NewPCG(seed, 0x5eed5eed5eed5eed))}
}

// Now is the current virtual time since the start of the run.
func (e *Engine) Now() time.Duration { return e.now }

// Time is the current virtual time as a wall-clock instant (Epoch + Now).
func (e *Engine) Time() time.Time { return Epoch.Add(e.now) }

// Clock returns a func reporting Time, for code that takes a clock.
func (e *Engine) Clock() func() time.Time { return e.Time }

// Steps is the number of events run so far.
func (e *Engine) Steps() uint64 { return e.steps }

// NewRand draws a new, independent generator from the run's master generator.
// Components must call it in a fixed order (TigerBeetle's VOPR rule): a component
// added later draws last and never reorders the draws of the others.
func (e *Engine) NewRand() *rand.Rand {
	return rand.New(rand.NewPCG(e.master.Uint64(), e.master.Uint64()))
}

// Schedule runs fn at virtual time at. A time in the past is an invariant
// violation and panics: events cannot be scheduled before Now.
func (e *Engine) Schedule(at time.Duration, fn func()) *Timer {
	if at < e.now {
		panic(fmt.Sprintf("engine: event scheduled at %v, before now %v", at, e.now))
	}
	e.seq++
	t := e.newTimer(at)
	e.q.push(event{at: at, seq: e.seq, fn: fn, t: t})
	return t
}

// newTimer hands out the next Timer of the current slab, allocating a new slab
// when it is used up. Slab entries are handed out once and never recycled.
func (e *Engine) newTimer(at time.Duration) *Timer {
	if len(e.slab) == 0 {
		e.slab = make([]Timer, timerSlab)
	}
	t := &e.slab[0]
	e.slab = e.slab[1:]
	t.at = at
	return t
}

// After runs fn d after Now. A negative d is treated as zero.
func (e *Engine) After(d time.Duration, fn func()) *Timer {
	if d < 0 {
		d = 0
	}
	return e.Schedule(e.now+d, fn)
}

// Pending is the number of scheduled events, stopped ones included until they
// reach the head of the queue.
func (e *Engine) Pending() int { return len(e.q) }

// Next reports the time of the earliest pending event that has not been stopped.
func (e *Engine) Next() (time.Duration, bool) {
	if !e.dropStopped() {
		return 0, false
	}
	return e.q[0].at, true
}

// dropStopped pops stopped events off the head of the queue and reports whether
// a live event remains.
func (e *Engine) dropStopped() bool {
	for len(e.q) > 0 {
		if e.q[0].t.pending() {
			return true
		}
		e.q.pop()
	}
	return false
}

// Step runs the earliest pending event and reports whether there was one.
func (e *Engine) Step() bool {
	if !e.dropStopped() {
		return false
	}
	e.run(e.q.pop())
	return true
}

// run runs a popped live event.
func (e *Engine) run(ev event) {
	ev.t.settle()
	e.now = ev.at
	e.steps++
	ev.fn()
}

// RunUntil runs every event scheduled at or before end, in (time, seq) order,
// then sets the clock to end.
func (e *Engine) RunUntil(end time.Duration) {
	for e.dropStopped() && e.q[0].at <= end {
		e.run(e.q.pop())
	}
	if end > e.now {
		e.now = end
	}
}

// Run runs events until the queue is empty.
func (e *Engine) Run() {
	for e.Step() {
	}
}

// event is one queued event. The queue holds events by value, so ordering them
// never follows a pointer; t is only read when the event reaches the head.
type event struct {
	at  time.Duration
	seq uint64
	fn  func()
	t   *Timer
}

// before is the queue's order: time, then insertion sequence. seq is unique, so
// the order is total and any correct heap pops events in the same order.
func (a *event) before(b *event) bool {
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

// queue is a 4-ary min-heap of events on a slice (children of i are 4i+1..4i+4):
// half the depth of a binary heap, and no interface calls as with container/heap.
type queue []event

// push adds ev.
func (q *queue) push(ev event) {
	h := append(*q, ev)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 4
		if !ev.before(&h[p]) {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = ev
	*q = h
}

// pop removes and returns the earliest event. The queue must not be empty.
func (q *queue) pop() event {
	h := *q
	top := h[0]
	n := len(h) - 1
	last := h[n]
	h[n] = event{} // drop the references to fn and the Timer
	h = h[:n]
	*q = h
	if n == 0 {
		return top
	}
	i := 0
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c // the earliest child
		for j := c + 1; j < min(c+4, n); j++ {
			if h[j].before(&h[m]) {
				m = j
			}
		}
		if !h[m].before(&last) {
			break
		}
		h[i] = h[m]
		i = m
	}
	h[i] = last
	return top
}
