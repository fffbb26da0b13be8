package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spillway-sim/spillway/sim/swarm"
)

// swarmOptions are the flags of spillway swarm.
type swarmOptions struct {
	seeds  int
	seed   uint64
	budget time.Duration
	out    string
}

func (a *app) swarmFlags() (*flag.FlagSet, *swarmOptions) {
	o := &swarmOptions{}
	fs := flag.NewFlagSet("swarm", flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.IntVar(&o.seeds, "seeds", 20, "run seeds 1..`N`")
	fs.Uint64Var(&o.seed, "seed", 0, "run only seed `S` (replays a failure)")
	fs.DurationVar(&o.budget, "budget", 0, "stop starting new seeds after `D` of wall time (0 = no limit)")
	fs.StringVar(&o.out, "out", "out", "write each failing seed's scenario to `DIR`/swarm-seed-S.yaml")
	return fs, o
}

// cmdSwarm draws a scenario per seed, runs it and checks the invariants. Stdout
// depends only on the seeds run (seeds run one at a time, in order); timing and
// progress go to stderr.
func (a *app) cmdSwarm(args []string) int {
	fs, o := a.swarmFlags()
	synopsis := ""
	if c, ok := lookupCommand("swarm"); ok {
		synopsis = c.args
	}
	fs.Usage = func() { fmt.Fprintf(a.stderr, "usage: spillway swarm %s\n", synopsis); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(a.stderr, "spillway swarm: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return exitUsage
	case set["seed"] && set["seeds"]:
		fmt.Fprintln(a.stderr, "spillway swarm: -seed and -seeds are exclusive")
		return exitUsage
	case o.seeds < 1:
		fmt.Fprintf(a.stderr, "spillway swarm: -seeds %d: must be at least 1\n", o.seeds)
		return exitUsage
	case o.budget < 0:
		fmt.Fprintf(a.stderr, "spillway swarm: -budget %s: must not be negative\n", o.budget)
		return exitUsage
	}
	seeds := make([]uint64, 0, o.seeds)
	if set["seed"] {
		seeds = append(seeds, o.seed)
	} else {
		for s := 1; s <= o.seeds; s++ {
			seeds = append(seeds, uint64(s))
		}
	}

	start := time.Now()
	var ran, failed int
	for i, seed := range seeds {
		if i > 0 && o.budget > 0 && time.Since(start) >= o.budget { // the first seed always runs
			fmt.Fprintf(a.stderr, "spillway swarm: budget %s spent; %d of %d seeds not started\n", o.budget,
				len(seeds)-i, len(seeds))
			break
		}
		if err := a.ctx.Err(); err != nil {
			fmt.Fprintf(a.stderr, "spillway swarm: %v\n", err)
			break
		}
		t0 := time.Now()
		rep := swarm.CheckContext(a.ctx, seed)
		ran++
		fmt.Fprintf(a.stderr, "seed %d: %s\n", seed, time.Since(t0).Round(time.Millisecond))
		if rep.OK() {
			fmt.Fprintf(a.stdout, "seed %d: ok (%s)\n", seed, strings.Join(rep.Faults, ", "))
			continue
		}
		failed++
		for _, v := range rep.Violations {
			fmt.Fprintf(a.stdout, "seed %d: FAIL %s\n", seed, v)
			if v.Evidence != "" {
				fmt.Fprintf(a.stderr, "seed %d: %s: %s\n", seed, v.Invariant, v.Evidence)
			}
		}
		fmt.Fprintf(a.stdout, "reproduce: spillway swarm -seed %d\n", seed)
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			fmt.Fprintf(a.stderr, "spillway swarm: %v\n", err)
			continue
		}
		path := filepath.Join(o.out, fmt.Sprintf("swarm-seed-%d.yaml", seed))
		if err := os.WriteFile(path, rep.YAML, 0o644); err != nil {
			fmt.Fprintf(a.stderr, "spillway swarm: %v\n", err)
			continue
		}
		fmt.Fprintf(a.stdout, "scenario: %s\n", path)
	}
	elapsed := time.Since(start)
	fmt.Fprintf(a.stdout, "swarm: %d seeds, %d passed, %d failed, %d invariants checked per seed\n", ran,
		ran-failed, failed, len(swarm.Names()))
	if elapsed > 0 {
		fmt.Fprintf(a.stderr, "swarm: %d seeds in %s (%.1f seeds/minute)\n", ran, elapsed.Round(time.Millisecond),
			float64(ran)/elapsed.Minutes())
	}
	if failed > 0 {
		return exitExpect
	}
	return exitOK
}
