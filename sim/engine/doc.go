// Package engine is the simulator's only clock and only source of randomness.
//
// It owns a virtual clock, an event queue ordered by (time, insertion sequence) and
// one seeded PCG generator from which every component draws its own generator in a
// fixed order. Nothing else under sim/ may read wall time or the global math/rand:
// same seed and same schedule of events give the same run, on any machine.
//
// It must not import anything beyond the standard library, and it must not start
// goroutines: events run one at a time, on the goroutine that calls Run.
//
// The queue is a 4-ary heap of events held by value, and Timers are handed out
// from small pointer-free slabs and never reused, so a stale Timer's Stop can
// never cancel a later event (BenchmarkEngine in bench/ times it on M/M/1).
//
//	e := engine.New(42)
//	rng := e.NewRand()           // draw a component's generator (order matters)
//	e.After(time.Second, func() { fmt.Println(e.Now()) })
//	e.RunUntil(time.Minute)
package engine
