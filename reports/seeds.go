package reports

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/spillway-sim/spillway/sim"
	"github.com/spillway-sim/spillway/summary"
)

// A repeated scenario (repeat: N, spillway run -repeat N) runs every variant
// and sweep point — a cell — with N seeds. Its report gives each headline
// metric per cell as the mean over the seeds with a 95 % Student-t confidence
// interval (summary.IntervalOf), the share of seeds that saw a Redis OOM kill
// or a grace overrun, and a figure of the means with error bars. The
// time-series figures draw each cell's first seed (the scenario's own), so
// they stay readable; results.json keeps every seed's run.

// plotIntervals is the figure of means with error bars (plotNames).
const plotIntervals = "intervals"

// cellView is one variant at one sweep point of a repeated plan: the runs of
// its seeds, in seed order.
type cellView struct {
	label, variant, point string
	runs                  []runView
}

// repeated reports whether the result's plan ran every cell with several seeds.
func (v *view) repeated() bool { return v.res.Plan != nil && v.res.Plan.Repeat > 1 }

// cells groups the runs by cell (scenarios.Run.Cell), in run order.
func (v *view) cells() []cellView {
	var out []cellView
	at := map[string]int{}
	for _, r := range v.runs {
		label := r.Run.Cell
		if label == "" {
			label = r.Label
		}
		i, ok := at[label]
		if !ok {
			i = len(out)
			at[label] = i
			out = append(out, cellView{label: label, variant: r.Variant, point: r.Point})
		}
		out[i].runs = append(out[i].runs, r)
	}
	return out
}

// firstSeeds is a view of each cell's first seed, coloured by cell: what the
// time-series figures of a repeated result draw.
func (v *view) firstSeeds() *view {
	fv := &view{sc: v.sc, res: v.res}
	for i, c := range v.cells() {
		r := c.runs[0]
		r.index = i
		fv.runs = append(fv.runs, r)
	}
	return fv
}

// interval is the metric's Interval over the seeds of c that report it; false
// when none does.
func (c cellView) interval(name string) (summary.Interval, bool) {
	var vals []float64
	for _, r := range c.runs {
		if x, ok := r.metric(name); ok {
			vals = append(vals, x)
		}
	}
	return summary.IntervalOf(vals), len(vals) > 0
}

// oomKilled reports whether Redis was OOM-killed in the run.
func oomKilled(r runView) bool { return r.metricOr("redis_oom_kills", 0) > 0 }

// graceOverrun reports whether a pod of the run was SIGKILLed at the end of its
// termination grace, or context was lost to a spill that did not fit it.
func graceOverrun(r runView) bool {
	if r.metricOr(lostByCausePrefix+"grace_overrun", 0) > 0 {
		return true
	}
	for _, e := range r.Events {
		if e.Kind == "sigkill" {
			return true
		}
	}
	return false
}

// share is "k/n" of the cell's seeds for which is holds, with the percentage
// when k > 0.
func (c cellView) share(is func(runView) bool) string {
	k := 0
	for _, r := range c.runs {
		if is(r) {
			k++
		}
	}
	s := fmt.Sprintf("%d/%d", k, len(c.runs))
	if k > 0 {
		s += " (" + FormatPercent(float64(k)/float64(len(c.runs))) + ")"
	}
	return s
}

// seedsText lists a plan's seeds: "42, 43, 44" or "42 … 59" for more than 6.
func seedsText(first uint64, n int) string {
	if n > 6 {
		return fmt.Sprintf("%d … %d", first, first+uint64(n-1))
	}
	parts := make([]string, n)
	for i := range parts {
		parts[i] = strconv.FormatUint(first+uint64(i), 10)
	}
	return strings.Join(parts, ", ")
}

// intervalText is "mean [low – high]", or the mean alone when every seed gave
// the same value (or the interval rounds to it).
func intervalText(name, unit string, iv summary.Interval) string {
	f := func(x float64) string { return FormatMetric(sim.Metric{Name: name, Value: x, Unit: unit}) }
	mean, lo, hi := f(iv.Mean), f(iv.Low), f(iv.High)
	if iv.N < 2 || iv.High == iv.Low || lo == mean && hi == mean {
		return mean
	}
	return mean + " [" + lo + " – " + hi + "]"
}

// writeIntervals is a repeated result's summary table: metric x cell, each the
// mean over the seeds and its 95 % interval, then the shares of seeds with an
// OOM kill or a grace overrun.
func (v *view) writeIntervals(b *bytes.Buffer) {
	cells := v.cells()
	n := v.res.Plan.Repeat
	fmt.Fprintf(b, "Every run below ran with %d seeds (%s: the scenario's seed and the next %d). Each value is the "+
		"mean over the seeds and, in brackets, the 95 %% confidence interval of that mean (Student t, %d degrees of "+
		"freedom: mean ± %.3f × standard deviation / √%d); a value without brackets was the same in every seed (to the digits shown). "+
		"Every seed's run is in %s.\n\n", n, seedsText(v.sc.Seed, n), n-1, n-1, summary.TQuantile(n-1), n,
		ResultsFile)
	b.WriteString("| metric |")
	for _, c := range cells {
		fmt.Fprintf(b, " %s |", cell(c.label))
	}
	b.WriteString("\n|---|")
	for range cells {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, name := range KeyMetrics {
		if !v.anyMetric(name) {
			continue
		}
		fmt.Fprintf(b, "| `%s` |", name)
		for _, c := range cells {
			s := "—"
			if iv, ok := c.interval(name); ok {
				s = intervalText(name, unitOf(c.runs[0].Summary, name), iv)
			}
			fmt.Fprintf(b, " %s |", s)
		}
		b.WriteString("\n")
	}
	for _, row := range []struct {
		name string
		is   func(runView) bool
	}{{"seeds with a Redis OOM kill", oomKilled}, {"seeds with a grace overrun", graceOverrun}} {
		fmt.Fprintf(b, "| %s |", row.name)
		for _, c := range cells {
			fmt.Fprintf(b, " %s |", c.share(row.is))
		}
		b.WriteString("\n")
	}
	b.WriteString("\nA grace overrun is a pod SIGKILLed at the end of its termination grace, or context lost " +
		"because the shutdown spill did not fit it (`lost_by_cause.grace_overrun`).\n\n")
}

// writeCellTable is a repeated result's list of runs: one row per cell.
func (v *view) writeCellTable(b *bytes.Buffer) {
	b.WriteString("| run | strategy | overrides | seeds |\n|---|---|---|---|\n")
	for _, c := range v.cells() {
		r := c.runs[0]
		ov := v.overrides(r)
		if ov == "" {
			ov = "—"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", cell(c.label), r.sc.State.Strategy, cell(ov),
			seedsText(r.Run.Seed, len(c.runs)))
	}
	b.WriteString("\n")
}

// repeatedFigures are a repeated result's figures: the time series of each
// cell's first seed (no sweep figure: the intervals figure draws the sweep
// with its error bars), then the intervals figure.
func (v *view) repeatedFigures() []*figure {
	fv := v.firstSeeds()
	var out []*figure
	for _, f := range []*figure{fv.contextLostFigure(), fv.lostByCauseFigure(), fv.latencyFigure(),
		fv.latencyCDFFigure(), fv.redisMemoryFigure(), fv.lagPodsFigure(), v.intervalsFigure()} {
		if f != nil {
			out = append(out, f)
		}
	}
	return out
}

// errorBars is the means of some cells and their intervals, as plotter data.
type errorBars struct {
	plotter.XYs
	plotter.YErrors
}

// intervalsFigure: the headline metrics' means over the seeds with 95 %
// confidence intervals as error bars, per cell; against the swept value (one
// line per variant) when there is a sweep, one point per cell otherwise.
func (v *view) intervalsFigure() *figure {
	cells := v.cells()
	if len(cells) == 0 {
		return nil
	}
	first := v.firstSeeds().runs
	swept := v.sc.Sweep != nil && first[0].Point != ""
	var xs []float64
	var xLabel string
	var xTicks []plot.Tick
	if swept {
		xs, xLabel, xTicks = sweepAxis(v.sc.Sweep.Field, first)
	} else {
		xLabel = "run"
		for i, c := range cells {
			xs = append(xs, float64(i))
			xTicks = append(xTicks, plot.Tick{Value: float64(i), Label: c.label})
		}
	}
	metrics := v.sweepMetrics()
	var variants []string
	for _, c := range cells {
		if !contains(variants, c.variant) {
			variants = append(variants, c.variant)
		}
	}
	// Against a sweep, the variants' points share x positions: each variant
	// is drawn a little aside (1.2 % of the axis per variant), so that error
	// bars do not hide one another.
	dodge := func(int) float64 { return 0 }
	if swept && len(variants) > 1 {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, x := range xs {
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
		span := hi - lo
		if span == 0 {
			span = 1
		}
		dodge = func(vi int) float64 { return (float64(vi) - float64(len(variants)-1)/2) * 0.012 * span }
	}
	l := newLegend()
	var tiles [][]*plot.Plot
	for mi, m := range metrics {
		ivs := make([]summary.Interval, len(cells))
		have := make([]bool, len(cells))
		maxV := 0.0
		for i, c := range cells {
			ivs[i], have[i] = c.interval(m.metric)
			if have[i] {
				maxV = math.Max(maxV, maxOf([]float64{ivs[i].Mean, ivs[i].High}))
			}
		}
		div, unit := 1.0, ""
		switch m.kind {
		case KindRatio:
			div, unit = 0.01, "%"
		case KindSeconds:
			div, unit = secondsScale(maxV)
		case KindBytes:
			bs := byteScaleFor(maxV)
			div, unit = bs.div, bs.unit
		}
		p := newPlot(m.title, xLabel, m.metric+" ("+unit+")")
		for vi, name := range variants {
			var eb errorBars
			for i, c := range cells {
				if c.variant != name || !have[i] || math.IsNaN(ivs[i].Mean) {
					continue
				}
				eb.XYs = append(eb.XYs, plotter.XY{X: xs[i] + dodge(vi), Y: ivs[i].Mean / div})
				half := 0.0
				if h := ivs[i].HalfWidth(); !math.IsNaN(h) {
					half = h / div
				}
				eb.YErrors = append(eb.YErrors, struct{ Low, High float64 }{half, half})
			}
			if len(eb.XYs) == 0 {
				continue
			}
			c := runColor(vi)
			sc, err := plotter.NewScatter(eb.XYs)
			if err != nil {
				panic(fmt.Sprintf("reports: interval points %s: %v", name, err)) // means are finite
			}
			sc.Color, sc.Radius, sc.Shape = c, vg.Points(3), draw.CircleGlyph{}
			bars, err := plotter.NewYErrorBars(eb)
			if err != nil {
				panic(fmt.Sprintf("reports: error bars %s: %v", name, err)) // intervals are finite
			}
			bars.LineStyle = lineStyle(c, vg.Points(1.2), nil)
			p.Add(bars, sc)
			if swept {
				ln, err := plotter.NewLine(eb.XYs)
				if err != nil {
					panic(fmt.Sprintf("reports: interval line %s: %v", name, err))
				}
				ln.LineStyle = lineStyle(c, lineWidth, nil)
				p.Add(ln)
				if mi == 0 {
					l.Add(name, ln, sc)
				}
			} else if mi == 0 {
				l.Add(name, sc)
			}
		}
		p.X.Tick.Marker = plot.ConstantTicks(xTicks)
		if !swept {
			labels := make([]string, len(cells))
			for i, c := range cells {
				labels[i] = c.label
			}
			rotateLabels(p, labels)
		}
		padRange(&p.X, xTicks)
		floorZero(p)
		if mi%2 == 0 {
			tiles = append(tiles, nil)
		}
		tiles[len(tiles)-1] = append(tiles[len(tiles)-1], p)
	}
	title := fmt.Sprintf("Mean over %d seeds with its 95 %% confidence interval", v.res.Plan.Repeat)
	if swept {
		title += ", against " + v.sc.Sweep.Field
	}
	return &figure{name: plotIntervals, title: title, tiles: tiles, legend: l, height: 7 * vg.Inch}
}
