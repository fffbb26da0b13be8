package reports

import (
	"image/color"
	"math"
	"testing"

	"github.com/spillway-sim/spillway/sim"
)

func figureNames(fs []*figure) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.name)
	}
	return out
}

func TestFiguresFollowTheData(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(res *sim.Result)
		want   []string
	}{
		{name: "everything", mutate: func(*sim.Result) {},
			want: []string{plotContextLost, plotLostByCause, plotLatency, plotLatencyCDF, plotRedisMemory, plotLagPods}},
		{name: "no redis memory columns", mutate: func(res *sim.Result) {
			for _, r := range res.Runs {
				dropColumns(r, colUsedMemory, colRSS, colCOW, colMaxMemory, colSystemMemory)
			}
		}, want: []string{plotContextLost, plotLostByCause, plotLatency, plotLatencyCDF, plotLagPods}},
		{name: "nothing lost", mutate: func(res *sim.Result) {
			for _, r := range res.Runs {
				for i, m := range r.Summary {
					if m.Name == "lost_by_cause.not_spilled" || m.Name == "context_stale_used" {
						r.Summary[i].Value = 0
					}
				}
			}
		}, want: []string{plotContextLost, plotLatency, plotLatencyCDF, plotRedisMemory, plotLagPods}},
		{name: "no latency", mutate: func(res *sim.Result) {
			for _, r := range res.Runs {
				r.Latency = nil
				dropColumns(r, colLatencyP50, colLatencyP99)
			}
		}, want: []string{plotContextLost, plotLostByCause, plotRedisMemory, plotLagPods}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, res := fixture(t)
			tt.mutate(res)
			v, err := newView(res)
			if err != nil {
				t.Fatal(err)
			}
			if got := figureNames(v.figures()); !equalStrings(got, tt.want) {
				t.Errorf("figures %v, want %v", got, tt.want)
			}
		})
	}
}

// dropColumns removes series columns from a run.
func dropColumns(r *sim.RunResult, names ...string) {
	var keep []int
	var cols []string
	for i, c := range r.Series.Columns {
		if !contains(names, c) {
			keep = append(keep, i)
			cols = append(cols, c)
		}
	}
	for j, row := range r.Series.Rows {
		nr := make([]float64, 0, len(keep))
		for _, i := range keep {
			nr = append(nr, row[i])
		}
		r.Series.Rows[j] = nr
	}
	r.Series.Columns = cols
}

func TestRedisMemoryTiles(t *testing.T) {
	_, res := fixture(t)
	third := fixtureRun("third", true)
	third.Run = res.Runs[1].Run
	res.Runs = append(res.Runs, third)
	v, err := newView(res)
	if err != nil {
		t.Fatal(err)
	}
	f := v.redisMemoryFigure()
	if f == nil || len(f.tiles) != 2 || len(f.tiles[0]) != 2 || len(f.tiles[1]) != 1 {
		t.Fatalf("three runs should tile 2 + 1, got %+v", f)
	}
	// System memory (64 MiB) is within 3 x the peak (32 MiB maxmemory): drawn,
	// so the tile title does not call it off scale; it names the event-exact
	// RSS peak (redis_rss_peak_bytes), which the samples may miss.
	if got := f.tiles[0][0].Title.Text; got != "memory-only — peak RSS 10 MiB" {
		t.Errorf("tile title %q", got)
	}
}

func TestSweepAxis(t *testing.T) {
	pts := func(points ...string) []runView {
		var out []runView
		for _, p := range points {
			out = append(out, runView{RunResult: &sim.RunResult{Point: p}})
		}
		return out
	}
	tests := []struct {
		name   string
		points []string
		xs     []float64
		label  string
		ticks  []string
	}{
		{name: "sizes geometric", points: []string{"16MiB", "256MiB", "16MiB"}, xs: []float64{math.Log10(16 << 20),
			math.Log10(256 << 20), math.Log10(16 << 20)}, label: "f (log scale)", ticks: []string{"16MiB", "256MiB"}},
		{name: "durations linear", points: []string{"10s", "30s"}, xs: []float64{10, 30}, label: "f",
			ticks: []string{"10s", "30s"}},
		{name: "numbers", points: []string{"1", "2", "4"}, xs: []float64{1, 2, 4}, label: "f", ticks: []string{"1", "2", "4"}},
		{name: "categories", points: []string{"lz4", "zstd", "lz4"}, xs: []float64{0, 1, 0}, label: "f",
			ticks: []string{"lz4", "zstd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			xs, label, ticks := sweepAxis("f", pts(tt.points...))
			if label != tt.label || len(xs) != len(tt.xs) {
				t.Fatalf("label %q xs %v", label, xs)
			}
			for i := range xs {
				if math.Abs(xs[i]-tt.xs[i]) > 1e-9 {
					t.Errorf("xs %v, want %v", xs, tt.xs)
				}
			}
			var names []string
			for _, tk := range ticks {
				names = append(names, tk.Label)
			}
			if !equalStrings(names, tt.ticks) {
				t.Errorf("ticks %v, want %v", names, tt.ticks)
			}
		})
	}
}

func TestByteScaleFor(t *testing.T) {
	tests := []struct {
		name string
		max  float64
		unit string
	}{
		{name: "bytes", max: 1000, unit: "bytes"},
		{name: "KiB", max: 5000, unit: "KiB"},
		{name: "MiB", max: 3 << 20, unit: "MiB"},
		{name: "GiB", max: 8 << 30, unit: "GiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := byteScaleFor(tt.max); got.unit != tt.unit {
				t.Errorf("unit %s, want %s", got.unit, tt.unit)
			}
		})
	}
}

func TestIntegerTicks(t *testing.T) {
	var labels []string
	for _, tk := range (integerTicks{}).Ticks(0, 6.9) {
		labels = append(labels, tk.Label)
	}
	if want := []string{"0", "1", "2", "3", "4", "5", "6"}; !equalStrings(labels, want) {
		t.Errorf("labels %v", labels)
	}
}

// TestCauseColorsDistinct: every loss cause has its own colour in the
// lost-by-cause chart, and none is the stale-use grey.
func TestCauseColorsDistinct(t *testing.T) {
	seen := map[color.RGBA]string{}
	for _, c := range sim.Causes() {
		r, g, b, a := causeColor(c.String()).RGBA()
		key := color.RGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: uint8(a >> 8)}
		if other, dup := seen[key]; dup {
			t.Errorf("causes %s and %s share colour %v", other, c, key)
		}
		seen[key] = c.String()
	}
	if len(seen) < 14 {
		t.Fatalf("%d causes checked, want every cause", len(seen))
	}
}
