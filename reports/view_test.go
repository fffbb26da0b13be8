package reports

import (
	"testing"
	"time"

	"github.com/spillway-sim/spillway/sim"
)

func TestNewView(t *testing.T) {
	sc, res := sweepFixture(t)
	v, err := newView(res)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.runs) != 6 {
		t.Fatalf("%d runs", len(v.runs))
	}
	// Each run carries its own scenario: the sweep value applied.
	if got := v.runs[1].sc.Redis.MaxMemory.String(); got != "64MiB" || v.runs[1].Label != "lru/redis.maxmemory=64MiB" {
		t.Errorf("run 1 is %s with maxmemory %s", v.runs[1].Label, got)
	}
	if got := string(v.runs[3].sc.Redis.MaxMemoryPolicy); got != "noeviction" {
		t.Errorf("run 3 policy %s", got)
	}
	// The run's own scenario, not one found by label: a relabelled run keeps it.
	res.Runs[1].Label = "elsewhere"
	if v, err = newView(res); err != nil || v.runs[1].sc != res.Plan.Runs[1].Scenario || v.runs[1].sc == sc {
		t.Errorf("relabelled run: err %v", err)
	}
	// A run without its scenario is an error, not a silent fallback.
	res.Runs[1].Run.Scenario = nil
	if _, err := newView(res); err == nil {
		t.Error("a run without its scenario was accepted")
	}
}

func TestViewHelpers(t *testing.T) {
	_, res := fixture(t)
	v, err := newView(res)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.causes(); len(got) != 2 || got[0] != "crash" || got[1] != "not_spilled" {
		t.Errorf("causes %v", got)
	}
	r := v.runs[0]
	if !r.has(colUsedMemory) || r.has("nope") || r.col("nope") != nil {
		t.Error("has/col wrong")
	}
	if m := r.minutes(); len(m) != 11 || m[10] != 10 {
		t.Errorf("minutes %v", m)
	}
	if !v.anyMetric("spilled_keys") || v.anyMetric("nope") || !v.anyHas(colPods) {
		t.Error("anyMetric/anyHas wrong")
	}
	evs := markedEvents(v.runs, scriptedKinds)
	if len(evs) != 2 || evs[0].Detail != "scale to 2" || evs[1].Detail != "bgsave" {
		t.Errorf("marked events %+v", evs)
	}
}

func TestSortEventsStable(t *testing.T) {
	at := func(s int) sim.Duration { return sim.Duration(time.Duration(s) * time.Second) }
	evs := []sim.Event{{At: at(2), Detail: "a"}, {At: at(1), Detail: "b"}, {At: at(2), Detail: "c"}, {At: at(1), Detail: "d"}}
	sortEvents(evs)
	got := ""
	for _, e := range evs {
		got += e.Detail
	}
	if got != "bdac" {
		t.Errorf("order %s, want bdac", got)
	}
}
