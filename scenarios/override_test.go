package scenarios

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustLoad(t *testing.T, path string) *Scenario {
	t.Helper()
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestWith(t *testing.T) {
	tests := []struct {
		name  string
		base  string // default testdata/full.yaml
		set   map[string]any
		check func(t *testing.T, s *Scenario)
	}{
		{name: "strategy", set: map[string]any{"state.strategy": "memory-only"}, check: func(t *testing.T, s *Scenario) {
			if s.State.Strategy != StrategyMemoryOnly {
				t.Fatalf("strategy %q", s.State.Strategy)
			}
		}},
		{name: "size text", set: map[string]any{"redis.maxmemory": "3GiB"}, check: func(t *testing.T, s *Scenario) {
			if s.Redis.MaxMemory != 3*GiB {
				t.Fatalf("maxmemory %v", s.Redis.MaxMemory)
			}
		}},
		{name: "typed values", set: map[string]any{"redis.maxmemory": 2 * GiB, "consumers.termination_grace": 10 * time.Second,
			"log.session_timeout": Duration(20 * time.Second)}, check: func(t *testing.T, s *Scenario) {
			if s.Redis.MaxMemory != 2*GiB || s.Consumers.TerminationGrace.Std() != 10*time.Second ||
				s.Log.SessionTimeout.Std() != 20*time.Second {
				t.Fatalf("got %v %v %v", s.Redis.MaxMemory, s.Consumers.TerminationGrace, s.Log.SessionTimeout)
			}
		}},
		{name: "bool", set: map[string]any{"log.static_membership": true}, check: func(t *testing.T, s *Scenario) {
			if !s.Log.StaticMembership {
				t.Fatal("static membership not set")
			}
		}},
		{name: "ttl replaces ttl_intervals", set: map[string]any{"state.ttl": "2m"}, check: func(t *testing.T, s *Scenario) {
			if s.State.TTL.Std() != 2*time.Minute || s.State.TTLIntervals != 0 {
				t.Fatalf("ttl %v ttl_intervals %d", s.State.TTL, s.State.TTLIntervals)
			}
		}},
		{name: "mix replaces interval", set: map[string]any{"workload.intervals": []any{
			map[string]any{"fraction": 0.5, "interval": "10s"}, map[string]any{"fraction": 0.5, "interval": "1m"}}},
			check: func(t *testing.T, s *Scenario) {
				if s.Workload.Interval != 0 || len(s.Workload.Intervals) != 2 || s.Workload.Intervals[0].Interval.Std() != 10*time.Second {
					t.Fatalf("workload %+v", s.Workload)
				}
			}},
		{name: "autoscaler field allocates with defaults", base: "testdata/minimal.yaml", set: map[string]any{"consumers.autoscaler.max": 20},
			check: func(t *testing.T, s *Scenario) {
				a := s.Consumers.Autoscaler
				if a == nil || a.Max != 20 || a.Min != 1 || a.TargetCPU != 0.8 {
					t.Fatalf("autoscaler %+v", a)
				}
			}},
		{name: "null removes the autoscaler", set: map[string]any{"consumers.autoscaler": nil}, check: func(t *testing.T, s *Scenario) {
			if s.Consumers.Autoscaler != nil {
				t.Fatal("autoscaler kept")
			}
		}},
		{name: "timeline", set: map[string]any{"timeline": []any{map[string]any{"at": "1m", "bgsave": true}}},
			check: func(t *testing.T, s *Scenario) {
				if len(s.Timeline) != 1 || !s.Timeline[0].BGSave {
					t.Fatalf("timeline %+v", s.Timeline)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.base
			if file == "" {
				file = "testdata/full.yaml"
			}
			base := mustLoad(t, file)
			before, _ := base.Resolved()
			got, err := base.With(tt.set)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
			after, _ := base.Resolved()
			if string(before) != string(after) {
				t.Fatal("With modified its receiver")
			}
		})
	}
}

func TestWithErrors(t *testing.T) {
	tests := []struct {
		name string
		set  map[string]any
		want string
	}{
		{name: "bad enum", set: map[string]any{"state.strategy": "memory"},
			want: `testdata/full.yaml: override: state.strategy: "memory" is not one of memory-only, spill-on-revoke, write-through, checkpoint (did you mean memory-only?)`},
		{name: "bad duration", set: map[string]any{"consumers.termination_grace": 30},
			want: `testdata/full.yaml: override: consumers.termination_grace: "30" is not a duration (write e.g. 30s)`},
		{name: "unknown path", set: map[string]any{"redis.max_memory": "1GiB"},
			want: `testdata/full.yaml: override: redis.max_memory: unknown field path (did you mean redis.maxmemory?)`},
		{name: "forbidden", set: map[string]any{"variants": nil},
			want: `testdata/full.yaml: override: variants: cannot be overridden (a variant or sweep changes how a run behaves, not the scenario's identity or its runs)`},
		{name: "revalidated", set: map[string]any{"redis.maxmemory": "16GiB"},
			want: `testdata/full.yaml: override: redis.maxmemory: 16GiB is above redis.system_memory (8GiB)`},
		{name: "explicit zero is kept and refused", set: map[string]any{"log.session_timeout": "0s"},
			want: `testdata/full.yaml: override: log.session_timeout: 0s is outside 6s..30m (the broker's group.min/max.session.timeout.ms)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mustLoad(t, "testdata/full.yaml").With(tt.set)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("With error =\n  %v\nwant\n  %s", err, tt.want)
			}
		})
	}
}

func TestVariantRuns(t *testing.T) {
	s := mustLoad(t, "scale-in.yaml")
	runs, err := s.VariantRuns()
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].Label != "memory-only" || runs[1].Label != "spill-on-revoke" {
		t.Fatalf("runs %+v", runs)
	}
	if runs[0].Scenario.State.Strategy != StrategyMemoryOnly || runs[1].Scenario.State.Strategy != StrategySpillOnRevoke {
		t.Fatal("overrides not applied")
	}
	for _, r := range runs {
		if r.Scenario.Variants != nil || r.Scenario.Expect != nil || r.Scenario.Sweep != nil || r.Point != "" {
			t.Fatalf("run %s keeps the file's runs: %+v", r.Label, r.Scenario)
		}
		if r.Scenario.Line("state.strategy") == s.Line("state.strategy") || r.Scenario.Line("state.strategy") == 0 {
			t.Fatalf("run %s: state.strategy line %d is not its override's", r.Label, r.Scenario.Line("state.strategy"))
		}
	}
	if s.State.Strategy != StrategySpillOnRevoke {
		t.Fatal("expanding changed the base")
	}
	min := mustLoad(t, "testdata/minimal.yaml")
	runs, err = min.VariantRuns()
	if err != nil || len(runs) != 1 || runs[0].Label != DefaultVariant || runs[0].Variant != DefaultVariant {
		t.Fatalf("no variants: %+v, %v", runs, err)
	}
	if !sameScenario(runs[0].Scenario, min) {
		t.Fatal("the default run differs from the base")
	}
}

func TestSweepPoints(t *testing.T) {
	s := mustLoad(t, "testdata/sweep.yaml")
	runs, err := s.SweepPoints()
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, r := range runs {
		labels = append(labels, r.Label)
	}
	want := []string{
		"lru/redis.maxmemory=64MiB", "lru/redis.maxmemory=256MiB", "lru/redis.maxmemory=1GiB",
		"noeviction/redis.maxmemory=64MiB", "noeviction/redis.maxmemory=256MiB", "noeviction/redis.maxmemory=1GiB",
	}
	if !reflect.DeepEqual(labels, want) {
		t.Fatalf("labels %v\nwant %v", labels, want)
	}
	r := runs[4]
	if r.Variant != "noeviction" || r.Point != "256MiB" || r.Scenario.Redis.MaxMemory != 256*MiB ||
		r.Scenario.Redis.MaxMemoryPolicy != PolicyNoEviction || r.Scenario.State.TTL.Std() != 2*time.Minute ||
		r.Scenario.State.TTLIntervals != 0 {
		t.Fatalf("run %+v / %+v", r, r.Scenario.Redis)
	}
	if r.Scenario.Line("redis.maxmemory") != 14 {
		t.Fatalf("swept field line = %d, want the values line 14", r.Scenario.Line("redis.maxmemory"))
	}
	vr, _ := s.VariantRuns()
	if len(vr) != 2 || vr[0].Scenario.Redis.MaxMemory != GiB {
		t.Fatalf("VariantRuns applies the sweep: %+v", vr)
	}
	// Sweep without variants: labels have no variant part.
	plain, err := Parse("p.yaml", []byte(head+"sweep: {field: state.spill_parallelism, values: [1, 4, 16]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	runs, _ = plain.SweepPoints()
	if len(runs) != 3 || runs[2].Label != "state.spill_parallelism=16" || runs[2].Variant != DefaultVariant ||
		runs[2].Scenario.State.SpillParallelism != 16 {
		t.Fatalf("runs %+v", runs)
	}
}

func TestExpansionErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{name: "variant value", src: "variants:\n  - name: spill\n    set: {state.strategy: memory}\n", want: []string{
			`t.yaml:5: variant spill: state.strategy: "memory" is not one of memory-only, spill-on-revoke, write-through, checkpoint (did you mean memory-only?)`}},
		{name: "variant breaks an invariant", src: "consumers: {replicas: 2, autoscaler: {max: 4}}\nvariants:\n  - name: big\n    set:\n      consumers.replicas: 8\n",
			want: []string{"t.yaml:7: variant big: consumers.replicas: 8 is above consumers.autoscaler.max (4)"}},
		{name: "sweep value", src: "redis: {system_memory: 8GiB}\nsweep:\n  field: redis.maxmemory\n  values:\n    - 1GiB\n    - 16GiB\n",
			want: []string{"t.yaml:8: variant redis.maxmemory=16GiB: redis.maxmemory: 16GiB is above redis.system_memory (8GiB)"}},
		{name: "sweep value type", src: "sweep:\n  field: state.spill_parallelism\n  values: [1, two]\n", want: []string{
			`t.yaml:5: variant state.spill_parallelism=two: state.spill_parallelism: "two" is not a whole number`}},
		{name: "sweep duplicates", src: "sweep:\n  field: redis.maxmemory\n  values: [1GiB, 1024MiB]\n", want: []string{
			"t.yaml:5: sweep.values[1]: 1GiB repeats sweep.values[0]"}},
		{name: "sweep x variants labels", src: "variants: [{name: a}, {name: b, set: {redis.system_memory: 1GiB}}]\nsweep: {field: redis.maxmemory, values: [2GiB]}\n",
			want: []string{"t.yaml:4: variant b/redis.maxmemory=2GiB: redis.maxmemory: 2GiB is above redis.system_memory (1GiB)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErrors(t, head+tt.src, tt.want) })
	}
}

func TestCloneIsDeep(t *testing.T) {
	s := mustLoad(t, "testdata/full.yaml")
	c := s.clone()
	if !sameScenario(s, c) {
		t.Fatal("clone differs")
	}
	*c.Timeline[0].Scale = 99
	c.Variants[0].Set["state.strategy"] = "x"
	c.Consumers.Autoscaler.Max = 1
	c.Expect[0].Max.Value = 5
	c.meta.lines["seed"] = 999
	if *s.Timeline[0].Scale == 99 || s.Variants[0].Set["state.strategy"] == "x" || s.Consumers.Autoscaler.Max == 1 ||
		s.Expect[0].Max.Value == 5 || s.Line("seed") == 999 {
		t.Fatal("clone shares memory with its source")
	}
}

func TestCheckSettable(t *testing.T) {
	tests := []struct {
		name, path, want string
	}{
		{name: "leaf", path: "redis.persistence.aof", want: ""},
		{name: "section", path: "consumers.autoscaler", want: ""},
		{name: "list", path: "timeline", want: ""},
		{name: "seed", path: "seed", want: ""},
		{name: "name", path: "name", want: "cannot be overridden"},
		{name: "inside expect", path: "expect.metric", want: "cannot be overridden"},
		{name: "index", path: "timeline[0].at", want: "unknown field path"},
		{name: "typo", path: "state.spill_paralelism", want: "unknown field path (did you mean state.spill_parallelism?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkSettable(tt.path)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Fatalf("checkSettable(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}
