package sim

import (
	"fmt"
	"time"

	"github.com/spillway-sim/spillway/sim/broker"
	"github.com/spillway-sim/spillway/sim/workload"
)

// emitter computes the workload's messages one tick ahead on a second
// goroutine, so that emission (the timing wheel, the per-key state) overlaps
// with the pods' work instead of adding to it.
//
// It changes nothing about what is emitted: Workload.Emit is a pure function of
// the seed and the window, the windows are the same contiguous ticks in the same
// order, and the records are appended to the log by the simulator's goroutine,
// in emission order, at the tick they belong to. The simulator reads only the
// workload's immutable per-key facts (IsCounter, Interval) while a window is
// being computed. A window is computed ahead only when the next tick is certain
// (it is before the run's end); anything else is computed in place.
type emitter struct {
	wl      *workload.Workload
	results chan emitted
	ahead   bool          // a window is being computed
	from    time.Duration // the window being computed
	to      time.Duration
	spare   []emittedRec // a buffer to reuse
}

type emittedRec struct {
	p   int32
	rec broker.Record
}

type emitted struct {
	recs  []emittedRec
	panic any // a panic in Emit, re-raised on the simulator's goroutine
}

func newEmitter(wl *workload.Workload) *emitter {
	return &emitter{wl: wl, results: make(chan emitted, 1)}
}

// window returns the records of [from, to): computed ahead when that is the
// window in flight, in place otherwise. The slice is valid until the next call.
func (e *emitter) window(from, to time.Duration) []emittedRec {
	if e.ahead {
		res := <-e.results
		e.ahead = false
		if res.panic != nil {
			panic(res.panic)
		}
		if e.from != from || e.to != to {
			panic(fmt.Sprintf("sim: emitter computed [%v, %v) ahead but [%v, %v) was asked for", e.from, e.to, from, to))
		}
		return res.recs
	}
	return emit(e.wl, from, to, e.spare[:0])
}

// prefetch starts computing [from, to) on another goroutine: spawn is given the
// computation and must run it asynchronously (spawn: go f()). done is the buffer
// the caller finished with (reused for the next window).
func (e *emitter) prefetch(from, to time.Duration, done []emittedRec, spawn func(f func())) {
	if e.ahead {
		panic("sim: emitter: two windows in flight")
	}
	e.ahead, e.from, e.to = true, from, to
	buf := done[:0]
	spawn(func() {
		var res emitted
		defer func() {
			if p := recover(); p != nil {
				res.panic = p
			}
			e.results <- res
		}()
		res.recs = emit(e.wl, from, to, buf)
	})
}

// onGoroutine runs f on a goroutine of its own (prefetch's usual spawn).
func onGoroutine(f func()) { go f() }

// close waits for a window in flight, so that no goroutine outlives the run.
func (e *emitter) close() {
	if e.ahead {
		<-e.results
		e.ahead = false
	}
}

// emit appends the messages of [from, to) to buf.
func emit(wl *workload.Workload, from, to time.Duration, buf []emittedRec) []emittedRec {
	wl.Emit(from, to, func(p int32, k, seq uint32, at time.Duration) {
		buf = append(buf, emittedRec{p: p, rec: broker.Record{Key: k, Seq: seq, At: at}})
	})
	return buf
}
