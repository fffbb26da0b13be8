// Package sim runs the real core against a simulated world and measures what it
// loses: one engine, one virtual clock, one seeded RNG per run.
//
// It owns the wiring (workload → broker log → pods → Redis fleet), the pods (each
// a Kubernetes pod running one Kafka consumer with a real core.Store over go-redis
// to an in-process miniredis), the timeline of events and controllers (scale,
// crash, rolling restart, pause, HPA, Redis faults), the context accounting
// against per-message ground truth with a cause for every loss, and the Result:
// plain data, byte-identical for the same scenario and seed.
//
// Pods live in this package rather than in a fleet package of their own: a pod's
// poll loop, its spill bookkeeping and the accounting share the per-key ground
// truth (where each key's latest context is), and splitting them would put that
// state behind a wide interface.
//
// It must not read wall time or the global RNG, and nothing it reports may depend
// on goroutine order or map iteration. Within a tick the pods work in parallel as
// far as each can without Redis or the group, then finish one by one in a fixed
// order (ahead.go): a run's result is the same for any Options.PodWorkers.
//
//	sc, _ := scenarios.Open("scale-in")
//	plan, _ := sc.Plan()                          // every variant and sweep point, once
//	res, err := sim.Run(ctx, plan, sim.Options{}) // Options: Parallel, OnRun, PodWorkers
//	lost, _ := res.Runs[0].Summary.Get("context_lost")
package sim
