package reports

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim"
)

var keepDir = flag.String("out", "", "also write the fixture reports under this directory, to look at them")

// TestWriteFiles writes each fixture's report once and checks every file: the
// report.md text against its golden file (testdata/<name>.report.md; run with
// -update to rewrite it, then inspect the diff), the plots, results.json and
// the resolved scenario. Then it writes the fixture again into a second
// directory and compares every byte, PNG and SVG included.
func TestWriteFiles(t *testing.T) {
	tests := []struct {
		name      string
		load      func(testing.TB) (*scenarios.Scenario, *sim.Result)
		wantPlots []string
		twice     bool // write a second time and compare bytes
	}{
		{name: "fixture", load: fixture, wantPlots: []string{plotContextLost, plotLostByCause, plotLatency,
			plotLatencyCDF, plotRedisMemory, plotLagPods}, twice: true},
		// The sweep fixture's summaries report no loss causes: no lost-by-cause bars.
		{name: "sweep", load: sweepFixture, wantPlots: []string{plotContextLost, plotLatency,
			plotLatencyCDF, plotLagPods, plotSweep}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, res := tt.load(t)
			dir := t.TempDir()
			if *keepDir != "" {
				dir = filepath.Join(*keepDir, tt.name)
			}
			files, err := Write(dir, res)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, files.Report, filepath.Join("testdata", tt.name+".report.md"))
			var names []string
			for _, p := range files.Plots {
				names = append(names, p.Name)
				for _, f := range []string{p.PNG, p.SVG} {
					if st, err := os.Stat(f); err != nil || st.Size() < 1000 {
						t.Errorf("%s: missing or too small (%v)", f, err)
					}
				}
			}
			if !equalStrings(names, tt.wantPlots) {
				t.Errorf("plots %v, want %v", names, tt.wantPlots)
			}
			for _, f := range []string{files.Results, files.Scenario, files.Report} {
				if st, err := os.Stat(f); err != nil || st.Size() == 0 {
					t.Errorf("%s: missing or empty (%v)", f, err)
				}
			}
			resolved, err := os.ReadFile(files.Scenario)
			if err != nil {
				t.Fatal(err)
			}
			back, err := scenarios.Parse("resolved.yaml", resolved)
			if err != nil {
				t.Fatalf("the resolved scenario does not parse back: %v", err)
			}
			if back.Name != sc.Name || back.Seed != sc.Seed {
				t.Errorf("resolved scenario is %s seed %d, want %s seed %d", back.Name, back.Seed, sc.Name, sc.Seed)
			}
			var decoded sim.Result
			data, err := os.ReadFile(files.Results)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &decoded); err != nil || len(decoded.Runs) != len(res.Runs) {
				t.Errorf("results.json does not decode into the result (%v)", err)
			}
			// runs[].recommendations, for every run with the Redis memory metrics.
			for i, r := range decoded.Runs {
				_, hasMem := res.Runs[i].Summary.Get("redis_used_memory_peak_bytes")
				switch {
				case hasMem && (r.Recommendations == nil || *r.Recommendations != *res.Runs[i].Recommendations):
					t.Errorf("run %s: results.json recommendations %+v, want %+v", r.Label, r.Recommendations,
						res.Runs[i].Recommendations)
				case !hasMem && r.Recommendations != nil:
					t.Errorf("run %s: recommendations %+v without Redis memory metrics", r.Label, r.Recommendations)
				}
			}

			if !tt.twice {
				return
			}
			// Determinism: a second write of an identical result, same bytes.
			_, res2 := tt.load(t)
			again := t.TempDir()
			if _, err := Write(again, res2); err != nil {
				t.Fatal(err)
			}
			fa, fb := listDir(t, dir), listDir(t, again)
			if !equalStrings(fa, fb) {
				t.Fatalf("file lists differ: %v vs %v", fa, fb)
			}
			for _, name := range fa {
				x, _ := os.ReadFile(filepath.Join(dir, name))
				y, _ := os.ReadFile(filepath.Join(again, name))
				if !bytes.Equal(x, y) {
					t.Errorf("%s differs between two writes of the same result", name)
				}
			}
		})
	}
}

// checkGolden compares a file with its golden copy, rewriting the golden copy
// under -update.
func checkGolden(t *testing.T, path, golden string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -run TestWriteFiles -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (rerun with -update and inspect the diff):\n%s", filepath.Base(path), golden,
			firstDiff(string(want), string(got)))
	}
}

// TestWriteRemovesStalePlots: a report without Redis memory columns removes a
// previous report's redis_memory plot from the directory.
func TestWriteRemovesStalePlots(t *testing.T) {
	dir := t.TempDir()
	for _, ext := range []string{".png", ".svg"} { // as a previous report left them
		if err := os.WriteFile(filepath.Join(dir, plotRedisMemory+ext), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, res := fixture(t)
	for _, r := range res.Runs {
		r.Series.Columns = r.Series.Columns[:len(r.Series.Columns)-5]
		for i := range r.Series.Rows {
			r.Series.Rows[i] = r.Series.Rows[i][:len(r.Series.Columns)]
		}
	}
	files, err := Write(dir, res)
	if err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{".png", ".svg"} {
		if _, err := os.Stat(filepath.Join(dir, plotRedisMemory+ext)); !os.IsNotExist(err) {
			t.Errorf("stale %s%s still there (%v)", plotRedisMemory, ext, err)
		}
	}
	if len(files.Plots) != 5 {
		t.Errorf("%d plots, want 5", len(files.Plots))
	}
	for _, name := range listDir(t, dir) {
		if name[0] == '.' {
			t.Errorf("temporary file %s left behind", name)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	_, res := fixture(t)
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	unplanned := *res.Runs[0]
	unplanned.Run = scenarios.Run{}
	tests := []struct {
		name string
		dir  string
		res  *sim.Result
	}{
		{name: "nil result", dir: t.TempDir()},
		{name: "no plan", dir: t.TempDir(), res: &sim.Result{Scenario: res.Scenario, Runs: res.Runs}},
		{name: "dir is a file", dir: filepath.Join(file, "sub"), res: res},
		{name: "nil run", dir: t.TempDir(), res: &sim.Result{Scenario: "x", Plan: res.Plan, Runs: []*sim.RunResult{nil}}},
		{name: "run without its scenario", dir: t.TempDir(),
			res: &sim.Result{Scenario: "x", Plan: res.Plan, Runs: []*sim.RunResult{&unplanned}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Write(tt.dir, tt.res); err == nil {
				t.Error("no error")
			}
		})
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
