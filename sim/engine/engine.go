package engine

import (
	"container/heap"
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
	q      eventQueue
	master *rand.Rand
	steps  uint64
}

// Timer is a scheduled event. Stop prevents it from running if it has not run yet.
type Timer struct {
	at       time.Duration
	seq      uint64
	fn       func()
	index    int // position in the heap, -1 once popped or stopped
	canceled bool
}

// Stop cancels the event. It reports whether the event was still pending.
func (t *Timer) Stop() bool {
	if t == nil || t.canceled || t.index < 0 {
		return false
	}
	t.canceled = true
	return true
}

// At reports the virtual time the timer was scheduled for.
func (t *Timer) At() time.Duration { return t.at }

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
	t := &Timer{at: at, seq: e.seq, fn: fn}
	heap.Push(&e.q, t)
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
	for len(e.q) > 0 {
		if t := e.q[0]; !t.canceled {
			return t.at, true
		}
		heap.Pop(&e.q)
	}
	return 0, false
}

// Step runs the earliest pending event and reports whether there was one.
func (e *Engine) Step() bool {
	for len(e.q) > 0 {
		t := heap.Pop(&e.q).(*Timer)
		if t.canceled {
			continue
		}
		e.now = t.at
		e.steps++
		t.fn()
		return true
	}
	return false
}

// RunUntil runs every event scheduled at or before end, in (time, seq) order,
// then sets the clock to end.
func (e *Engine) RunUntil(end time.Duration) {
	for {
		at, ok := e.Next()
		if !ok || at > end {
			break
		}
		e.Step()
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

type eventQueue []*Timer

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index = i
	q[j].index = j
}
func (q *eventQueue) Push(x any) {
	t := x.(*Timer)
	t.index = len(*q)
	*q = append(*q, t)
}
func (q *eventQueue) Pop() any {
	old := *q
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	t.index = -1
	*q = old[:n-1]
	return t
}
