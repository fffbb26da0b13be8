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
	return fs, o
}

// planned is one scenario ready to run.
type planned struct {
	arg     string
	sc      *scenarios.Scenario
	plan    *scenarios.Plan // the scenario expanded, once: its runs go to sim.Run and come back in its result
	workers int
	dir     string
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
		files, err := reports.Write(p.dir, res)
		if err != nil {
			fmt.Fprintf(a.stderr, "spillway run: %s: %v\n", p.sc.Name, err)
			return exitUsage
		}
		outcomes := reports.CheckExpectations(res)
		failures := reports.Failures(outcomes)
		if !o.quiet {
			a.printSummary(p, res, files, outcomes, elapsed)
		}
		for _, f := range failures {
			fmt.Fprintf(a.stderr, "FAIL %s (variant %s)\n", f, f.Variant)
		}
		if len(failures) > 0 {
			code = exitExpect
		}
	}
	return code
}

// plan loads every scenario and checks it can run before anything runs, so bad
// input fails fast with every problem reported.
func (a *app) plan(args []string, o *runOptions) ([]planned, bool) {
	var plans []planned
	ok := true
	dirs := map[string]string{}
	avail, haveMem := a.memAvailable()
	for _, arg := range args {
		sc, err := scenarios.Open(arg)
		if err != nil {
			printLoadError(a.stderr, arg, err)
			ok = false
			continue
		}
		if o.seedSet {
			sc.Seed = o.seed
		}
		if len(o.set) > 0 {
			if sc, err = o.set.apply(sc); err != nil {
				printSetError(a.stderr, arg, err)
				ok = false
				continue
			}
		}
		plan, err := sc.Plan()
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
		workers := min(o.parallel, len(plan.Runs))
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
		plans = append(plans, planned{arg: arg, sc: sc, plan: plan, workers: max(1, workers), dir: dir})
	}
	return plans, ok
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
	bar := startProgress(a.stderr, !o.quiet && a.isTerminal(a.stderr), p.sc.Name, len(p.plan.Runs))
	res, err := sim.Run(a.ctx, p.plan, sim.Options{Parallel: p.workers, OnRun: func(int, *sim.RunResult) { bar.inc() }})
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

// printSummary prints one line per run with the key metrics, then where the
// report is and how the expectations went.
func (a *app) printSummary(p planned, res *sim.Result, files reports.Files, outcomes []reports.Outcome,
	elapsed time.Duration) {
	w := a.stdout
	fmt.Fprintf(w, "%s: %d run(s) in %s, seed %d\n", p.sc.Name, len(res.Runs), elapsed.Round(time.Millisecond),
		res.Seed)
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
	for _, r := range res.Runs {
		row := []string{r.Label}
		for _, i := range cols {
			v, ok := r.Summary.Get(summaryColumns[i].metric)
			s := "-"
			if ok {
				s = reports.FormatMetric(sim.Metric{Name: summaryColumns[i].metric, Value: v})
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
