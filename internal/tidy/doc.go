// Package tidy holds no code: its test, TestTidy, enforces the repository's
// house rules that no compiler or linter checks.
//
//   - No wall clock and no global generator on a simulated path: the non-test
//     Go files under core/ and sim/ do not call time.Now, Since, Until, Sleep,
//     After, AfterFunc, Tick, NewTimer or NewTicker, nor import math/rand (v1),
//     except on a line marked "// wallclock-ok" (core's production clock and
//     retry back-off). Tests are exempt: they time real servers.
//   - One package comment per package, in its doc.go: go doc prints nothing
//     else (a "Behavior:" block is separated from the package clause by a
//     blank line).
//   - Every path the README's tables name exists.
//
// Run it with go test ./internal/tidy; make test runs it with everything else.
package tidy
