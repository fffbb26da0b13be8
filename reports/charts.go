package reports

import (
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim"
)

// The plot file stems, in report order. Write removes files of these names
// that a run did not produce, so a directory never mixes two runs' plots.
const (
	plotContextLost = "context_lost"
	plotLostByCause = "lost_by_cause"
	plotLatency     = "latency"
	plotLatencyCDF  = "latency_cdf"
	plotRedisMemory = "redis_memory"
	plotLagPods     = "lag_pods"
	plotSweep       = "sweep"
)

var plotNames = []string{plotContextLost, plotLostByCause, plotLatency, plotLatencyCDF, plotRedisMemory,
	plotLagPods, plotSweep, plotIntervals}

const timeLabel = "time since start (min)"

var (
	markerColor = color.Gray{Y: 110}
	lineWidth   = vg.Points(1.5)
)

// figures builds every figure the data supports, in report order.
func (v *view) figures() []*figure {
	if v.repeated() {
		return v.repeatedFigures() // seeds.go
	}
	var out []*figure
	for _, f := range []*figure{v.contextLostFigure(), v.lostByCauseFigure(), v.latencyFigure(),
		v.latencyCDFFigure(), v.redisMemoryFigure(), v.lagPodsFigure(), v.sweepFigure()} {
		if f != nil {
			out = append(out, f)
		}
	}
	return out
}

// timePlot is a plot over the run's time with the scripted events marked.
func (v *view) timePlot(title, yLabel string) *plot.Plot {
	p := newPlot(title, timeLabel, yLabel)
	if evs := markedEvents(v.runs, scriptedKinds); len(evs) > 0 {
		m := newMarkers(markerColor)
		for _, e := range evs {
			m.add(minutesOf(e.At), eventLabel(e))
		}
		p.Add(m)
	}
	return p
}

// fixTimeAxis spans the x axis over the whole run.
func (v *view) fixTimeAxis(p *plot.Plot) {
	p.X.Min = 0
	if d := v.sc.Duration.Std().Minutes(); d > 0 {
		p.X.Max = d
	}
}

func minutesOf(d sim.Duration) float64 { return float64(d) / 60e9 }

// eventLabel is a short marker label: the detail, cut at 28 characters.
func eventLabel(e sim.Event) string {
	s := e.Detail
	if s == "" {
		s = e.Kind
	}
	if r := []rune(s); len(r) > 28 {
		s = string(r[:27]) + "…"
	}
	return s
}

// contextLostFigure: cumulative context lost (and stale used, dashed) per run.
func (v *view) contextLostFigure() *figure {
	if !v.anyHas(colContextLost) {
		return nil
	}
	p := v.timePlot("", "contexts lost, cumulative (messages)")
	l := newLegend()
	seen := map[string]bool{}
	for _, r := range v.runs {
		t := r.minutes()
		c := runColor(r.index)
		addLines(p, l, r.Label, t, r.col(colContextLost), nil, lineStyle(c, lineWidth, runDashes(r.index)), seen)
		if stale := r.col(colStaleUsed); maxOf(stale) > 0 {
			addLines(p, l, r.Label+" stale used", t, stale, nil, lineStyle(c, lineWidth, dashed), seen)
		}
	}
	v.fixTimeAxis(p)
	floorZero(p)
	return &figure{name: plotContextLost, title: "Context lost over time (cumulative, per run)",
		tiles: [][]*plot.Plot{{p}}, legend: l, height: 4.8 * vg.Inch}
}

// lostByCauseFigure: stacked bars of context lost by cause, one bar per run.
func (v *view) lostByCauseFigure() *figure {
	type layer struct {
		name   string
		values plotter.Values
		color  color.Color
	}
	var layers []layer
	total := 0.0
	for _, cause := range v.causes() {
		vals := make(plotter.Values, len(v.runs))
		for i, r := range v.runs {
			vals[i] = r.metricOr(lostByCausePrefix+cause, 0)
		}
		if s := sum(vals); s > 0 {
			total += s
			layers = append(layers, layer{name: cause, values: vals, color: causeColor(cause)})
		}
	}
	stale := make(plotter.Values, len(v.runs))
	for i, r := range v.runs {
		stale[i] = r.metricOr("context_stale_used", 0)
	}
	if s := sum(stale); s > 0 {
		total += s
		layers = append(layers, layer{name: "stale used (wrong value)", values: stale, color: color.Gray{Y: 60}})
	}
	if total == 0 || len(v.runs) == 0 {
		return nil
	}
	p := newPlot("", "run", "contexts lost or used stale (messages)")
	width := vg.Points(math.Min(60, 0.6*500/float64(len(v.runs))))
	l := newLegend()
	var below *plotter.BarChart
	var bars []*plotter.BarChart
	for _, ly := range layers {
		b, err := plotter.NewBarChart(ly.values, width)
		if err != nil {
			panic(fmt.Sprintf("reports: bar chart of %s: %v", ly.name, err)) // values are finite and >= 0
		}
		b.Color = ly.color
		b.LineStyle.Width = 0
		if below != nil {
			b.StackOn(below)
		}
		below = b
		p.Add(b)
		bars = append(bars, b)
	}
	for i := len(bars) - 1; i >= 0; i-- { // legend top-down, as the stack reads
		l.Add(layers[i].name, bars[i])
	}
	p.NominalX(v.labels()...)
	rotateLabels(p, v.labels())
	p.X.Min, p.X.Max = -0.5, float64(len(v.runs))-0.5
	totals := plotter.XYLabels{}
	for i := range v.runs {
		t := 0.0
		for _, ly := range layers {
			t += ly.values[i]
		}
		totals.XYs = append(totals.XYs, plotter.XY{X: float64(i), Y: t})
		totals.Labels = append(totals.Labels, FormatCount(t))
	}
	if lb, err := plotter.NewLabels(totals); err == nil {
		for i := range lb.TextStyle {
			lb.TextStyle[i] = textStyle(9)
			lb.TextStyle[i].XAlign = draw.XCenter
		}
		lb.Offset = vg.Point{Y: vg.Points(3)}
		p.Add(lb)
	}
	floorZero(p)
	return &figure{name: plotLostByCause, title: "Context lost by cause (per run)", tiles: [][]*plot.Plot{{p}},
		legend: l, height: 4.8 * vg.Inch}
}

// rotateLabels tilts nominal x labels that would collide.
func rotateLabels(p *plot.Plot, labels []string) {
	n := 0
	for _, s := range labels {
		n += len(s)
	}
	if n*7 > 500 {
		p.X.Tick.Label.Rotation = math.Pi / 6
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YCenter
	}
}

// causePalette has a distinct colour for every loss cause (sim.Causes has more
// causes than palette has colours; wrapping would paint two causes alike).
var causePalette = []color.RGBA{
	{0x4e, 0x79, 0xa7, 0xff}, {0xf2, 0x8e, 0x2b, 0xff}, {0xe1, 0x57, 0x59, 0xff}, {0x76, 0xb7, 0xb2, 0xff},
	{0x59, 0xa1, 0x4f, 0xff}, {0xed, 0xc9, 0x48, 0xff}, {0xb0, 0x7a, 0xa1, 0xff}, {0xff, 0x9d, 0xa7, 0xff},
	{0x9c, 0x75, 0x5f, 0xff}, {0xba, 0xb0, 0xac, 0xff}, {0x1f, 0x3a, 0x93, 0xff}, {0x8c, 0xd1, 0x7d, 0xff},
	{0x49, 0x98, 0x94, 0xff}, {0xd3, 0x72, 0x95, 0xff}, {0x86, 0xbc, 0xb6, 0xff}, {0xb6, 0x99, 0x2d, 0xff},
	{0x5a, 0x3d, 0x80, 0xff}, {0x2c, 0x2c, 0x2c, 0xff}, // failover_lost, cluster_migrating
}

// unknownColor marks the unknown cause (an accounting bug) so it cannot pass
// for another cause.
var unknownColor = color.RGBA{R: 0xff, B: 0xff, A: 0xff}

// causeColor gives each loss cause a fixed colour, in sim.Causes order.
func causeColor(cause string) color.Color {
	if cause == "unknown" {
		return unknownColor
	}
	for i, c := range sim.Causes() {
		if c.String() == cause {
			return causePalette[i%len(causePalette)]
		}
	}
	return color.Gray{Y: 150}
}

// latencyFigure: per-sample p50 (dashed) and p99 (solid) latency per run.
func (v *view) latencyFigure() *figure {
	if !v.anyHas(colLatencyP99) && !v.anyHas(colLatencyP50) {
		return nil
	}
	lo, hi := math.Inf(1), 0.0
	for _, r := range v.runs {
		for _, c := range []string{colLatencyP50, colLatencyP99} {
			for _, x := range r.col(c) {
				if x > 0 {
					lo, hi = math.Min(lo, x), math.Max(hi, x)
				}
			}
		}
	}
	if hi == 0 {
		return nil
	}
	logY := useLog(lo, hi)
	yLabel := "message latency (ms)"
	if logY {
		yLabel = "message latency (ms, log scale)"
	}
	p := v.timePlot("", yLabel)
	ys := func(r runView, col string) []float64 {
		if logY {
			return log10Of(r.col(col))
		}
		return r.col(col)
	}
	l := newLegend()
	seen := map[string]bool{}
	for _, r := range v.runs {
		t, c := r.minutes(), runColor(r.index)
		addLines(p, l, r.Label+" p99", t, ys(r, colLatencyP99), nil, lineStyle(c, lineWidth, runDashes(r.index)), seen)
		addLines(p, l, r.Label+" p50", t, ys(r, colLatencyP50), nil, lineStyle(c, vg.Points(1), dashed), seen)
	}
	v.fixTimeAxis(p)
	if logY {
		setLog(&p.Y, lo, hi)
	} else {
		floorZero(p)
	}
	return &figure{name: plotLatency, title: "Message latency per sample interval: p99 (solid) and p50 (dashed)",
		tiles: [][]*plot.Plot{{p}}, legend: l, height: 4.8 * vg.Inch}
}

// latencyCDFFigure: each run's whole latency distribution, as latency by
// percentile with the tail stretched (x = -log10(1 - fraction): 90 %, 99 %,
// 99.9 % equally spaced), so the tail that decides a capacity plan is visible.
func (v *view) latencyCDFFigure() *figure {
	lo, hi := math.Inf(1), 0.0
	maxX := 1.0
	for _, r := range v.runs {
		for _, pt := range r.Latency {
			if ms := durationMs(pt.Latency); ms > 0 {
				lo, hi = math.Min(lo, ms), math.Max(hi, ms)
			}
			if pt.Fraction < 1 {
				maxX = math.Max(maxX, tailX(pt.Fraction))
			}
		}
	}
	if hi == 0 {
		return nil
	}
	// The slowest message (fraction 1) sits one step right of the last finite
	// percentile, at a tick labelled "max".
	xMax := math.Min(maxTailX, math.Ceil(maxX)+1)
	logY := useLog(lo, hi)
	yLabel := "message latency (ms)"
	if logY {
		yLabel = "message latency (ms, log scale)"
	}
	p := newPlot("", "percentile of messages (tail stretched)", yLabel)
	l := newLegend()
	for _, r := range v.runs {
		var xy plotter.XYs
		for _, pt := range r.Latency {
			ms := durationMs(pt.Latency)
			if logY {
				if ms <= 0 {
					continue
				}
				ms = math.Log10(ms)
			}
			x := xMax
			if pt.Fraction < 1 {
				x = math.Min(xMax, tailX(pt.Fraction))
			}
			if len(xy) == 0 {
				xy = append(xy, plotter.XY{X: 0, Y: ms})
			}
			xy = append(xy, plotter.XY{X: x, Y: ms})
		}
		if len(xy) == 0 {
			continue
		}
		ln := &plotter.Line{XYs: xy, LineStyle: lineStyle(runColor(r.index), lineWidth, runDashes(r.index))}
		ln.StepStyle = plotter.PreStep
		p.Add(ln)
		l.Add(r.Label, ln)
	}
	p.X.Min, p.X.Max = 0, xMax
	p.X.Tick.Marker = percentileTicks{max: xMax}
	if logY {
		setLog(&p.Y, lo, hi)
	} else {
		floorZero(p)
	}
	return &figure{name: plotLatencyCDF, title: "Message latency distribution (whole run): latency by percentile",
		tiles: [][]*plot.Plot{{p}}, legend: l, height: 4.8 * vg.Inch}
}

// maxTailX caps the stretched percentile axis at 99.9999 %.
const maxTailX = 6

// tailX maps a cumulative fraction to the stretched axis: 0 → 0, 0.9 → 1,
// 0.99 → 2, 0.999 → 3.
func tailX(fraction float64) float64 {
	if fraction >= 1 {
		return maxTailX
	}
	return math.Max(0, -math.Log10(1-fraction))
}

// percentileTicks labels the stretched axis: 0 %, 90 %, 99 %, 99.9 %, ... and
// "max" at its right end.
type percentileTicks struct{ max float64 }

// Ticks implements plot.Ticker.
func (t percentileTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for x := math.Ceil(lo); x <= hi; x++ {
		label := "max"
		if x < t.max {
			label = sig(100*(1-math.Pow(10, -x)), 6) + " %"
		}
		out = append(out, plot.Tick{Value: x, Label: label})
		if x+0.5 < hi {
			out = append(out, plot.Tick{Value: x + math.Log10(2)}) // 50 %, 95 %, 99.5 %...
		}
	}
	return out
}

func durationMs(d sim.Duration) float64 { return float64(d) / 1e6 }

// byteScale is the unit of a bytes axis.
type byteScale struct {
	div  float64
	unit string
}

// byteScaleFor picks KiB, MiB or GiB so that the largest value reads 2–2048.
func byteScaleFor(maxBytes float64) byteScale {
	switch {
	case maxBytes >= 2<<30:
		return byteScale{1 << 30, "GiB"}
	case maxBytes >= 2<<20:
		return byteScale{1 << 20, "MiB"}
	case maxBytes >= 2<<10:
		return byteScale{1 << 10, "KiB"}
	}
	return byteScale{1, "bytes"}
}

func (b byteScale) scale(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x / b.div
	}
	return out
}

// redisMemoryFigure: used memory, RSS and fork COW per run (one tile each),
// with maxmemory and system memory lines and fork/OOM events marked. Only when
// the Redis memory model's columns exist.
func (v *view) redisMemoryFigure() *figure {
	var runs []runView
	for _, r := range v.runs {
		if r.has(colUsedMemory) {
			runs = append(runs, r)
		}
	}
	if len(runs) == 0 {
		return nil
	}
	// One scale for every tile: up to the data's peak (RSS, which includes the
	// fork's copied pages, and maxmemory);
	// system memory far above it is named in the tile title instead of drawn.
	peak := 0.0
	for _, r := range runs {
		peak = math.Max(peak, math.Max(maxOf(r.col(colUsedMemory)), maxOf(r.col(colRSS))))
		peak = math.Max(peak, maxOf(r.col(colMaxMemory)))
		peak = math.Max(peak, r.metricOr("redis_rss_peak_bytes", 0))
		if hostShared(r) {
			peak = math.Max(peak, math.Max(maxOf(r.col(colHostRSS)), r.metricOr("redis_host_rss_peak_bytes", 0)))
		}
	}
	bs := byteScaleFor(peak)
	var (
		usedSty = lineStyle(palette[0], lineWidth, nil)
		rssSty  = lineStyle(palette[1], lineWidth, nil)
		cowSty  = lineStyle(palette[2], lineWidth, nil)
		maxSty  = lineStyle(color.Gray{Y: 90}, vg.Points(1.2), []vg.Length{vg.Points(6), vg.Points(3)})
		sysSty  = lineStyle(color.RGBA{R: 0xc0, A: 0xff}, vg.Points(1.5), []vg.Length{vg.Points(6), vg.Points(3)})
		hostSty = lineStyle(palette[3], lineWidth, nil)
	)
	forkColor, oomColor := color.RGBA{R: 0x55, G: 0x55, B: 0xaa, A: 0xff}, color.RGBA{R: 0xc0, A: 0xff}
	l := newLegend()
	seen := map[string]bool{}
	cols := 1
	if len(runs) > 2 {
		cols = 2
	}
	var tiles [][]*plot.Plot
	for i, r := range runs {
		title := r.Label
		if pk := r.metricOr("redis_rss_peak_bytes", 0); pk > 0 {
			// The event-exact peak: a fork's copies can come and go between two samples.
			title += " — peak RSS " + FormatBytes(pk)
		}
		if hp := r.metricOr("redis_host_rss_peak_bytes", 0); hostShared(r) && hp > 0 {
			title += ", host " + FormatBytes(hp)
		}
		p := newPlot("", timeLabel, "memory ("+bs.unit+")")
		t := r.minutes()
		addLines(p, l, "used_memory", t, bs.scale(r.col(colUsedMemory)), nil, usedSty, seen)
		addLines(p, l, "RSS", t, bs.scale(r.col(colRSS)), nil, rssSty, seen)
		if hostShared(r) {
			addLines(p, l, "host RSS (its instances' RSS + copies)", t, bs.scale(r.col(colHostRSS)), nil, hostSty, seen)
		}
		if cow := r.col(colCOW); maxOf(cow) > 0 {
			addLines(p, l, "fork copy-on-write (in RSS)", t, bs.scale(cow), nil, cowSty, seen)
		}
		if mm := r.col(colMaxMemory); len(mm) > 0 && mm[len(mm)-1] > 0 {
			h := hline{y: mm[len(mm)-1] / bs.div, line: maxSty}
			p.Add(h)
			if !seen["maxmemory"] {
				seen["maxmemory"] = true
				l.Add("maxmemory", h)
			}
		}
		if sys := r.col(colSystemMemory); len(sys) > 0 && sys[len(sys)-1] > 0 {
			s := sys[len(sys)-1]
			if s <= 3*peak {
				h := hline{y: s / bs.div, line: sysSty}
				p.Add(h)
				if !seen["system memory"] {
					seen["system memory"] = true
					l.Add("system memory", h)
				}
			} else {
				title += " (system memory " + FormatBytes(s) + ", off scale)"
			}
		}
		for _, k := range []struct {
			kind, name string
			c          color.Color
		}{{"fork", "fork", forkColor}, {"oom", "OOM kill", oomColor}} {
			m := newMarkers(k.c)
			for _, e := range r.Events {
				if e.Kind == k.kind {
					m.add(minutesOf(e.At), k.name)
				}
			}
			if len(m.xs) > 0 {
				p.Add(m)
				if !seen[k.name] {
					seen[k.name] = true
					l.Add(k.name, m)
				}
			}
		}
		p.Title.Text = title
		v.fixTimeAxis(p)
		floorZero(p)
		if i%cols == 0 {
			tiles = append(tiles, nil)
		}
		tiles[len(tiles)-1] = append(tiles[len(tiles)-1], p)
	}
	return &figure{name: plotRedisMemory, title: "Redis memory: used, RSS and fork copy-on-write",
		tiles: tiles, legend: l, height: vg.Length(len(tiles))*3.2*vg.Inch + 0.6*vg.Inch}
}

// lagPodsFigure: consumer lag (top) and pod count (bottom) per run.
func (v *view) lagPodsFigure() *figure {
	if !v.anyHas(colLag) && !v.anyHas(colPods) {
		return nil
	}
	lag := v.timePlot("Consumer lag (largest partition)", "lag (messages)")
	pods := v.timePlot("Pods running", "pods (count)")
	l := newLegend()
	seen := map[string]bool{}
	for _, r := range v.runs {
		t := r.minutes()
		sty := lineStyle(runColor(r.index), lineWidth, runDashes(r.index))
		addLines(lag, l, r.Label, t, r.col(colLag), nil, sty, seen)
		for _, ln := range newLines(t, r.col(colPods), nil, sty) {
			ln.StepStyle = plotter.PostStep
			pods.Add(ln)
		}
	}
	for _, p := range []*plot.Plot{lag, pods} {
		v.fixTimeAxis(p)
		floorZero(p)
	}
	pods.Y.Max = math.Max(pods.Y.Max, 1) * 1.15
	pods.Y.Tick.Marker = integerTicks{}
	return &figure{name: plotLagPods, title: "Consumer lag and pod count over time",
		tiles: [][]*plot.Plot{{lag}, {pods}}, legend: l, height: 6.5 * vg.Inch}
}

// integerTicks marks whole numbers only (a pod count has no fractions).
type integerTicks struct{}

// Ticks implements plot.Ticker.
func (integerTicks) Ticks(lo, hi float64) []plot.Tick {
	step := math.Max(1, math.Ceil((hi-lo)/8))
	var out []plot.Tick
	for x := math.Ceil(lo); x <= hi; x += step {
		out = append(out, plot.Tick{Value: x, Label: strconv.FormatFloat(x, 'f', 0, 64)})
	}
	return out
}

// sweepMetric is one tile of the sweep figure.
type sweepMetric struct {
	metric, title string
	kind          Kind
}

// sweepFigure: key metrics against the swept value, one line per variant.
func (v *view) sweepFigure() *figure {
	if v.sc.Sweep == nil {
		return nil
	}
	var pts []runView
	for _, r := range v.runs {
		if r.Point != "" {
			pts = append(pts, r)
		}
	}
	if len(pts) == 0 {
		return nil
	}
	xs, xLabel, xTicks := sweepAxis(v.sc.Sweep.Field, pts)
	metrics := v.sweepMetrics()
	var variants []string
	for _, r := range pts {
		if !contains(variants, r.Variant) {
			variants = append(variants, r.Variant)
		}
	}
	l := newLegend()
	var tiles [][]*plot.Plot
	for mi, m := range metrics {
		var ys [][]float64 // per run in pts
		maxV := 0.0
		for _, r := range pts {
			val, ok := r.metric(m.metric)
			if !ok {
				val = math.NaN()
			} else {
				maxV = math.Max(maxV, val)
			}
			ys = append(ys, []float64{val})
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
			var xy plotter.XYs
			for i, r := range pts {
				if r.Variant == name && !math.IsNaN(ys[i][0]) {
					xy = append(xy, plotter.XY{X: xs[i], Y: ys[i][0] / div})
				}
			}
			if len(xy) == 0 {
				continue
			}
			c := runColor(vi)
			ln, sc, err := plotter.NewLinePoints(xy)
			if err != nil {
				panic(fmt.Sprintf("reports: sweep line %s: %v", name, err)) // points are finite
			}
			ln.LineStyle = lineStyle(c, lineWidth, nil)
			sc.Color = c
			sc.Radius = vg.Points(3)
			sc.Shape = draw.CircleGlyph{}
			p.Add(ln, sc)
			if mi == 0 {
				l.Add(name, ln, sc)
			}
		}
		p.X.Tick.Marker = plot.ConstantTicks(xTicks)
		padRange(&p.X, xTicks)
		floorZero(p)
		if mi%2 == 0 {
			tiles = append(tiles, nil)
		}
		tiles[len(tiles)-1] = append(tiles[len(tiles)-1], p)
	}
	return &figure{name: plotSweep, title: "Sweep of " + v.sc.Sweep.Field, tiles: tiles, legend: l,
		height: 7 * vg.Inch}
}

// secondsScale picks ms or s for a duration axis.
func secondsScale(maxSeconds float64) (float64, string) {
	if maxSeconds < 1 {
		return 1e-3, "ms"
	}
	return 1, "s"
}

// sweepAxis maps the sweep points to x positions, ticked at exactly the swept
// values and labelled as written ("64MiB", "30s"). Numbers, sizes and
// durations are placed by value, on a log axis when they span a factor of 10
// or more (sweeps are usually geometric); anything else is one evenly spaced
// category per distinct value, in first-seen order.
func sweepAxis(field string, pts []runView) (xs []float64, label string, ticks []plot.Tick) {
	parsers := []func(string) (float64, bool){
		func(s string) (float64, bool) { f, err := strconv.ParseFloat(s, 64); return f, err == nil },
		func(s string) (float64, bool) {
			d, err := scenarios.ParseDuration(s)
			return d.Std().Seconds(), err == nil
		},
		func(s string) (float64, bool) { b, err := scenarios.ParseSize(s); return float64(b), err == nil },
	}
	numeric := func(parse func(string) (float64, bool)) ([]float64, bool) {
		var out []float64
		for _, r := range pts {
			x, ok := parse(r.Point)
			if !ok || math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, false
			}
			out = append(out, x)
		}
		return out, true
	}
	label = field
	for _, parse := range parsers {
		vals, ok := numeric(parse)
		if !ok {
			continue
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, x := range vals {
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
		if lo > 0 && hi/lo >= 10 {
			vals = log10Of(vals)
			label += " (log scale)"
		}
		for i, r := range pts {
			ticks = addTick(ticks, vals[i], r.Point)
		}
		return vals, label, ticks
	}
	var categories []string
	for _, r := range pts {
		i := indexOf(categories, r.Point)
		if i < 0 {
			categories = append(categories, r.Point)
			i = len(categories) - 1
		}
		xs = append(xs, float64(i))
		ticks = addTick(ticks, float64(i), r.Point)
	}
	return xs, label, ticks
}

// addTick adds a labelled tick unless one is already at x.
func addTick(ticks []plot.Tick, x float64, label string) []plot.Tick {
	for _, t := range ticks {
		if t.Value == x {
			return ticks
		}
	}
	return append(ticks, plot.Tick{Value: x, Label: label})
}

// padRange spans the axis over the ticks, widened by 8 % on each side (by 1
// for a single value), so points at the ends are not drawn on the axes.
func padRange(a *plot.Axis, ticks []plot.Tick) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, t := range ticks {
		lo, hi = math.Min(lo, t.Value), math.Max(hi, t.Value)
	}
	if math.IsInf(lo, 0) {
		return
	}
	pad := (hi - lo) * 0.08
	if pad == 0 {
		pad = 1
	}
	a.Min, a.Max = lo-pad, hi+pad
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func sum(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s
}

// maxOf is the largest finite value, 0 for none.
func maxOf(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) && x > m {
			m = x
		}
	}
	return m
}

// floorZero starts the y axis at 0 and keeps a flat-zero series from making
// the axis degenerate.
// It leaves 5 % of room above the highest value for the event labels.
func floorZero(p *plot.Plot) {
	p.Y.Min = 0
	if !(p.Y.Max > 0) {
		p.Y.Max = 1
	}
	p.Y.Max *= 1.05
}

// plotTitle is the title a figure is listed under in the report.
func plotTitle(f *figure) string { return strings.TrimSpace(f.title) }

// sweepMetrics are the headline metrics the sweep and intervals figures plot:
// loss, the longest spill, latency p99 and Redis's peak RSS (bytes written
// when no run has the memory model's peak).
func (v *view) sweepMetrics() []sweepMetric {
	metrics := []sweepMetric{
		{"context_loss_ratio", "Context loss ratio", KindRatio},
		{"spill_duration_max", "Longest spill", KindSeconds},
		{"latency_p99", "Message latency p99", KindSeconds},
	}
	if v.anyMetric("redis_rss_peak_bytes") {
		return append(metrics, sweepMetric{"redis_rss_peak_bytes", "Peak Redis RSS", KindBytes})
	}
	return append(metrics, sweepMetric{"redis_bytes_in", "Bytes written to Redis", KindBytes})
}
