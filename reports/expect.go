package reports

import (
	"fmt"

	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim"
)

// Outcome is one expectation checked against one run: scenarios.Evaluate's
// outcome, with a terminal line that formats values as the report does.
type Outcome struct {
	scenarios.Outcome
}

// String is one line for a terminal or a report: the scenarios.Failure text for
// a failure ("scale-in: run spill: context_loss_ratio = 0.03 is above max
// 0.01"), and "<scenario>: run <run>: <metric> = <value> within <bound>" for a pass.
func (o Outcome) String() string {
	if !o.Pass {
		return o.Failure().String()
	}
	return fmt.Sprintf("%s: run %s: %s = %s within %s", o.Scenario, o.Run, o.Metric,
		FormatMetric(sim.Metric{Name: o.Metric, Value: o.Value}), o.Bound)
}

// CheckExpectations tests every expectation of the result's scenario against
// every run it applies to — by variant and sweep point, as each run was planned
// (Result.Plan, RunResult.Run) — with scenarios.Evaluate, the one checker.
// Passes are listed too, in run order then expectation order.
func CheckExpectations(res *sim.Result) []Outcome {
	if res == nil || res.Plan == nil || res.Plan.Scenario == nil {
		return nil
	}
	sc := res.Plan.Scenario
	runs := make([]scenarios.Run, 0, len(res.Runs))
	var results []*sim.RunResult
	for _, r := range res.Runs {
		if r != nil {
			runs = append(runs, scenarios.Run{Label: r.Label, Variant: r.Variant, Point: r.Point, Cell: r.Run.Cell,
				Seed: r.Run.Seed, SeedIndex: r.Run.SeedIndex, Scenario: r.Run.Scenario})
			results = append(results, r)
		}
	}
	var out []Outcome
	for _, o := range scenarios.Evaluate(sc.Name, runs, sc.Expect, func(i int, metric string) (float64, bool) {
		return results[i].Summary.Get(metric)
	}) {
		out = append(out, Outcome{o})
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
