package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spillway-sim/spillway/reports"
	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim"
	"github.com/spillway-sim/spillway/summary"
)

// runOptions are the flags of spillway run.
type runOptions struct {
	out      string
	seed     uint64
	seedSet  bool
	quiet    bool
	parallel int
	force    bool
	set      setFlags // -set path=value, in order
	repeat   int      // -repeat: seeds per variant and sweep point; 0 = the scenario's repeat
	shardArg string   // -shard i/N as written
	shard    shard    // parsed; count 0 = not sharded
}

func (a *app) runFlags() (*flag.FlagSet, *runOptions) {
	o := &runOptions{}
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.StringVar(&o.out, "out", "out", "write each scenario's report to `DIR`/<scenario name>/")
	fs.Uint64Var(&o.seed, "seed", 0, "override the scenario's seed with `N`")
	fs.BoolVar(&o.quiet, "quiet", false, "print only expectation failures and errors")
	fs.IntVar(&o.parallel, "parallel", a.cpus, "run up to `N` variants or sweep points at once (results do not depend on it)")
	fs.BoolVar(&o.force, "force", false, "run even when the estimated memory exceeds MemAvailable")
	fs.Var(&o.set, "set", "override a scenario field, `path=value` (the paths of variants[].set, e.g. "+
		"workload.sample_rate=0.01); repeatable; applied before variants and sweeps")
	fs.IntVar(&o.repeat, "repeat", 0, "run every variant and sweep point with `N` seeds (the scenario's seed, then "+
		"seed+1, ...) and report means with 95% confidence intervals; overrides the scenario's repeat")
	fs.StringVar(&o.shardArg, "shard", "", "run only slice `i/N` of the runs (0 <= i < N; run j is in slice j mod N) "+
		"and write DIR/<name>/"+partialPattern+" for spillway merge instead of a report")
	return fs, o
}

// planned is one scenario ready to run.
type planned struct {
	arg     string
	sc      *scenarios.Scenario
	plan    *scenarios.Plan // the scenario expanded, once: its runs go to sim.Run and come back in its result
	workers int
	dir     string
	// file and src are what the scenario was parsed from (scenarios.Source),
	// recorded in a shard's partial so that merge rebuilds the same plan.
	file string
	src  []byte
	set  setFlags // the -set overrides applied to it
	// shard is the slice of plan.Runs this process runs (count 0: all), and
	// runs the indices of its runs in plan.Runs.
	shard shard
	runs  []int
}

func (a *app) cmdRun(args []string) int {
	fs, o := a.runFlags()
	fs.Usage = func() { fmt.Fprintf(a.stderr, "usage: spillway run %s\n", commands[0].args); fs.PrintDefaults() }
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "seed" {
			o.seedSet = true
		}
	})
	if len(pos) == 0 {
		fmt.Fprintln(a.stderr, "spillway run: name at least one scenario (a shipped name or a file path)")
		fs.Usage()
		return exitUsage
	}
	if o.parallel < 1 {
		fmt.Fprintf(a.stderr, "spillway run: -parallel %d: must be at least 1\n", o.parallel)
		return exitUsage
	}
	if o.repeat < 0 || o.repeat > scenarios.MaxRepeat {
		fmt.Fprintf(a.stderr, "spillway run: -repeat %d: must be 1 to %d\n", o.repeat, scenarios.MaxRepeat)
		return exitUsage
	}
	if o.shardArg != "" {
		if o.shard, err = parseShard(o.shardArg); err != nil {
			fmt.Fprintf(a.stderr, "spillway run: -shard %s: %v\n", o.shardArg, err)
			return exitUsage
		}
	}
	plans, ok := a.plan(pos, o)
	if !ok {
		return exitUsage
	}
	code := exitOK
	for _, p := range plans {
		res, elapsed, err := a.execute(p, o)
		if err != nil {
			fmt.Fprintf(a.stderr, "spillway run: %s: %v\n", p.sc.Name, err)
			return exitUsage
		}
		if p.shard.count > 0 {
			path, err := writePartial(p, res, elapsed)
			if err != nil {
				fmt.Fprintf(a.stderr, "spillway run: %s: %v\n", p.sc.Name, err)
				return exitUsage
			}
			if !o.quiet {
				fmt.Fprintf(a.stdout, "%s: shard %s: %d of %d run(s) in %s, seed %d\npartial: %s (join the shards "+
					"with spillway merge)\n", p.sc.Name, p.shard, len(res.Runs), len(p.plan.Runs),
					elapsed.Round(time.Millisecond), res.Seed, path)
			}
			continue
		}
		if c := a.report("run", p.dir, p.sc.Name, res, elapsed, o.quiet); c != exitOK {
			if c == exitUsage {
				return c
			}
			code = c
		}
	}
	return code
}

// report writes a finished result's report into dir, prints its summary
// (unless quiet) and its expectation failures, and returns the exit code:
// exitExpect when an expectation failed, exitUsage when the report could not
// be written. run and merge share it, so both print the same.
func (a *app) report(verb, dir, name string, res *sim.Result, elapsed time.Duration, quiet bool) int {
	files, err := reports.Write(dir, res)
	if err != nil {
		fmt.Fprintf(a.stderr, "spillway %s: %s: %v\n", verb, name, err)
		return exitUsage
	}
	outcomes := reports.CheckExpectations(res)
	failures := reports.Failures(outcomes)
	if !quiet {
		a.printSummary(name, res, files, outcomes, elapsed)
	}
	for _, f := range failures {
		fmt.Fprintf(a.stderr, "FAIL %s (variant %s)\n", f, f.Variant)
	}
	if len(failures) > 0 {
		return exitExpect
	}
	return exitOK
}

// plan loads every scenario and checks it can run before anything runs, so bad
// input fails fast with every problem reported.
func (a *app) plan(args []string, o *runOptions) ([]planned, bool) {
	var plans []planned
	ok := true
	dirs := map[string]string{}
	avail, haveMem := a.memAvailable()
	for _, arg := range args {
		file, src, err := scenarios.Source(arg)
		if err != nil {
			printLoadError(a.stderr, arg, err)
			ok = false
			continue
		}
		var seed *uint64
		if o.seedSet {
			seed = &o.seed
		}
		sc, plan, err := planScenario(file, src, seed, o.repeat, o.set)
		if se, isSet := err.(setError); isSet {
			printSetError(a.stderr, arg, se.err)
			ok = false
			continue
		}
		if err != nil {
			printLoadError(a.stderr, arg, err)
			ok = false
			continue
		}
		dir := filepath.Join(o.out, sc.Name)
		if first, dup := dirs[dir]; dup {
			fmt.Fprintf(a.stderr, "spillway run: %s and %s are both named %q: they would share %s\n", first, arg,
				sc.Name, dir)
			ok = false
			continue
		}
		dirs[dir] = arg
		runs := make([]int, len(plan.Runs))
		for i := range runs {
			runs[i] = i
		}
		if o.shard.count > 0 {
			runs = plan.ShardRuns(o.shard.index, o.shard.count)
		}
		workers := min(o.parallel, len(runs))
		if est := scenarios.EstimateFootprint(sc); haveMem && est > 0 {
			switch fit := avail / est; {
			case fit < 1 && !o.force:
				fmt.Fprintf(a.stderr, "spillway run: %s: the simulator needs about %s for its largest run and %s is "+
					"available (MemAvailable); shrink the scenario or pass -force to run anyway\n", arg,
					reports.FormatBytes(float64(est)), reports.FormatBytes(float64(avail)))
				ok = false
				continue
			case !o.force && int64(workers) > fit:
				if !o.quiet {
					fmt.Fprintf(a.stderr, "spillway run: %s: running %d at a time instead of %d: each run needs about "+
						"%s and %s is available\n", sc.Name, fit, workers, reports.FormatBytes(float64(est)),
						reports.FormatBytes(float64(avail)))
				}
				workers = int(fit)
			}
		}
		plans = append(plans, planned{arg: arg, sc: sc, plan: plan, workers: max(1, workers), dir: dir, file: file,
			src: src, set: o.set, shard: o.shard, runs: runs})
	}
	return plans, ok
}

// planScenario parses a scenario from its source, applies the command line's
// seed (when not nil) and repeat (when > 0) and expands it into its plan: the
// same steps for run and for merge, so both get the same runs.
func planScenario(file string, src []byte, seed *uint64, repeat int, set setFlags) (*scenarios.Scenario, *scenarios.Plan, error) {
	sc, err := scenarios.Parse(file, src)
	if err != nil {
		return nil, nil, err
	}
	if len(set) > 0 {
		if sc, err = set.apply(sc); err != nil {
			return nil, nil, setError{err}
		}
	}
	if seed != nil {
		sc.Seed = *seed
	}
	if repeat > 0 && repeat != sc.Seeds() {
		sc.Repeat = repeat
		if err := sc.Validate(); err != nil { // e.g. an expect line with of: ci_high and -repeat 1
			return nil, nil, err
		}
	}
	plan, err := sc.Plan()
	if err != nil {
		return nil, nil, err
	}
	return sc, plan, nil
}

// printLoadError prints a scenario error, one located problem per line.
func printLoadError(w io.Writer, arg string, err error) {
	fes := scenarios.FieldErrors(err)
	if len(fes) == 0 {
		fmt.Fprintf(w, "spillway: %s: %v\n", arg, err)
		return
	}
	for _, fe := range fes {
		fmt.Fprintln(w, fe.Error())
	}
}

// execute runs every run of the plan, up to p.workers at once, with sim.Run:
// the results come in the plan's order, so they do not depend on the
// parallelism or on which run finishes first.
func (a *app) execute(p planned, o *runOptions) (*sim.Result, time.Duration, error) {
	start := time.Now()
	plan, label := p.plan, p.sc.Name
	if p.shard.count > 0 {
		plan = &scenarios.Plan{Scenario: p.plan.Scenario, Repeat: p.plan.Repeat}
		for _, j := range p.runs {
			plan.Runs = append(plan.Runs, p.plan.Runs[j])
		}
		label += " shard " + p.shard.String()
	}
	bar := startProgress(a.stderr, a.progressMode(o.quiet, p.plan.Repeat > 1 || p.shard.count > 0), label,
		len(plan.Runs))
	res, err := sim.Run(a.ctx, plan, sim.Options{Parallel: p.workers, OnRun: func(int, *sim.RunResult) { bar.inc() }})
	bar.finish()
	if err != nil {
		return nil, 0, err
	}
	return res, time.Since(start), nil
}

// summaryColumns are the metrics of the terminal summary, with their headers.
var summaryColumns = []struct{ metric, header string }{
	{"context_loss_ratio", "loss ratio"},
	{"context_lost", "lost"},
	{"context_stale_used", "stale used"},
	{"spilled_keys", "spilled"},
	{"spill_duration_max", "spill max"},
	{"latency_p99", "latency p99"},
	{"consumer_lag_max", "lag max"},
	{"rebalances", "rebalances"},
	{"redis_rss_peak_bytes", "redis rss peak"},
}

// summaryRow is one line of the terminal summary: a run, or for a repeated
// result the runs of one variant and sweep point's seeds.
type summaryRow struct {
	label string
	runs  []*sim.RunResult
}

// summaryRows groups the runs by cell (scenarios.Run.Cell), in run order: one
// run per row unless the result is repeated.
func summaryRows(res *sim.Result) []summaryRow {
	var out []summaryRow
	at := map[string]int{}
	for _, r := range res.Runs {
		label := r.Label
		if res.Repeat > 1 && r.Run.Cell != "" {
			label = r.Run.Cell
		}
		i, ok := at[label]
		if !ok {
			i = len(out)
			at[label] = i
			out = append(out, summaryRow{label: label})
		}
		out[i].runs = append(out[i].runs, r)
	}
	return out
}

// printSummary prints one line per run with the key metrics — for a repeated
// result one per variant and sweep point, the mean over its seeds ± the half
// width of the 95 % confidence interval — then where the report is and how
// the expectations went.
func (a *app) printSummary(name string, res *sim.Result, files reports.Files, outcomes []reports.Outcome,
	elapsed time.Duration) {
	w := a.stdout
	fmt.Fprintf(w, "%s: %d run(s) in %s, seed %d", name, len(res.Runs), elapsed.Round(time.Millisecond), res.Seed)
	if res.Repeat > 1 {
		fmt.Fprintf(w, " (%d seeds per variant and sweep point: mean ± 95 %% confidence interval)", res.Repeat)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	var cols []int
	for i, c := range summaryColumns {
		for _, r := range res.Runs {
			if _, ok := r.Summary.Get(c.metric); ok {
				cols = append(cols, i)
				break
			}
		}
	}
	header := []string{"run"}
	for _, i := range cols {
		header = append(header, summaryColumns[i].header)
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, g := range summaryRows(res) {
		row := []string{g.label}
		for _, i := range cols {
			var vals []float64
			for _, r := range g.runs {
				if v, ok := r.Summary.Get(summaryColumns[i].metric); ok {
					vals = append(vals, v)
				}
			}
			s := "-"
			if len(vals) > 0 {
				iv := summary.IntervalOf(vals)
				s = reports.FormatMetric(sim.Metric{Name: summaryColumns[i].metric, Value: iv.Mean})
				if h := iv.HalfWidth(); h > 0 {
					s += " ±" + reports.FormatMetric(sim.Metric{Name: summaryColumns[i].metric, Value: h})
				}
			}
			row = append(row, s)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	if n := len(outcomes); n > 0 {
		failed := len(reports.Failures(outcomes))
		if failed == 0 {
			fmt.Fprintf(w, "expectations: all %d passed\n", n)
		} else {
			fmt.Fprintf(w, "expectations: %d of %d failed\n", failed, n)
		}
	}
	fmt.Fprintf(w, "report: %s (%d plots)\n", files.Report, len(files.Plots))
}
