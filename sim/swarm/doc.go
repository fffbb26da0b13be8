// Package swarm is swarm testing for the simulator: from one seed it draws a
// small random scenario (fleet, log, state strategy, Redis and a timeline of
// faults), runs the real core through it, and checks named invariants on the
// result. Every failure is replayable from its seed alone, and the drawn
// scenario is YAML text that `spillway run FILE` replays exactly.
//
// It owns the drawing (Draw), the invariants (Invariants, Evaluate) and the
// per-seed driver (Check). It must not read wall time or the global math/rand:
// a seed is the only source of variation, so a report is the same bytes on
// every machine. Progress, timing and budgets belong to the caller (the CLI).
//
// Usage:
//
//	rep := swarm.Check(ctx, 7)
//	for _, v := range rep.Violations {
//		fmt.Printf("seed %d: FAIL %s: %s\n", rep.Seed, v.Invariant, v.Detail)
//	}
//	os.WriteFile("swarm-seed-7.yaml", rep.YAML, 0o644)
package swarm
