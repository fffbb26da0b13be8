package reports

import (
	"strings"
	"testing"

	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim"
)

func TestCheckExpectations(t *testing.T) {
	_, res := fixture(t)
	got := CheckExpectations(res)
	type row struct {
		run, metric, bound string
		pass               bool
	}
	want := []row{
		{"memory-only", "context_loss_ratio", "max 0.01", false},
		{"memory-only", "latency_p99", "max 50ms", true},
		{"spill", "context_loss_ratio", "max 0.01", true},
		{"spill", "latency_p99", "max 50ms", true},
	}
	if len(got) != len(want) {
		t.Fatalf("%d outcomes, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Run != w.run || g.Metric != w.metric || g.Bound != w.bound || g.Pass != w.pass {
			t.Errorf("outcome %d = %s %s %s pass=%v, want %+v", i, g.Run, g.Metric, g.Bound, g.Pass, w)
		}
	}
	fails := Failures(got)
	if len(fails) != 1 || fails[0].Value != 0.1 || fails[0].Variant != "memory-only" {
		t.Fatalf("failures = %+v", fails)
	}
	if s := fails[0].String(); !strings.Contains(s, "fixture: run memory-only: context_loss_ratio = 0.1 is above max 0.01") {
		t.Errorf("failure text %q", s)
	}
	if s := got[1].String(); s != "fixture: run memory-only: latency_p99 = 2.5 ms within max 50ms" {
		t.Errorf("pass text %q", s)
	}
}

func TestCheckExpectationsMissingAndMin(t *testing.T) {
	sc, err := scenarios.Parse("x.yaml", []byte(`version: 1
workload: {datapoints: 10}
expect:
  - {metric: redis_oom_kills, max: 0}
  - {metric: context_lost, min: 5, max: 10}
`))
	if err != nil {
		t.Fatal(err)
	}
	res := &sim.Result{Scenario: "x", Runs: []*sim.RunResult{{Label: "default", Variant: "default",
		Summary: sim.Summary{{Name: "context_lost", Value: 3}}}}}
	planned(t, sc, res)
	got := CheckExpectations(res)
	if len(got) != 2 {
		t.Fatalf("%d outcomes: %+v", len(got), got)
	}
	if got[0].Pass || !got[0].Missing {
		t.Errorf("missing metric: %+v", got[0])
	}
	if got[1].Pass || got[1].Bound != "min 5" || got[1].Value != 3 {
		t.Errorf("below min: %+v", got[1])
	}
	if CheckExpectations(&sim.Result{Runs: res.Runs}) != nil || CheckExpectations(nil) != nil {
		t.Error("nil input gave outcomes")
	}
}

// TestCheckExpectationsPoint: an expectation limited to a sweep point is
// checked against that point's run alone, and fails when that run misses it.
func TestCheckExpectationsPoint(t *testing.T) {
	sc, res := sweepFixture(t)
	tests := []struct {
		name string
		max  float64
		pass bool
	}{
		{name: "failing", max: 0.01, pass: false},
		{name: "passing", max: 0.5, pass: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc.Expect = []scenarios.Expectation{{Variant: "lru", Point: "256MiB", Metric: "context_loss_ratio",
				Max: &scenarios.Bound{Value: tt.max}}}
			got := CheckExpectations(res)
			if len(got) != 1 || got[0].Run != "lru/redis.maxmemory=256MiB" || got[0].Pass != tt.pass ||
				got[0].Value != 0.2/3 {
				t.Fatalf("outcomes %+v", got)
			}
		})
	}
}
