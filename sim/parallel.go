package sim

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/spillway-sim/spillway/scenarios"
)

// Run runs every run of the plan — its variants and sweep points — up to
// opts.Parallel at once, and returns their results in the plan's order,
// whatever order they finish in. It is the one way to run the simulator. Each
// result carries its planned Run (label, variant, point and resolved
// scenario), so expectations and reports need nothing else. A run's result does
// not depend on opts.
//
// On failure the error is that of the first failing run in the plan's order.
// Runs after it are cancelled or never started; runs before it, all already
// started, finish first (one of them may fail too).
func Run(ctx context.Context, plan *scenarios.Plan, opts Options) (*Result, error) {
	if plan == nil || plan.Scenario == nil {
		return nil, fmt.Errorf("sim: no plan")
	}
	sc := plan.Scenario
	workers := opts.Parallel
	if workers == 0 {
		workers = 1
	}
	if workers < 1 {
		return nil, fmt.Errorf("sim: %s: %d workers: need at least 1", sc.Name, workers)
	}
	runs := plan.Runs
	res := &Result{Scenario: sc.Name, Seed: sc.Seed, Plan: plan}
	if plan.Repeat > 1 {
		res.Repeat = plan.Repeat
	}
	if len(runs) == 0 {
		return res, nil
	}
	results := make([]*RunResult, len(runs))
	podWorkers := opts.podWorkers(workers, len(runs))
	if workers == 1 {
		// One at a time, on the caller's goroutine: a panic reaches the caller
		// with its own stack (the swarm's no-panic invariant reads it).
		for i, r := range runs {
			rr, err := runOne(ctx, r, plan.Repeat > 1, podWorkers, opts.ParallelMinRecords, opts.SampleBudget)
			if err != nil {
				return nil, fmt.Errorf("sim: %s/%s: %w", sc.Name, r.Label, err)
			}
			results[i] = rr
			if opts.OnRun != nil {
				opts.OnRun(i, rr)
			}
		}
		res.Runs = results
		return res, nil
	}
	f := &firstFailure{at: len(runs), cancels: make([]context.CancelFunc, len(runs)), errs: make([]error, len(runs))}
	var g errgroup.Group
	g.SetLimit(workers)
	// g.Go blocks while workers runs are under way, so runs start in the
	// plan's order: when run i fails, every run before i has started.
	for i, r := range runs {
		rctx, ok := f.start(ctx, i)
		if !ok {
			break
		}
		g.Go(func() error {
			defer f.finish(i)
			defer f.recover(i)
			rr, err := runOne(rctx, r, plan.Repeat > 1, podWorkers, opts.ParallelMinRecords, opts.SampleBudget)
			if err != nil {
				f.fail(i, fmt.Errorf("sim: %s/%s: %w", sc.Name, r.Label, err))
				return nil
			}
			results[i] = rr
			if opts.OnRun != nil {
				opts.OnRun(i, rr)
			}
			return nil
		})
	}
	_ = g.Wait() // the goroutines report through f, never through the group
	if f.panicked != nil {
		panic(f.panicked) // on the caller's goroutine, as a serial run's would be
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	res.Runs = results
	return res, nil
}

// firstFailure tracks the earliest failed run (in the scenario's order) and the
// cancel funcs of the runs under way, so that a failure stops only later runs.
type firstFailure struct {
	mu      sync.Mutex
	at      int // index of the earliest failed run; len(runs) while none has
	cancels []context.CancelFunc
	errs    []error
	// panicked is the first panic of a run (with the run's stack), re-raised
	// by Run on the caller's goroutine.
	panicked any
}

// recover turns a panic of run i into a failure and keeps it for Run to re-raise.
func (f *firstFailure) recover(i int) {
	v := recover()
	if v == nil {
		return
	}
	p := fmt.Sprintf("%v\n\nrun %d's goroutine:\n%s", v, i, debug.Stack())
	f.fail(i, fmt.Errorf("sim: run %d panicked", i))
	f.mu.Lock()
	if f.panicked == nil {
		f.panicked = p
	}
	f.mu.Unlock()
}

// start returns run i's context, or false when an earlier run has failed.
func (f *firstFailure) start(ctx context.Context, i int) (context.Context, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i > f.at {
		return nil, false
	}
	rctx, cancel := context.WithCancel(ctx)
	f.cancels[i] = cancel
	return rctx, true
}

// finish releases run i's context.
func (f *firstFailure) finish(i int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancels[i]()
	f.cancels[i] = nil
}

// fail records run i's error and, if it is now the earliest, cancels later runs.
func (f *firstFailure) fail(i int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[i] = err
	if i >= f.at {
		return
	}
	f.at = i
	for j := i + 1; j < len(f.cancels); j++ {
		if f.cancels[j] != nil {
			f.cancels[j]()
		}
	}
}

// err is the earliest run's error, or nil.
func (f *firstFailure) err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.at < len(f.errs) {
		return f.errs[f.at]
	}
	return nil
}
