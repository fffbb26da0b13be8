package reports

import (
	"bytes"
	"math"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

func TestReadableTicks(t *testing.T) {
	tests := []struct {
		name   string
		lo, hi float64
		labels []string
	}{
		{name: "thousands", lo: 0, hi: 29400, labels: []string{"0", "5,000", "10,000", "15,000", "20,000", "25,000"}},
		{name: "fractions", lo: 0, hi: 1.05, labels: []string{"0", "0.2", "0.4", "0.6", "0.8", "1"}},
		{name: "offset", lo: 3, hi: 7, labels: []string{"3", "4", "5", "6", "7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, tk := range (readableTicks{}).Ticks(tt.lo, tt.hi) {
				if tk.Label != "" {
					got = append(got, tk.Label)
				}
				if tk.Value < tt.lo-1e-9 || tk.Value > tt.hi+1e-9 {
					t.Errorf("tick %v outside [%v, %v]", tk.Value, tt.lo, tt.hi)
				}
			}
			if !equalStrings(got, tt.labels) {
				t.Errorf("labels %q, want %q", got, tt.labels)
			}
		})
	}
}

func TestLogTicks(t *testing.T) {
	ticks := (logTicks{}).Ticks(-2, 4) // 0.01 .. 10,000
	var labels []string
	minor := 0
	for _, tk := range ticks {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		} else {
			minor++
		}
	}
	want := []string{"0.01", "0.1", "1", "10", "100", "1,000", "10,000"}
	if !equalStrings(labels, want) || minor != 6*8 {
		t.Errorf("labels %q (%d minor), want %q (48 minor)", labels, minor, want)
	}
	var a plot.Axis
	setLog(&a, 0.02, 3000)
	if a.Min != -2 || a.Max != 4 {
		t.Errorf("setLog range [%v, %v], want [-2, 4]", a.Min, a.Max)
	}
	setLog(&a, 100, 100)
	if a.Min != 2 || a.Max != 3 {
		t.Errorf("setLog of one value [%v, %v], want [2, 3]", a.Min, a.Max)
	}
}

func TestPercentileTicks(t *testing.T) {
	var labels []string
	for _, tk := range (percentileTicks{max: 4}).Ticks(0, 4) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if want := []string{"0 %", "90 %", "99 %", "99.9 %", "max"}; !equalStrings(labels, want) {
		t.Errorf("labels %q, want %q", labels, want)
	}
	tests := []struct {
		name     string
		fraction float64
		want     float64
	}{
		{name: "zero", fraction: 0, want: 0},
		{name: "p90", fraction: 0.9, want: 1},
		{name: "p99", fraction: 0.99, want: 2},
		{name: "all", fraction: 1, want: maxTailX},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tailX(tt.fraction); math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("tailX(%v) = %v, want %v", tt.fraction, got, tt.want)
			}
		})
	}
}

func TestNewLinesBreaksOnGaps(t *testing.T) {
	xs := []float64{0, 1, 2, 3, 4, 5}
	ys := []float64{1, math.NaN(), 2, 3, -1, 4}
	lines := newLines(xs, ys, func(y float64) bool { return y > 0 }, lineStyle(palette[0], 1, nil))
	if len(lines) != 3 || len(lines[0].XYs) != 1 || len(lines[1].XYs) != 2 || len(lines[2].XYs) != 1 {
		t.Errorf("segments %d", len(lines))
	}
	if newLines(xs, []float64{math.NaN()}, nil, lineStyle(palette[0], 1, nil)) != nil {
		t.Error("all-gap series gave lines")
	}
}

func TestLog10Of(t *testing.T) {
	got := log10Of([]float64{100, 0, -1, 0.1})
	if got[0] != 2 || !math.IsNaN(got[1]) || !math.IsNaN(got[2]) || math.Abs(got[3]+1) > 1e-12 {
		t.Errorf("log10Of = %v", got)
	}
}

func TestMarkers(t *testing.T) {
	m := newMarkers(markerColor)
	m.add(1, "a")
	m.add(1, "b")
	m.add(1, "b")
	m.add(2, "")
	if len(m.xs) != 2 || m.labels[0] != "a, b" {
		t.Errorf("markers %v %q", m.xs, m.labels)
	}
}

// TestFigureRenderDeterministic: a figure renders to the same PNG and SVG bytes
// every time, and the PNG is the documented size.
func TestFigureRenderDeterministic(t *testing.T) {
	build := func() *figure {
		p := newPlot("tile", "x (min)", "y (ms)")
		l := newLegend()
		addLines(p, l, "run", []float64{0, 1, 2}, []float64{1, 3, 2}, nil, lineStyle(runColor(0), lineWidth, nil),
			map[string]bool{})
		m := newMarkers(markerColor)
		m.add(1, "scale to 3")
		p.Add(m, hline{y: 2.5, line: lineStyle(palette[2], 1, dashed)})
		return &figure{name: "t", title: "Title", tiles: [][]*plot.Plot{{p}}, legend: l, height: 4 * vg.Inch}
	}
	png1, svg1, err := build().render()
	if err != nil {
		t.Fatal(err)
	}
	png2, svg2, err := build().render()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(png1, png2) || !bytes.Equal(svg1, svg2) {
		t.Error("rendering is not byte-identical")
	}
	if !bytes.HasPrefix(png1, []byte("\x89PNG")) || !bytes.Contains(svg1, []byte("<svg")) {
		t.Error("not a PNG and an SVG")
	}
	// IHDR width and height: 10 in x 4 in at 96 dpi.
	w := int(png1[16])<<24 | int(png1[17])<<16 | int(png1[18])<<8 | int(png1[19])
	h := int(png1[20])<<24 | int(png1[21])<<16 | int(png1[22])<<8 | int(png1[23])
	if w != 960 || h != 384 {
		t.Errorf("PNG is %dx%d, want 960x384", w, h)
	}
}

func TestRunStyles(t *testing.T) {
	if runColor(0) != runColor(len(palette)) {
		t.Error("colours do not cycle")
	}
	if runDashes(0) != nil || runDashes(len(palette)) == nil || len(runDashes(2*len(palette))) != 2 {
		t.Error("runs past the palette are not dashed")
	}
	var _ plot.Thumbnailer = &plotter.Line{}
}
