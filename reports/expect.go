package reports

import (
	"fmt"
	"strings"

	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim"
)

// Outcome is one expectation checked against one run.
type Outcome struct {
	// Run is the run's label; Variant its variant.
	Run, Variant string
	// Metric is the bounded summary metric.
	Metric string
	// Bound is the bound as written: "max 0.01", "min 1GiB", "min 0, max 5".
	// For a failure, only the violated bound.
	Bound string
	// Value is the metric's value (0 when Missing).
	Value float64
	// Missing is true when the run did not report the metric (a failure).
	Missing bool
	// Pass is true when the run met the expectation.
	Pass bool
	// Failure is the failure as scenarios.Check reports it; zero when Pass.
	Failure scenarios.Failure
}

// String is one line for a terminal or a report: the scenarios.Failure text for
// a failure ("scale-in: run spill: context_loss_ratio = 0.03 is above max
// 0.01"), and "<scenario>: run <run>: <metric> = <value> within <bound>" for a pass.
func (o Outcome) String() string {
	if !o.Pass {
		return o.Failure.String()
	}
	return fmt.Sprintf("%s: run %s: %s = %s within %s", o.Failure.Scenario, o.Run, o.Metric,
		FormatMetric(sim.Metric{Name: o.Metric, Value: o.Value}), o.Bound)
}

// CheckExpectations tests every expectation of sc against every run of res it
// applies to (all runs, or those of its variant), in run order then
// expectation order, with scenarios.Check's rules. Passes are listed too.
func CheckExpectations(sc *scenarios.Scenario, res *sim.Result) []Outcome {
	if sc == nil || res == nil {
		return nil
	}
	var out []Outcome
	for _, r := range res.Runs {
		if r == nil {
			continue
		}
		run := scenarios.Run{Label: r.Label, Variant: r.Variant}
		lookup := func(label, metric string) (float64, bool) { return r.Summary.Get(metric) }
		for _, e := range sc.Expect {
			if e.Variant != "" && e.Variant != r.Variant {
				continue
			}
			v, ok := r.Summary.Get(e.Metric)
			o := Outcome{Run: r.Label, Variant: r.Variant, Metric: e.Metric, Bound: boundText(e), Value: v,
				Missing: !ok, Pass: true, Failure: scenarios.Failure{Scenario: sc.Name, Run: r.Label}}
			if f := scenarios.Check(sc.Name, []scenarios.Run{run}, []scenarios.Expectation{e}, lookup); len(f) > 0 {
				o.Pass, o.Failure, o.Bound, o.Value = false, f[0], f[0].Bound, f[0].Value
			}
			out = append(out, o)
		}
	}
	return out
}

// Failures returns the outcomes that did not pass.
func Failures(outcomes []Outcome) []Outcome {
	var out []Outcome
	for _, o := range outcomes {
		if !o.Pass {
			out = append(out, o)
		}
	}
	return out
}

func boundText(e scenarios.Expectation) string {
	var parts []string
	if e.Min != nil {
		parts = append(parts, "min "+e.Min.String())
	}
	if e.Max != nil {
		parts = append(parts, "max "+e.Max.String())
	}
	return strings.Join(parts, ", ")
}
