package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figures are drawn once per format into gonum/plot canvases. PNG (vgimg) and
// SVG (vgsvg, fonts referenced, not embedded) output is byte-identical for the
// same input; PDF and EPS embed a timestamp and are not used.

// dpi is the PNG resolution: a 10-inch figure is 960 pixels wide, about the
// width GitHub renders a Markdown image at.
const dpi = 96

// figureWidth is the width of every figure.
const figureWidth = 10 * vg.Inch

// figure is one image: a title, a grid of plots (tiles), and a legend in a
// column at the right, outside the data.
type figure struct {
	// name is the file stem: name.png and name.svg.
	name string
	// title is drawn centred above the tiles.
	title string
	// tiles are the plots, by row then column; a nil entry leaves a gap.
	tiles [][]*plot.Plot
	// legend, when it has entries, is drawn at the top of the right column.
	legend *plot.Legend
	// height of the whole figure (the width is figureWidth).
	height vg.Length
}

// render draws the figure as PNG and as SVG.
func (f *figure) render() (pngData, svgData []byte, err error) {
	defer func() {
		if r := recover(); r != nil { // gonum/plot panics on some degenerate inputs
			err = fmt.Errorf("reports: drawing %s: %v", f.name, r)
		}
	}()
	img := vgimg.NewWith(vgimg.UseWH(figureWidth, f.height), vgimg.UseDPI(dpi),
		vgimg.UseBackgroundColor(color.White))
	f.draw(draw.New(img))
	var pb bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&pb); err != nil {
		return nil, nil, fmt.Errorf("reports: encoding %s.png: %w", f.name, err)
	}
	sv := vgsvg.New(figureWidth, f.height)
	f.draw(draw.New(sv))
	var sb bytes.Buffer
	if _, err := sv.WriteTo(&sb); err != nil {
		return nil, nil, fmt.Errorf("reports: encoding %s.svg: %w", f.name, err)
	}
	return pb.Bytes(), sb.Bytes(), nil
}

func (f *figure) draw(c draw.Canvas) {
	c.SetColor(color.White)
	c.Fill(c.Rectangle.Path())
	const pad = 6 * vg.Millimeter / 4
	body := draw.Crop(c, pad, -pad, pad, -pad)
	if f.title != "" {
		sty := textStyle(14)
		sty.Font.Weight = xfont.WeightBold
		sty.XAlign, sty.YAlign = draw.XCenter, draw.YTop
		body.FillText(sty, vg.Point{X: body.Center().X, Y: body.Max.Y}, f.title)
		body = draw.Crop(body, 0, 0, 0, -(sty.Height(f.title) + pad))
	}
	if f.legend != nil {
		if w := f.legend.Rectangle(body).Size().X; w > 0 {
			right := draw.Crop(body, body.Size().X-w, 0, 0, -2*pad)
			f.legend.Draw(right)
			body = draw.Crop(body, 0, -(w + 3*pad), 0, 0)
		}
	}
	rows := len(f.tiles)
	cols := 0
	for _, r := range f.tiles {
		cols = max(cols, len(r))
	}
	if rows == 0 || cols == 0 {
		return
	}
	grid := make([][]*plot.Plot, rows)
	for i, r := range f.tiles {
		grid[i] = make([]*plot.Plot, cols)
		copy(grid[i], r)
	}
	t := draw.Tiles{Rows: rows, Cols: cols, PadX: 4 * pad, PadY: 3 * pad}
	canvases := plot.Align(grid, t, body)
	for i := range grid {
		for j, p := range grid[i] {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
}

// newLegend is a legend for the right column: entries top-down, text after
// the icons.
func newLegend() *plot.Legend {
	l := plot.NewLegend()
	l.Top, l.Left = true, true
	l.TextStyle = textStyle(10)
	l.Padding = vg.Points(3)
	return &l
}

// sans is the figures' typeface: Liberation Sans, embedded in gonum/plot (so
// rendering never depends on the machine's fonts).
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

func textStyle(size vg.Length) text.Style {
	return text.Style{Color: color.Black, Font: font.From(sans, size), Handler: plot.DefaultTextHandler}
}

func setFont(f *font.Font, size vg.Length) { *f = font.From(sans, size) }

// newPlot is a plot with a title, axis labels (with units), a light grid and no
// legend of its own (the figure draws one).
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	setFont(&p.Title.TextStyle.Font, 11)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		setFont(&a.Label.TextStyle.Font, 10)
		setFont(&a.Tick.Label.Font, 9)
		a.Tick.Marker = readableTicks{}
	}
	g := plotter.NewGrid()
	g.Vertical.Color = color.Gray{Y: 225}
	g.Horizontal.Color = color.Gray{Y: 225}
	p.Add(g)
	return p
}

// palette is Tableau 10: distinct, readable on white, and kind to the most common
// colour-vision deficiencies.
var palette = []color.RGBA{
	{0x4e, 0x79, 0xa7, 0xff}, {0xf2, 0x8e, 0x2b, 0xff}, {0xe1, 0x57, 0x59, 0xff}, {0x76, 0xb7, 0xb2, 0xff},
	{0x59, 0xa1, 0x4f, 0xff}, {0xed, 0xc9, 0x48, 0xff}, {0xb0, 0x7a, 0xa1, 0xff}, {0xff, 0x9d, 0xa7, 0xff},
	{0x9c, 0x75, 0x5f, 0xff}, {0xba, 0xb0, 0xac, 0xff},
}

// runColor is the colour of run i.
func runColor(i int) color.Color { return palette[i%len(palette)] }

// runDashes distinguishes runs beyond the palette's size: solid for the first
// ten, then dashed, then dotted.
func runDashes(i int) []vg.Length {
	switch (i / len(palette)) % 3 {
	case 1:
		return []vg.Length{vg.Points(6), vg.Points(3)}
	case 2:
		return []vg.Length{vg.Points(2), vg.Points(2)}
	}
	return nil
}

// dashed is the dash pattern of a secondary line (e.g. p50 beside p99).
var dashed = []vg.Length{vg.Points(5), vg.Points(3)}

// newLine is a line of xs, ys with a colour, width and dashes. Points whose y
// fails keep are left out and break the line; it returns nil when none remain.
func newLines(xs, ys []float64, keep func(float64) bool, sty draw.LineStyle) []*plotter.Line {
	var out []*plotter.Line
	var cur plotter.XYs
	flush := func() {
		if len(cur) > 0 {
			l := &plotter.Line{XYs: cur, LineStyle: sty}
			out = append(out, l)
			cur = nil
		}
	}
	for i := range xs {
		if i >= len(ys) || math.IsNaN(ys[i]) || math.IsInf(ys[i], 0) || (keep != nil && !keep(ys[i])) {
			flush()
			continue
		}
		cur = append(cur, plotter.XY{X: xs[i], Y: ys[i]})
	}
	flush()
	return out
}

// addLines adds a broken line to p and, when it has any segment, its legend
// entry (once per name); it reports whether anything was drawn.
func addLines(p *plot.Plot, l *plot.Legend, name string, xs, ys []float64, keep func(float64) bool,
	sty draw.LineStyle, seen map[string]bool) bool {
	lines := newLines(xs, ys, keep, sty)
	for _, ln := range lines {
		p.Add(ln)
	}
	if len(lines) > 0 && l != nil && !seen[name] {
		seen[name] = true
		l.Add(name, lines[0])
	}
	return len(lines) > 0
}

func lineStyle(c color.Color, width vg.Length, dashes []vg.Length) draw.LineStyle {
	return draw.LineStyle{Color: c, Width: width, Dashes: dashes}
}

// useLog reports whether positive values spanning this range read better on a
// log axis: more than a factor 30 between the smallest and largest.
func useLog(minPos, maxV float64) bool { return minPos > 0 && maxV/minPos > 30 }

// A log axis is drawn as a linear axis over log10 of the values (log10Of),
// labelled with the values themselves (logTicks). gonum/plot's own LogScale
// centres the axis label at the linear midpoint, which pushes the whole plot
// down, and panics on values <= 0.

// log10Of maps positive values to their log10 and the rest to NaN (a gap).
func log10Of(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = math.NaN()
		if x > 0 {
			out[i] = math.Log10(x)
		}
	}
	return out
}

// setLog makes a an axis of log10 values spanning [lo, hi] (both > 0),
// snapped outwards to powers of ten.
func setLog(a *plot.Axis, lo, hi float64) {
	a.Min = math.Floor(math.Log10(lo) + 1e-9)
	a.Max = math.Ceil(math.Log10(hi) - 1e-9)
	if a.Max <= a.Min {
		a.Max = a.Min + 1
	}
	a.Tick.Marker = logTicks{}
}

// markers draws labelled vertical lines at x positions (events on a time axis).
// It does not widen the axis: markers outside the data range are not drawn.
// Labels that would overlap drop one line lower, up to three lines, then are
// left out (the line stays).
type markers struct {
	xs     []float64
	labels []string
	line   draw.LineStyle
	text   text.Style
}

func newMarkers(c color.Color) *markers {
	sty := textStyle(8)
	sty.Color = c
	return &markers{line: lineStyle(c, vg.Points(0.8), []vg.Length{vg.Points(2), vg.Points(2)}), text: sty}
}

func (m *markers) add(x float64, label string) {
	if n := len(m.xs); n > 0 && m.xs[n-1] == x {
		switch {
		case label == "" || contains(strings.Split(m.labels[n-1], ", "), label):
		case m.labels[n-1] == "":
			m.labels[n-1] = label
		default:
			m.labels[n-1] += ", " + label
		}
		return
	}
	m.xs = append(m.xs, x)
	m.labels = append(m.labels, label)
}

// Plot implements plot.Plotter.
func (m *markers) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	const levels = 3
	var ends [levels]vg.Length
	for i := range ends {
		ends[i] = vg.Length(math.Inf(-1))
	}
	lineH := m.text.Height("M") * 1.2
	for i, x := range m.xs {
		if x < p.X.Min || x > p.X.Max {
			continue
		}
		px := trX(x)
		c.StrokeLine2(m.line, px, c.Min.Y, px, c.Max.Y)
		label := m.labels[i]
		if label == "" {
			continue
		}
		w := m.text.Width(label)
		sty := m.text
		sty.YAlign = draw.YTop
		left, tx := px+vg.Points(2), px+vg.Points(2)
		if left+w > c.Max.X {
			sty.XAlign = draw.XRight
			tx = px - vg.Points(2)
			left = tx - w
		}
		for lvl := 0; lvl < levels; lvl++ {
			if left > ends[lvl] {
				c.FillText(sty, vg.Point{X: tx, Y: c.Max.Y - vg.Points(2) - vg.Length(lvl)*lineH}, label)
				ends[lvl] = left + w + vg.Points(4)
				break
			}
		}
	}
}

// Thumbnail implements plot.Thumbnailer, for a legend entry.
func (m *markers) Thumbnail(c *draw.Canvas) {
	x := (c.Min.X + c.Max.X) / 2
	c.StrokeLine2(m.line, x, c.Min.Y, x, c.Max.Y)
}

// hline is a horizontal reference line across the plot (maxmemory, system memory).
type hline struct {
	y    float64
	line draw.LineStyle
}

// Plot implements plot.Plotter.
func (h hline) Plot(c draw.Canvas, p *plot.Plot) {
	_, trY := p.Transforms(&c)
	if h.y < p.Y.Min || h.y > p.Y.Max {
		return
	}
	y := trY(h.y)
	c.StrokeLine2(h.line, c.Min.X, y, c.Max.X, y)
}

// DataRange implements plot.DataRanger: the line widens the y axis to include it.
func (h hline) DataRange() (xmin, xmax, ymin, ymax float64) {
	return math.Inf(1), math.Inf(-1), h.y, h.y
}

// Thumbnail implements plot.Thumbnailer.
func (h hline) Thumbnail(c *draw.Canvas) {
	y := (c.Min.Y + c.Max.Y) / 2
	c.StrokeLine2(h.line, c.Min.X, y, c.Max.X, y)
}

// readableTicks marks up to 7 major ticks at a 1-2-5 step, labelled with
// thousands separators and no needless decimals ("25,000", "0.5"), with a
// minor tick between each pair.
type readableTicks struct{}

// Ticks implements plot.Ticker.
func (readableTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	raw := (hi - lo) / 7
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	decimals := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	var out []plot.Tick
	first := math.Ceil(lo/step-1e-9) * step
	if minor := first - step/2; minor >= lo {
		out = append(out, plot.Tick{Value: minor})
	}
	for i := 0; ; i++ {
		x := first + float64(i)*step
		if x > hi+step*1e-9 {
			break
		}
		out = append(out, plot.Tick{Value: x, Label: tickLabel(x, decimals)})
		if m := x + step/2; m <= hi {
			out = append(out, plot.Tick{Value: m})
		}
	}
	return out
}

// tickLabel formats a tick value with thousands separators and without
// trailing zeros after the point.
func tickLabel(x float64, decimals int) string {
	s := strconv.FormatFloat(x, 'f', decimals, 64)
	if strings.ContainsRune(s, '.') {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if strings.Trim(s, "-0") == "" {
		return "0"
	}
	return group(s)
}

// logTicks marks an axis of log10 values: powers of ten labelled with their
// value ("0.01", "1", "1,000"), 2..9 times each as minor ticks.
type logTicks struct{}

// Ticks implements plot.Ticker.
func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for k := math.Floor(lo); k <= hi+1e-9; k++ {
		if k >= lo-1e-9 {
			out = append(out, plot.Tick{Value: k, Label: tickLabel(math.Pow(10, k), max(0, -int(k)))})
		}
		for m := 2.0; m < 10; m++ {
			if x := k + math.Log10(m); x >= lo && x <= hi {
				out = append(out, plot.Tick{Value: x})
			}
		}
	}
	return out
}
