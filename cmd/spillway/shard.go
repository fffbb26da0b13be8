package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spillway-sim/spillway/sim"
)

// Sharding splits a scenario's planned runs (variants x sweep points x seeds)
// into N deterministic slices (scenarios.Plan.ShardRuns: run j in slice j mod
// N) that separate processes — a Kubernetes Indexed Job's pods, a CI matrix's
// jobs — run with spillway run -shard i/N. Each writes a partial: its runs'
// results, exactly (every float bit), with what merge needs to check and
// rebuild the plan: the scenario's bytes, their sha256, the seed and repeat
// the runs used, the program version, the shard index and count. spillway
// merge checks that the partials belong together and cover every slice once,
// rebuilds the plan from the recorded bytes, puts each run back at its place
// and writes the report with reports.Write — the same code and the same inputs
// as an unsharded run, hence the same bytes.

// partialFormat names the partial file format; merge refuses any other.
const partialFormat = "spillway-partial/1"

// partialPattern is the partial's file name in DIR/<scenario name>/.
const partialPattern = "partial-<i>-of-<N>.json"

// shard is one slice of a plan: index of count (count 0: the whole plan).
type shard struct{ index, count int }

func (s shard) String() string { return fmt.Sprintf("%d/%d", s.index, s.count) }

// fileName is the shard's partial file name (partialPattern).
func (s shard) fileName() string { return fmt.Sprintf("partial-%d-of-%d.json", s.index, s.count) }

// parseShard reads "i/N": 0 <= i < N, as a Kubernetes completion index counts.
func parseShard(arg string) (shard, error) {
	i, n, ok := strings.Cut(arg, "/")
	index, err1 := strconv.Atoi(strings.TrimSpace(i))
	count, err2 := strconv.Atoi(strings.TrimSpace(n))
	switch {
	case !ok || err1 != nil || err2 != nil:
		return shard{}, errors.New("write i/N, e.g. 0/3 for the first of three slices")
	case count < 1:
		return shard{}, fmt.Errorf("%d slices: need at least 1", count)
	case index < 0 || index >= count:
		return shard{}, fmt.Errorf("slice %d does not exist: slices are numbered 0 to %d (like JOB_COMPLETION_INDEX)",
			index, count-1)
	}
	return shard{index: index, count: count}, nil
}

// version is the program's version, stamped at build time with
// -ldflags "-X main.version=..." (make build stamps git describe).
var version string

// programVersion identifies the build, so that merge refuses partials of
// different programs: the stamped version, else the module version and VCS
// revision Go records, else (a build without VCS stamping, a test binary)
// the sha256 of the executable; and the Go version in every case.
var programVersion = sync.OnceValue(func() string {
	v := version
	if v == "" {
		v = buildVersion()
	}
	return v + " " + runtime.Version()
})

func buildVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision":
				rev = s.Value
			case s.Key == "vcs.modified" && s.Value == "true":
				dirty = "+dirty"
			}
		}
		if rev != "" {
			return info.Main.Version + " " + rev + dirty
		}
	}
	exe, err := os.Executable()
	if err == nil {
		var f *os.File
		if f, err = os.Open(exe); err == nil {
			defer f.Close()
			h := sha256.New()
			if _, err = io.Copy(h, f); err == nil {
				return "build " + hex.EncodeToString(h.Sum(nil))[:16]
			}
		}
	}
	return "unknown build (" + err.Error() + ")"
}

// partial is one shard's file.
type partial struct {
	Format  string `json:"format"`
	Version string `json:"version"`
	// Scenario is the scenario name; File and Source what it was parsed from
	// (scenarios.Source), SHA256 the hash of Source.
	Scenario string `json:"scenario"`
	File     string `json:"file"`
	SHA256   string `json:"sha256"`
	Source   []byte `json:"source"`
	// Seed and Repeat are the scenario's after the command line's -seed and
	// -repeat: what the plan was expanded with.
	Seed   uint64 `json:"seed"`
	Repeat int    `json:"repeat"`
	// Set is the command line's -set overrides, in order.
	Set   setFlags `json:"set,omitempty"`
	Index int      `json:"shard_index"`
	Count int      `json:"shard_count"`
	// Total is the number of runs of the whole plan.
	Total int `json:"runs_total"`
	// WallSeconds is how long the shard took (for the merge's printout).
	WallSeconds float64      `json:"wall_s"`
	Runs        []partialRun `json:"runs"`
}

// partialRun is one run's result and its index in the plan. It embeds the
// RunResult, so every field results.json has (and any added later) travels,
// except the summary, whose results.json form rounds values to 10 digits and
// drops units: it travels exactly instead.
type partialRun struct {
	Index int `json:"index"`
	*sim.RunResult
	Summary []exactMetric `json:"summary"`
}

// exactMetric is a summary metric as encoding/json writes a float64: the
// shortest text that reads back to the same bits.
type exactMetric struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"`
}

// writePartial writes a shard's results to DIR/<name>/partial-<i>-of-<N>.json.
func writePartial(p planned, res *sim.Result, wall time.Duration) (string, error) {
	sum := sha256.Sum256(p.src)
	pt := partial{Format: partialFormat, Version: programVersion(), Scenario: p.sc.Name, File: p.file,
		SHA256: hex.EncodeToString(sum[:]), Source: p.src, Seed: p.sc.Seed, Repeat: p.plan.Repeat, Set: p.set,
		Index: p.shard.index, Count: p.shard.count, Total: len(p.plan.Runs), WallSeconds: wall.Seconds(),
		Runs: []partialRun{}}
	if len(res.Runs) != len(p.runs) {
		return "", fmt.Errorf("shard %s: %d results for %d runs", p.shard, len(res.Runs), len(p.runs))
	}
	for i, rr := range res.Runs {
		pr := partialRun{Index: p.runs[i], RunResult: rr, Summary: []exactMetric{}}
		for _, m := range rr.Summary {
			pr.Summary = append(pr.Summary, exactMetric(m))
		}
		pt.Runs = append(pt.Runs, pr)
	}
	data, err := json.Marshal(pt)
	if err != nil {
		return "", fmt.Errorf("encoding the partial: %w", err)
	}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(p.dir, p.shard.fileName())
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return "", err
	}
	return path, os.Rename(tmp, path)
}

// readPartial reads and checks one partial file.
func readPartial(path string) (*partial, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pt partial
	if err := json.Unmarshal(data, &pt); err != nil {
		return nil, fmt.Errorf("%s: not a spillway partial: %v", path, err)
	}
	if pt.Format != partialFormat {
		return nil, fmt.Errorf("%s: format %q, this build reads %q", path, pt.Format, partialFormat)
	}
	if sum := sha256.Sum256(pt.Source); hex.EncodeToString(sum[:]) != pt.SHA256 {
		return nil, fmt.Errorf("%s: the scenario it carries does not match its sha256: the file is damaged", path)
	}
	if pt.Count < 1 || pt.Index < 0 || pt.Index >= pt.Count {
		return nil, fmt.Errorf("%s: shard %d/%d does not exist", path, pt.Index, pt.Count)
	}
	return &pt, nil
}

func (a *app) mergeFlags() (*flag.FlagSet, *mergeOptions) {
	o := &mergeOptions{}
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.StringVar(&o.out, "out", "out", "write each scenario's report to `DIR`/<scenario name>/")
	fs.BoolVar(&o.quiet, "quiet", false, "print only expectation failures and errors")
	return fs, o
}

// mergeOptions are the flags of spillway merge.
type mergeOptions struct {
	out   string
	quiet bool
}

// cmdMerge joins partials: grouped by scenario (in the order first given),
// each group checked to come from one scenario file, one build, one seed and
// repeat and one shard count, with every slice present once, then written as
// the report an unsharded run writes, expectations checked. Nothing is
// written unless every group checks out.
func (a *app) cmdMerge(args []string) int {
	fs, o := a.mergeFlags()
	fs.Usage = func() {
		c, _ := lookupCommand("merge")
		fmt.Fprintf(a.stderr, "usage: spillway merge %s\n", c.args)
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if len(pos) == 0 {
		fmt.Fprintln(a.stderr, "spillway merge: name the partial files (DIR/<scenario>/partial-*.json) to join")
		fs.Usage()
		return exitUsage
	}
	type group struct {
		parts []*partial
		paths []string
	}
	var order []string
	groups := map[string]*group{}
	for _, path := range pos {
		pt, err := readPartial(path)
		if err != nil {
			fmt.Fprintf(a.stderr, "spillway merge: %v\n", err)
			return exitUsage
		}
		g, ok := groups[pt.Scenario]
		if !ok {
			g = &group{}
			groups[pt.Scenario] = g
			order = append(order, pt.Scenario)
		}
		g.parts = append(g.parts, pt)
		g.paths = append(g.paths, path)
	}
	var results []*sim.Result
	var walls []string
	var longest []time.Duration // per group: its slowest shard, the wall time of the sharded run
	for _, name := range order {
		g := groups[name]
		res, err := joinPartials(g.parts, g.paths)
		if err != nil {
			fmt.Fprintf(a.stderr, "spillway merge: %s: %v\n", name, err)
			return exitUsage
		}
		results = append(results, res)
		var w []string
		var slowest time.Duration
		for i := range g.parts {
			d := time.Duration(g.parts[i].WallSeconds * float64(time.Second))
			w = append(w, roundDuration(d).String())
			slowest = max(slowest, d)
		}
		walls = append(walls, strings.Join(w, ", "))
		longest = append(longest, slowest)
	}
	code := exitOK
	for i, res := range results {
		if !o.quiet {
			fmt.Fprintf(a.stdout, "%s: merged %d shard(s) (wall times %s; the slowest is the time below)\n",
				res.Scenario, len(groups[order[i]].parts), walls[i])
		}
		c := a.report("merge", filepath.Join(o.out, res.Scenario), res.Scenario, res, longest[i], o.quiet)
		if c == exitUsage {
			return c
		}
		code = max(code, c)
	}
	return code
}

// joinPartials checks that the partials of one scenario belong together and
// cover every slice once, and returns the whole result, as sim.Run would have.
func joinPartials(parts []*partial, paths []string) (*sim.Result, error) {
	ref, refPath := parts[0], paths[0]
	bySlice := map[int]string{}
	for i, pt := range parts {
		path := paths[i]
		switch {
		case pt.SHA256 != ref.SHA256:
			return nil, fmt.Errorf("%s and %s come from different scenario files (sha256 %.12s… vs %.12s…): run "+
				"every shard on the same file", refPath, path, ref.SHA256, pt.SHA256)
		case pt.Version != ref.Version:
			return nil, fmt.Errorf("%s and %s were written by different program versions (%s vs %s): run every "+
				"shard with the same spillway build", refPath, path, ref.Version, pt.Version)
		case pt.Count != ref.Count:
			return nil, fmt.Errorf("%s is shard %d/%d but %s is shard %d/%d: different shard counts", refPath,
				ref.Index, ref.Count, path, pt.Index, pt.Count)
		case pt.Seed != ref.Seed:
			return nil, fmt.Errorf("%s ran seed %d but %s ran seed %d: run every shard with the same -seed", refPath,
				ref.Seed, path, pt.Seed)
		case pt.Set.String() != ref.Set.String():
			return nil, fmt.Errorf("%s ran with -set %q but %s with -set %q: run every shard with the same -set", refPath,
				ref.Set.String(), path, pt.Set.String())
		case pt.Repeat != ref.Repeat:
			return nil, fmt.Errorf("%s ran %d seed(s) per run but %s ran %d: run every shard with the same -repeat",
				refPath, ref.Repeat, path, pt.Repeat)
		}
		if first, dup := bySlice[pt.Index]; dup {
			return nil, fmt.Errorf("shard %d/%d is given twice: %s and %s", pt.Index, pt.Count, first, path)
		}
		bySlice[pt.Index] = path
	}
	var missing []string
	for i := 0; i < ref.Count; i++ {
		if _, ok := bySlice[i]; !ok {
			missing = append(missing, fmt.Sprintf("%d/%d", i, ref.Count))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("shard %s missing: give every partial-<i>-of-%d.json, i = 0 to %d",
			strings.Join(missing, ", "), ref.Count, ref.Count-1)
	}
	if ref.Version != programVersion() {
		return nil, fmt.Errorf("the partials were written by %s and this is %s: merge with the build that ran "+
			"the shards, so the report is the one it would have written", ref.Version, programVersion())
	}
	seed := ref.Seed
	sc, plan, err := planScenario(ref.File, ref.Source, &seed, ref.Repeat, ref.Set)
	if err != nil {
		return nil, fmt.Errorf("the scenario in %s: %w", refPath, err)
	}
	if len(plan.Runs) != ref.Total {
		return nil, fmt.Errorf("the partials hold a plan of %d runs but the scenario they carry plans %d", ref.Total,
			len(plan.Runs))
	}
	runs := make([]*sim.RunResult, len(plan.Runs))
	for i, pt := range parts {
		want := plan.ShardRuns(pt.Index, pt.Count)
		if len(pt.Runs) != len(want) {
			return nil, fmt.Errorf("%s holds %d runs, shard %d/%d has %d", paths[i], len(pt.Runs), pt.Index, pt.Count,
				len(want))
		}
		for k, pr := range pt.Runs {
			j := want[k]
			if pr.Index != j || pr.RunResult == nil || pr.Label != plan.Runs[j].Label {
				return nil, fmt.Errorf("%s: run %d is not run %d (%s) of the plan", paths[i], k, j, plan.Runs[j].Label)
			}
			rr := pr.RunResult
			rr.Summary = make(sim.Summary, len(pr.Summary))
			for m, em := range pr.Summary {
				rr.Summary[m] = sim.Metric(em)
			}
			rr.Run = plan.Runs[j]
			runs[j] = rr
		}
	}
	res := &sim.Result{Scenario: sc.Name, Seed: sc.Seed, Runs: runs, Plan: plan}
	if plan.Repeat > 1 {
		res.Repeat = plan.Repeat
	}
	return res, nil
}

// sha256Hex is the hex sha256 of data.
func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
