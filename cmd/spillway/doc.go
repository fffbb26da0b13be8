// Command spillway runs Spillway scenarios and writes their reports.
//
//	spillway run [-out DIR] [-seed N] [-repeat N] [-shard i/N] [-quiet] [-parallel N] [-force] [-set PATH=VALUE]... SCENARIO...
//	spillway merge [-out DIR] [-quiet] PARTIAL...
//	spillway validate SCENARIO...
//	spillway list
//	spillway help [VERB]
//
// SCENARIO is a shipped scenario name (the library embedded in the binary) or
// a path to a YAML file. run executes every variant and sweep point of each
// scenario, up to -parallel at once (default: every CPU); the results are
// assembled in the scenario's order, so results.json is byte-identical to a
// serial run. Each scenario's report goes to DIR/<name>/ (reports.Write), a
// summary table to stdout, expectation failures to stderr. A scenario whose
// estimated simulator memory (scenarios.EstimateFootprint) exceeds
// MemAvailable is refused unless -force; when several runs would not fit at
// once, fewer run in parallel.
//
// -repeat N runs every variant and sweep point with N seeds (the scenario's
// repeat). -shard i/N runs only slice i of N of the runs and writes
// DIR/<name>/partial-i-of-N.json instead of a report; merge joins the
// partials of every slice into the report the unsharded run writes, byte for
// byte, after checking they come from one scenario file, one build, one seed
// and repeat and one shard count (shard.go). Progress: a bar with an ETA on a
// terminal; off one (or with CI=true), plain lines for repeated and sharded runs.
//
// Exit status: 0 ok, 1 an expectation failed, 2 bad input or usage (or a run
// that could not complete). The verbs and flags are a contract.
//
// The CLI owns flag parsing, scheduling runs on cores, sharding, the progress
// display (on stderr) and the exit codes; it
// must not compute anything a report shows (that is reports') or touch what a
// run computes. It may read the wall clock, for the progress bar and the
// elapsed time it prints, never for a result.
package main
