package sim_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/spillway-sim/spillway/reports"
	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim"
)

// parallelScenario is two variants × a two-value sweep: four small runs with a
// scale-in, so the runs differ and each exercises rebalances and spills.
const parallelScenario = `version: 1
name: parallel
seed: 5
duration: 2m
sample_every: 20s
workload: {datapoints: 150, interval: 20s, jitter: 2s}
log: {partitions: 4}
consumers: {replicas: 2, startup: 1s}
timeline:
  - {at: 1m, scale: 1}
variants:
  - {name: memory-only, set: {state.strategy: memory-only}}
  - {name: spill, set: {state.strategy: spill-on-revoke}}
sweep:
  field: consumers.termination_grace
  values: [10s, 30s]
`

func parseParallel(t *testing.T) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Parse("parallel.yaml", []byte(parallelScenario))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func planOf(t *testing.T, sc *scenarios.Scenario) *scenarios.Plan {
	t.Helper()
	plan, err := sc.Plan()
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func marshal(t *testing.T, res *sim.Result) []byte {
	t.Helper()
	b, err := reports.MarshalResult(res)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRunParallelMatchesRun: any number of workers gives Run's result, deep-equal
// and as the same results.json bytes, in the scenario's order even when the
// runs finish out of order.
func TestRunParallelMatchesRun(t *testing.T) {
	plan := planOf(t, parseParallel(t))
	want, err := sim.Run(context.Background(), plan, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Runs) != 4 {
		t.Fatalf("scenario has %d runs, want 4", len(want.Runs))
	}
	wantJSON := marshal(t, want)
	tests := []struct {
		name     string
		workers  int
		reversed bool // hold back each run's completion until the next one's
	}{
		{name: "workers=1", workers: 1},
		{name: "workers=2", workers: 2},
		{name: "workers=4", workers: 4},
		{name: "workers=4/finish-last-first", workers: 4, reversed: true},
		{name: "workers=9", workers: 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			seen := map[int]*sim.RunResult{}
			var order []int
			finished := make([]chan struct{}, 5)
			for i := range finished {
				finished[i] = make(chan struct{})
			}
			close(finished[4])
			got, err := sim.Run(context.Background(), plan, sim.Options{Parallel: tt.workers, OnRun: func(i int, rr *sim.RunResult) {
				if tt.reversed { // all four run at once; i reports after i+1 has
					<-finished[i+1]
				}
				mu.Lock()
				seen[i] = rr
				order = append(order, i)
				mu.Unlock()
				close(finished[i])
			}})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatal("result differs from Run's")
			}
			if gotJSON := marshal(t, got); !bytes.Equal(gotJSON, wantJSON) {
				t.Fatalf("results.json differs from Run's (%d vs %d bytes)", len(gotJSON), len(wantJSON))
			}
			if len(seen) != 4 {
				t.Fatalf("done called for %d runs, want 4", len(seen))
			}
			for i, rr := range seen {
				if rr != got.Runs[i] {
					t.Errorf("done(%d) got run %s, result has %s there", i, rr.Label, got.Runs[i].Label)
				}
			}
			if tt.reversed && !reflect.DeepEqual(order, []int{3, 2, 1, 0}) {
				t.Errorf("completion order %v, want [3 2 1 0]", order)
			}
		})
	}
}

// TestRunParallelErrors: bad input is an error, and a failure reports the first
// failing run in the scenario's order, as Run does, whatever the workers.
func TestRunParallelErrors(t *testing.T) {
	plan := planOf(t, parseParallel(t))
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	runs := plan.Runs
	tests := []struct {
		name    string
		ctx     context.Context
		workers int
		want    string
		is      error
	}{
		{name: "negative-workers", ctx: context.Background(), workers: -1, want: "-1 workers: need at least 1"},
		{name: "canceled/workers=1", ctx: canceled, workers: 1, want: "sim: parallel/" + runs[0].Label + ":",
			is: context.Canceled},
		{name: "canceled/workers=4", ctx: canceled, workers: 4, want: "sim: parallel/" + runs[0].Label + ":",
			is: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			res, err := sim.Run(tt.ctx, plan, sim.Options{Parallel: tt.workers, OnRun: func(int, *sim.RunResult) { calls.Add(1) }})
			if err == nil || res != nil {
				t.Fatalf("got result %v, error %v; want an error", res, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
			if _, serr := sim.Run(tt.ctx, plan, sim.Options{}); tt.workers > 0 && serr.Error() != err.Error() {
				t.Errorf("error %q, Run's %q", err, serr)
			}
			if n := calls.Load(); n != 0 {
				t.Errorf("done called %d times for failed runs", n)
			}
		})
	}
}
