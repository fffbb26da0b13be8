package scenarios

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spillway-sim/spillway/summary"
)

// Unit is the kind of quantity a summary metric measures (summary.Unit).
type Unit = summary.Unit

// The units of summary metrics. Sizes are reported in bytes and durations in
// seconds (float64), so that a bound written as "7GiB" or "50ms" compares as is.
const (
	UnitCount   = summary.UnitCount   // a number of things (messages, keys, ops, events)
	UnitRatio   = summary.UnitRatio   // a fraction in [0, 1]
	UnitBytes   = summary.UnitBytes   // bytes
	UnitSeconds = summary.UnitSeconds // seconds
)

func unitNoun(u Unit) string {
	switch u {
	case UnitRatio:
		return "a ratio"
	case UnitBytes:
		return "a size"
	case UnitSeconds:
		return "a duration"
	}
	return "a count"
}

// LossCauses are the causes a lost or stale context is attributed to
// (summary.LossCauses); each has a metric lost_by_cause.<cause>.
var LossCauses = summary.LossCauses

// MetricNames returns the summary metric names an expectation may bound, in
// docs/design.md order, with lost_by_cause.<cause> for every cause in LossCauses
// (summary.Names: the table in package summary is their one owner).
func MetricNames() []string { return summary.Names() }

// MetricUnit returns the unit of a summary metric, and false for an unknown name.
func MetricUnit(name string) (Unit, bool) {
	m, ok := summary.Lookup(name)
	return m.Unit, ok
}

// Failure is an expectation a run did not meet.
type Failure struct {
	// Scenario is the scenario's name.
	Scenario string
	// Run is the run's label.
	Run string
	// Metric is the bounded metric.
	Metric string
	// Bound is the violated bound, e.g. "max 0.001" or "min 7GiB".
	Bound string
	// Value is the metric's value (0 when Missing).
	Value float64
	// Missing is true when the run did not report the metric.
	Missing bool
	// Of and Seeds: for an expectation over seeds (Expectation.Of mean,
	// ci_low or ci_high), the statistic and how many seeds it is over; Run
	// is then the label the seeds share (Run.Cell). Of is "" for a per-run bound.
	Of    ExpectOf
	Seeds int
}

// String names the scenario, run, metric, bound and value.
func (f Failure) String() string {
	metric := f.Metric
	if !f.Of.perSeed() {
		metric = fmt.Sprintf("%s of %s over %d seeds", f.Of, f.Metric, f.Seeds)
	}
	if f.Missing {
		return fmt.Sprintf("%s: run %s: %s was not reported (expected %s)", f.Scenario, f.Run, metric, f.Bound)
	}
	dir := "above"
	if strings.HasPrefix(f.Bound, "min") {
		dir = "below"
	}
	return fmt.Sprintf("%s: run %s: %s = %s is %s %s", f.Scenario, f.Run, metric, formatMetric(f.Metric, f.Value),
		dir, f.Bound)
}

// Outcome is one expectation checked against one run: a pass or a failure.
type Outcome struct {
	// Scenario is the scenario's name.
	Scenario string
	// Run is the run's label; Variant and Point its variant and sweep value.
	Run, Variant, Point string
	// Metric is the bounded metric.
	Metric string
	// Bound is the bound as written ("max 0.01", "min 0, max 5"); for a
	// failure, only the violated bound.
	Bound string
	// Value is the metric's value (0 when Missing).
	Value float64
	// Missing is true when the run did not report the metric (a failure).
	Missing bool
	// Pass is true when the run met the expectation.
	Pass bool
	// Of is the statistic over seeds the bound applies to (mean, ci_low,
	// ci_high), "" for a bound on one run; Seeds is then how many seeds, and
	// Run, Variant and Point name the seeds' shared cell (Run.Cell).
	Of    ExpectOf
	Seeds int
}

// Failure returns the outcome as a Failure (meaningful when !Pass).
func (o Outcome) Failure() Failure {
	return Failure{Scenario: o.Scenario, Run: o.Run, Metric: o.Metric, Bound: o.Bound, Value: o.Value,
		Missing: o.Missing, Of: o.Of, Seeds: o.Seeds}
}

// cellOf is the label a run's seeds share: Cell, or Label when unset.
func cellOf(r Run) string {
	if r.Cell != "" {
		return r.Cell
	}
	return r.Label
}

// Evaluate is the expectation checker: it tests every expectation against
// every run it applies to — all runs, those of its variant, those at its sweep
// point, or both — in run order then expectation order, and returns every
// outcome, passes included. lookup returns run i's metric (runs[i]), false if
// the run did not report it. A run's Point must be set for an expectation that
// names a point to apply to it.
//
// An expectation with of: mean, ci_low or ci_high is checked once per cell
// (the runs sharing a Run.Cell: one variant at one sweep point, every seed),
// at the cell's first run, against that statistic of the metric over the
// cell's runs (summary.IntervalOf); a seed missing the metric fails it.
func Evaluate(scenario string, runs []Run, expect []Expectation, lookup func(run int, metric string) (float64, bool)) []Outcome {
	cells := map[string][]int{} // cell -> run indices, in run order
	for i, r := range runs {
		cells[cellOf(r)] = append(cells[cellOf(r)], i)
	}
	var out []Outcome
	for i, r := range runs {
		for _, e := range expect {
			if !e.appliesTo(r) {
				continue
			}
			var o Outcome
			if e.Of.perSeed() {
				v, ok := lookup(i, e.Metric)
				o = Outcome{Scenario: scenario, Run: r.Label, Variant: r.Variant, Point: r.Point, Metric: e.Metric,
					Bound: boundText(e), Value: v, Missing: !ok, Pass: true}
			} else {
				cell := cells[cellOf(r)]
				if cell[0] != i {
					continue // checked at the cell's first run
				}
				v, ok := overSeeds(e, cell, lookup)
				o = Outcome{Scenario: scenario, Run: cellOf(r), Variant: r.Variant, Point: r.Point, Metric: e.Metric,
					Bound: boundText(e), Value: v, Missing: !ok, Pass: true, Of: e.Of, Seeds: len(cell)}
			}
			v, ok := o.Value, !o.Missing
			switch {
			case !ok:
				o.Pass, o.Value = false, 0
			case e.Min != nil && (v < e.Min.Value || math.IsNaN(v)):
				o.Pass, o.Bound = false, "min "+e.Min.String()
			case e.Max != nil && (v > e.Max.Value || math.IsNaN(v)):
				o.Pass, o.Bound = false, "max "+e.Max.String()
			}
			out = append(out, o)
		}
	}
	return out
}

// overSeeds is e.Of's statistic of e.Metric over the runs of one cell; false
// when a run did not report the metric.
func overSeeds(e Expectation, cell []int, lookup func(run int, metric string) (float64, bool)) (float64, bool) {
	vals := make([]float64, 0, len(cell))
	for _, j := range cell {
		v, ok := lookup(j, e.Metric)
		if !ok {
			return 0, false
		}
		vals = append(vals, v)
	}
	iv := summary.IntervalOf(vals)
	switch e.Of {
	case ExpectCILow:
		return iv.Low, true
	case ExpectCIHigh:
		return iv.High, true
	}
	return iv.Mean, true
}

// appliesTo reports whether the expectation bounds run r: its variant (or any)
// and its sweep point (or any).
func (e Expectation) appliesTo(r Run) bool {
	if e.Variant != "" && e.Variant != r.Variant {
		return false
	}
	return e.Point == "" || samePoint(e.Point, r.Point)
}

// Check returns the failures Evaluate finds, in its order; lookup takes the
// run's label.
func Check(scenario string, runs []Run, expect []Expectation, lookup func(run, metric string) (float64, bool)) []Failure {
	var out []Failure
	for _, o := range Evaluate(scenario, runs, expect, func(i int, metric string) (float64, bool) {
		return lookup(runs[i].Label, metric)
	}) {
		if !o.Pass {
			out = append(out, o.Failure())
		}
	}
	return out
}

// samePoint reports whether an expectation's point names a run's sweep value:
// the same text, or the same duration, size or number written differently.
func samePoint(want, got string) bool {
	if want == got {
		return true
	}
	if a, err := ParseDuration(want); err == nil {
		b, err := ParseDuration(got)
		return err == nil && a == b
	}
	if a, err := ParseSize(want); err == nil {
		b, err := ParseSize(got)
		return err == nil && a == b
	}
	a, err1 := strconv.ParseFloat(want, 64)
	b, err2 := strconv.ParseFloat(got, 64)
	return err1 == nil && err2 == nil && a == b
}

func boundText(e Expectation) string {
	var parts []string
	if e.Min != nil {
		parts = append(parts, "min "+e.Min.String())
	}
	if e.Max != nil {
		parts = append(parts, "max "+e.Max.String())
	}
	return strings.Join(parts, ", ")
}

// formatMetric writes a value with a readable form for sizes and durations.
func formatMetric(metric string, v float64) string {
	s := strconv.FormatFloat(v, 'g', 6, 64)
	unit, _ := MetricUnit(metric)
	switch {
	case unit == UnitBytes && math.Abs(v) >= 1024:
		return s + " (" + humanBytes(v) + ")"
	case unit == UnitSeconds && v != 0 && math.Abs(v) < 1e9:
		return s + " (" + time.Duration(v*float64(time.Second)).String() + ")"
	}
	return s
}

func humanBytes(v float64) string {
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	name := "B"
	for _, u := range units {
		if math.Abs(v) < 1024 {
			break
		}
		v /= 1024
		name = u
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + name
}
