package sim

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/spillway-sim/spillway/scenarios"
)

// RunParallel runs every variant and sweep point of the scenario, up to workers
// at once, and returns exactly what Run returns: the results in the scenario's
// order, whatever order the runs finish in. Each run has its own engine, seed
// and Redis, and shares nothing with the others, so a run's result does not
// depend on workers. workers below 1 is an error.
//
// On failure the error is the one Run would return: that of the first failing
// run in the scenario's order. Runs after it are cancelled or never started;
// runs before it, all already started, finish first (one of them may fail too).
func RunParallel(ctx context.Context, sc *scenarios.Scenario, workers int) (*Result, error) {
	return RunParallelFunc(ctx, sc, workers, nil)
}

// RunParallelFunc is RunParallel calling done(i, rr) as soon as run i (in the
// scenario's order) has finished successfully, e.g. to draw a progress bar.
// done may be nil. It is called from the runs' goroutines, possibly at the same
// time from several, so it must be safe for concurrent use; it must not modify rr.
func RunParallelFunc(ctx context.Context, sc *scenarios.Scenario, workers int,
	done func(i int, rr *RunResult)) (*Result, error) {
	if workers < 1 {
		return nil, fmt.Errorf("sim: %s: %d workers: need at least 1", sc.Name, workers)
	}
	runs, err := sc.SweepPoints()
	if err != nil {
		return nil, err
	}
	res := &Result{Scenario: sc.Name, Seed: sc.Seed}
	if len(runs) == 0 {
		return res, nil // Run leaves Runs nil too
	}
	results := make([]*RunResult, len(runs))
	// The runs under way at once share the processors: each run's pods get its share.
	podWorkers := min(max(1, runtime.GOMAXPROCS(0)/min(workers, len(runs))), MaxPodWorkers)
	f := &firstFailure{at: len(runs), cancels: make([]context.CancelFunc, len(runs)), errs: make([]error, len(runs))}
	var g errgroup.Group
	g.SetLimit(workers)
	// g.Go blocks while workers runs are under way, so runs start in the
	// scenario's order: when run i fails, every run before i has started.
	for i, r := range runs {
		rctx, ok := f.start(ctx, i)
		if !ok {
			break
		}
		g.Go(func() error {
			defer f.finish(i)
			rr, err := RunOneWith(rctx, r, Options{PodWorkers: podWorkers})
			if err != nil {
				f.fail(i, fmt.Errorf("sim: %s/%s: %w", sc.Name, r.Label, err))
				return nil
			}
			results[i] = rr
			if done != nil {
				done(i, rr)
			}
			return nil
		})
	}
	_ = g.Wait() // the goroutines report through f, never through the group
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
