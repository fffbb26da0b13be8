// Package summary is the contract of a run's summary: one table of metrics —
// name, unit, how the value is computed from the run's totals, and whether the
// golden summaries pin it. results.json (sim), expectations (scenarios),
// report tables (reports), docs/scenarios.md and the goldens all read it, so a
// new summary metric is one row in the table plus its line in
// docs/scenarios.md (TestDocsListEveryMetric checks the two agree).
//
//	t := summary.Totals{Needed: 8, Lost: 2}
//	m, _ := summary.Lookup("context_loss_ratio")
//	fmt.Println(m.Name, m.Unit, m.Value(&t)) // context_loss_ratio ratio 0.25
//
// IntervalOf gives a metric over the seeds of a repeated run (repeat: N) its
// mean and 95 % Student-t confidence interval; expectations (of: mean,
// ci_low, ci_high) and reports use it.
//
// The names are a contract (docs/design.md "Scenario contract"): extend,
// never rename or reorder.
package summary
