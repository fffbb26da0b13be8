package reports

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sync/errgroup"

	"github.com/spillway-sim/spillway/sim"
)

// The file names Write produces in its directory.
const (
	ResultsFile  = "results.json"
	ScenarioFile = "scenario.resolved.yaml"
	ReportFile   = "report.md"
)

// Files lists what Write wrote; every path is dir joined with a file name.
type Files struct {
	// Dir is the directory written to.
	Dir string
	// Results is results.json (MarshalResult).
	Results string
	// Scenario is scenario.resolved.yaml (Scenario.Resolved), for replaying the run.
	Scenario string
	// Report is report.md.
	Report string
	// Plots are the figures, in report order.
	Plots []Plot
}

// Plot is one figure written as PNG and SVG.
type Plot struct {
	// Name is the file stem, e.g. "context_lost".
	Name string
	// Title is the figure's title.
	Title string
	// PNG and SVG are the paths of the two renderings.
	PNG, SVG string
}

// Write writes a result's report into dir (created if needed): results.json,
// scenario.resolved.yaml, report.md and every plot the data supports as PNG and
// SVG. Plot files of a previous report in dir that this one does not produce
// are removed, so the directory always holds one consistent report. The same
// scenario and result give the same bytes in every file. It fills each run's
// Recommendations first (Recommend), so results.json carries them.
func Write(dir string, res *sim.Result) (Files, error) {
	if err := Recommend(res); err != nil {
		return Files{}, err
	}
	v, err := newView(res)
	if err != nil {
		return Files{}, err
	}
	sc := v.sc
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Files{}, fmt.Errorf("reports: %w", err)
	}
	files := Files{Dir: dir, Results: filepath.Join(dir, ResultsFile), Scenario: filepath.Join(dir, ScenarioFile),
		Report: filepath.Join(dir, ReportFile)}

	data, err := MarshalResult(res)
	if err != nil {
		return Files{}, err
	}
	if err := writeFile(files.Results, data); err != nil {
		return Files{}, err
	}
	resolved, err := sc.Resolved()
	if err != nil {
		return Files{}, fmt.Errorf("reports: %w", err)
	}
	if err := writeFile(files.Scenario, resolved); err != nil {
		return Files{}, err
	}

	// Figures are independent: render them on every core, write them in order.
	figs := v.figures()
	type rendered struct{ png, svg []byte }
	out := make([]rendered, len(figs))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, f := range figs {
		g.Go(func() error {
			pngData, svgData, err := f.render()
			out[i] = rendered{pngData, svgData}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return Files{}, err
	}
	written := map[string]bool{}
	for i, f := range figs {
		pngData, svgData := out[i].png, out[i].svg
		pl := Plot{Name: f.name, Title: plotTitle(f), PNG: filepath.Join(dir, f.name+".png"),
			SVG: filepath.Join(dir, f.name+".svg")}
		if err := writeFile(pl.PNG, pngData); err != nil {
			return Files{}, err
		}
		if err := writeFile(pl.SVG, svgData); err != nil {
			return Files{}, err
		}
		written[f.name] = true
		files.Plots = append(files.Plots, pl)
	}
	for _, name := range plotNames {
		if written[name] {
			continue
		}
		for _, ext := range []string{".png", ".svg"} {
			if err := os.Remove(filepath.Join(dir, name+ext)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return Files{}, fmt.Errorf("reports: removing a stale plot: %w", err)
			}
		}
	}

	if err := writeFile(files.Report, v.markdown(files.Plots)); err != nil {
		return Files{}, err
	}
	return files, nil
}

// writeFile writes data to a temporary file beside path and renames it into
// place, so a reader never sees half a file.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("reports: writing %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("reports: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("reports: %w", err)
	}
	return nil
}
