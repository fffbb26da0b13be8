// Package scenarios owns the scenario schema (version 1, docs/design.md "Scenario
// contract"): the Go types, a strict loader, the documented defaults,
// validation, overrides for variants and sweeps, expectations on summary
// metrics, and the library of shipped scenario files embedded in the binary.
//
// It must not import the simulator or anything under core/ or sim/: the layering
// is scenarios <- sim <- reports <- cmd. It does no I/O beyond reading the file
// it is asked to load, and nothing in it depends on time or randomness.
//
// Loading is strict decode, EnsureDefaults, Validate (as pebble's options):
//
//   - The decoder walks the YAML node tree against the Go types, so every error
//     names file, line and dotted field path, with a hint: unknown fields get
//     the closest valid name, durations must carry a unit ("30" → "write e.g.
//     30s"), sizes take KiB/MiB/GiB/TiB or SI KB/MB/GB/TB but not redis.conf's
//     ambiguous "gb". Decoding goes on after an error; every problem is reported
//     at once, sorted by line, as FieldErrors joined with errors.Join (all match
//     ErrInvalid).
//   - A file is decoded on top of the defaults (defaults.go, one table citing the
//     real systems), so an omitted field gets its default and a written zero
//     stays zero: "termination_grace: 0s" means an immediate SIGKILL, while
//     "duration: 0s" is an error, not a gap to fill.
//   - Validate checks ranges and cross-field rules, then expands every variant
//     and sweep point and validates each run, so a bad override fails at load
//     time with the line of the override.
//
// Runs: without variants a scenario has one run, "default". Variants are runs
// side by side; a sweep repeats every variant for each value of one field
// (variants outer, values inner, both in file order), labelled
// "variant/field=value" ("field=value" without variants). A run's Scenario has
// its overrides applied and no variants, sweep or expectations of its own.
//
// Units: Duration and Size marshal to canonical text ("1h30m", "64MiB"), so
// Resolved, written beside every report, parses back to an identical Scenario.
// Summary metrics are compared in bytes for sizes and seconds for durations.
//
// Usage:
//
//	s, err := scenarios.Open("scale-in")       // or a path: "my/run.yaml"
//	if err != nil { ... }                      // "scale-in.yaml:14: consumers.termination_grace: ..."
//	resolved, _ := s.Resolved()                // write beside the report
//	plan, _ := s.Plan()                        // every run, once: variants x sweep values
//	res, _ := sim.Run(ctx, plan, sim.Options{}) // each result carries its Run
//	outcomes := scenarios.Evaluate(s.Name, plan.Runs, s.Expect, func(i int, metric string) (float64, bool) { ... })
//
//	quick, err := s.With(map[string]any{"redis.maxmemory": "3GiB", "state.strategy": "memory-only"})
package scenarios
