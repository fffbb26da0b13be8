// Package pool runs a tick's independent work items on a few goroutines, the
// caller's included, many times a second: the simulator's pods working ahead
// within a tick (sim/ahead.go). It knows nothing of pods, the engine or time:
// a job is a count of items and a function of an item's index.
//
// A tick's work is short (tens of microseconds per item), shorter than it takes
// to wake a parked goroutine, so a helper that has finished a job spins for a
// while (yielding to anything else runnable) waiting for the next one, and
// parks only when none comes. Which goroutine takes which item is not fixed:
// the caller must make the items' results independent of that.
//
//	p := pool.New(4)         // 3 helper goroutines + the caller
//	defer p.Close()
//	p.Run(len(items), func(i int) { items[i].work() }, nil)
package pool
