package scenarios

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

const repeatGrid = head + `seed: 40
repeat: 3
variants:
  - {name: a, set: {state.strategy: memory-only}}
  - {name: b, set: {state.strategy: spill-on-revoke}}
sweep: {field: state.spill_parallelism, values: [1, 4]}
`

// TestPlanRepeat: with repeat, every variant and sweep point runs with the
// seeds seed, seed+1, ..., in that order within each cell, each run's
// scenario carrying its seed; without it the plan is the grid, unchanged.
func TestPlanRepeat(t *testing.T) {
	s, err := Parse("t.yaml", []byte(repeatGrid))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := s.Plan()
	if err != nil {
		t.Fatal(err)
	}
	if plan.Repeat != 3 || len(plan.Runs) != 12 {
		t.Fatalf("repeat %d, %d runs; want 3, 12", plan.Repeat, len(plan.Runs))
	}
	var got []string
	for _, r := range plan.Runs {
		got = append(got, fmt.Sprintf("%s|%s|%s|%s|%d|%d|%d", r.Label, r.Cell, r.Variant, r.Point, r.Seed, r.SeedIndex,
			r.Scenario.Seed))
	}
	want := []string{
		"a/state.spill_parallelism=1/seed=40|a/state.spill_parallelism=1|a|1|40|0|40",
		"a/state.spill_parallelism=1/seed=41|a/state.spill_parallelism=1|a|1|41|1|41",
		"a/state.spill_parallelism=1/seed=42|a/state.spill_parallelism=1|a|1|42|2|42",
		"a/state.spill_parallelism=4/seed=40|a/state.spill_parallelism=4|a|4|40|0|40",
		"a/state.spill_parallelism=4/seed=41|a/state.spill_parallelism=4|a|4|41|1|41",
		"a/state.spill_parallelism=4/seed=42|a/state.spill_parallelism=4|a|4|42|2|42",
		"b/state.spill_parallelism=1/seed=40|b/state.spill_parallelism=1|b|1|40|0|40",
		"b/state.spill_parallelism=1/seed=41|b/state.spill_parallelism=1|b|1|41|1|41",
		"b/state.spill_parallelism=1/seed=42|b/state.spill_parallelism=1|b|1|42|2|42",
		"b/state.spill_parallelism=4/seed=40|b/state.spill_parallelism=4|b|4|40|0|40",
		"b/state.spill_parallelism=4/seed=41|b/state.spill_parallelism=4|b|4|41|1|41",
		"b/state.spill_parallelism=4/seed=42|b/state.spill_parallelism=4|b|4|42|2|42",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("runs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if plan.Runs[0].Scenario == plan.Runs[1].Scenario || s.Seed != 40 {
		t.Error("the seeds of a cell share a scenario, or the plan changed the scenario's seed")
	}
	if plan.Runs[4].Scenario.State.SpillParallelism != 4 || plan.Runs[7].Scenario.State.Strategy != StrategySpillOnRevoke {
		t.Error("a repeated run lost its variant or sweep overrides")
	}

	// A scenario without variants or sweep: the label is the seed alone.
	one, err := Parse("t.yaml", []byte(head+"seed: 7\nrepeat: 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	p1, err := one.Plan()
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.Runs) != 2 || p1.Runs[0].Label != "seed=7" || p1.Runs[1].Label != "seed=8" || p1.Runs[1].Cell != "default" {
		t.Errorf("runs %+v", p1.Runs)
	}

	// Without repeat: the grid as before, each run its own cell.
	s.Repeat = 0
	grid, _ := s.Plan()
	points, _ := s.SweepPoints()
	if grid.Repeat != 1 || len(grid.Runs) != 4 || len(points) != 4 {
		t.Fatalf("repeat %d, %d runs", grid.Repeat, len(grid.Runs))
	}
	for i, r := range grid.Runs {
		if r.Label != points[i].Label || r.Cell != r.Label || r.Seed != 40 || r.SeedIndex != 0 || r.Scenario != points[i].Scenario && r.Scenario.Seed != 40 {
			t.Errorf("run %d: %+v", i, r)
		}
	}
}

func TestRepeatSeeds(t *testing.T) {
	if got := RepeatSeeds(5, 3); !reflect.DeepEqual(got, []uint64{5, 6, 7}) {
		t.Errorf("RepeatSeeds(5, 3) = %v", got)
	}
	if got := RepeatSeeds(math.MaxUint64, 2); !reflect.DeepEqual(got, []uint64{math.MaxUint64, 0}) {
		t.Errorf("RepeatSeeds wraps to %v", got)
	}
	if got := RepeatSeeds(9, 0); !reflect.DeepEqual(got, []uint64{9}) {
		t.Errorf("RepeatSeeds(9, 0) = %v", got)
	}
}

func TestRepeatValidation(t *testing.T) {
	tests := []struct {
		name string
		src  string // after head (lines 1-2)
		want []string
	}{
		{name: "zero", src: "repeat: 0\n", want: []string{
			"t.yaml:3: repeat: must be at least 1 (the number of seeds per variant and sweep point), got 0"}},
		{name: "negative", src: "repeat: -2\n", want: []string{
			"t.yaml:3: repeat: must be at least 1 (the number of seeds per variant and sweep point), got -2"}},
		{name: "too many", src: "repeat: 1001\n", want: []string{"t.yaml:3: repeat: 1001 seeds: at most 1000"}},
		{name: "unknown of", src: "repeat: 3\nexpect:\n  - {metric: messages, max: 1, of: median}\n", want: []string{
			`t.yaml:5: expect[0].of: "median" is not one of every, mean, ci_low, ci_high (did you mean mean?)`}},
		{name: "interval without repeat", src: "expect:\n  - {metric: messages, max: 1, of: ci_high}\n", want: []string{
			"t.yaml:4: expect[0].of: ci_high is an end of a confidence interval over seeds: it needs repeat: 2 or " +
				"more (the scenario runs 1 seed per variant and sweep point)"}},
		{name: "variant sets repeat", src: "variants: [{name: a, set: {repeat: 3}}]\n", want: []string{
			"t.yaml:3: variants[0].set.repeat: cannot be overridden (a variant or sweep changes how a run behaves, not " +
				"the scenario's identity or its runs)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErrors(t, head+tt.src, tt.want) })
	}
	for _, ok := range []string{"repeat: 1\n", "repeat: 2\nexpect:\n  - {metric: messages, max: 1, of: ci_low}\n",
		"expect:\n  - {metric: messages, max: 1, of: mean}\n", "expect:\n  - {metric: messages, max: 1, of: every}\n"} {
		if _, err := Parse("t.yaml", []byte(head+ok)); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

// TestEvaluateOverSeeds: a bound with of: mean, ci_low or ci_high is checked
// once per cell against that statistic of the cell's seeds; every (the
// default) checks each seed.
func TestEvaluateOverSeeds(t *testing.T) {
	s, err := Parse("t.yaml", []byte(repeatGrid))
	if err != nil {
		t.Fatal(err)
	}
	plan, _ := s.Plan()
	// Cell a/1 gives 1, 2, 3 (mean 2, 95 % interval 2 ± 4.303 × 1/√3 = [-0.484, 4.484]);
	// every other cell 10, 10, 10.
	lookup := func(i int, metric string) (float64, bool) {
		if metric != "messages" {
			return 0, false
		}
		if i < 3 {
			return float64(i + 1), true
		}
		return 10, true
	}
	max := func(v float64) *Bound { return &Bound{Value: v} }
	tests := []struct {
		name string
		e    Expectation
		want []string // run: value pass
	}{
		{name: "mean", e: Expectation{Metric: "messages", Max: max(5), Of: ExpectMean}, want: []string{
			"a/state.spill_parallelism=1 mean 3 seeds: 2 true", "a/state.spill_parallelism=4 mean 3 seeds: 10 false",
			"b/state.spill_parallelism=1 mean 3 seeds: 10 false", "b/state.spill_parallelism=4 mean 3 seeds: 10 false"}},
		{name: "ci_high of one variant", e: Expectation{Variant: "a", Point: "1", Metric: "messages", Max: max(4.4),
			Of: ExpectCIHigh}, want: []string{"a/state.spill_parallelism=1 ci_high 3 seeds: 4.484 false"}},
		{name: "ci_low", e: Expectation{Variant: "a", Point: "1", Metric: "messages", Min: max(-1), Of: ExpectCILow},
			want: []string{"a/state.spill_parallelism=1 ci_low 3 seeds: -0.4841 true"}},
		{name: "every", e: Expectation{Variant: "a", Point: "1", Metric: "messages", Max: max(2)}, want: []string{
			"a/state.spill_parallelism=1/seed=40  0 seeds: 1 true", "a/state.spill_parallelism=1/seed=41  0 seeds: 2 true",
			"a/state.spill_parallelism=1/seed=42  0 seeds: 3 false"}},
		{name: "missing", e: Expectation{Variant: "b", Point: "4", Metric: "rebalances", Max: max(2), Of: ExpectMean},
			want: []string{"b/state.spill_parallelism=4 mean 3 seeds: 0 false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, o := range Evaluate("s", plan.Runs, []Expectation{tt.e}, lookup) {
				got = append(got, fmt.Sprintf("%s %s %d seeds: %.4g %v", o.Run, o.Of, o.Seeds, o.Value, o.Pass))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
	f := Evaluate("s", plan.Runs, []Expectation{tests[1].e}, lookup)[0].Failure()
	if want := "s: run a/state.spill_parallelism=1: ci_high of messages over 3 seeds = 4.48414 is above max 4.4"; f.String() != want {
		t.Errorf("failure %q, want %q", f, want)
	}
}

func TestShardRuns(t *testing.T) {
	s, _ := Parse("t.yaml", []byte(repeatGrid))
	plan, _ := s.Plan()
	for _, n := range []int{1, 2, 3, 5, 12, 13} {
		seen := make([]int, len(plan.Runs))
		for i := 0; i < n; i++ {
			for _, j := range plan.ShardRuns(i, n) {
				if j%n != i {
					t.Errorf("%d slices: run %d in slice %d", n, j, i)
				}
				seen[j]++
			}
		}
		for j, c := range seen {
			if c != 1 {
				t.Errorf("%d slices: run %d in %d slices", n, j, c)
			}
		}
	}
	if got := plan.ShardRuns(1, 3); !reflect.DeepEqual(got, []int{1, 4, 7, 10}) {
		t.Errorf("ShardRuns(1, 3) = %v", got)
	}
}
