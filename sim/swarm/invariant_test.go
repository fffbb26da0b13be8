package swarm

import (
	"strings"
	"testing"
	"time"

	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim"
)

// handoffScenario is a scenario where graceful-handoff-loses-nothing applies
// (fencing on, spill-on-revoke, grace 30s, scale events only) with its mutations.
func handoffScenario(t *testing.T, extra string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Parse("h.yaml", []byte(`version: 1
duration: 10m
workload: {datapoints: 10}
consumers: {replicas: 4, termination_grace: 30s}
state: {strategy: spill-on-revoke, fencing: true}
timeline:
  - {at: 2m, scale: 2}
  - {at: 5m, rolling_restart: true}
`+extra))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// result builds a consistent RunResult: three samples at 0, 180 and 360 s; a
// loss of 5 (crash 3, ttl_expired 2) appearing in the third sample; stale uses
// of 4 (replay).
func result() *sim.RunResult {
	var s sim.Summary
	for _, name := range scenarios.MetricNames() {
		s = append(s, sim.Metric{Name: name})
	}
	set := func(name string, v float64) {
		for i := range s {
			if s[i].Name == name {
				s[i].Value = v
				return
			}
		}
		s = append(s, sim.Metric{Name: name, Value: v})
	}
	set("context_lost", 5)
	set("lost_by_cause.crash", 3)
	set("lost_by_cause.ttl_expired", 2)
	set("context_stale_used", 4)
	set("stale_by_cause.replay", 4)
	set("redis_used_memory_peak_bytes", 1000)
	set("redis_rss_peak_bytes", 4096)
	set("redis_cow_peak_bytes", 512)
	cols := []string{"t_s", "context_lost"}
	for _, c := range sim.Causes() {
		cols = append(cols, "lost."+c.String())
	}
	cols = append(cols, "redis_used_memory_bytes", "redis_rss_bytes", "redis_cow_bytes")
	row := func(t, crash, ttl, used float64) []float64 {
		r := make([]float64, len(cols))
		for i, c := range cols {
			switch c {
			case "t_s":
				r[i] = t
			case "context_lost":
				r[i] = crash + ttl
			case "lost.crash":
				r[i] = crash
			case "lost.ttl_expired":
				r[i] = ttl
			case "redis_used_memory_bytes":
				r[i] = used
			case "redis_rss_bytes":
				r[i] = used * 2
			}
		}
		return r
	}
	return &sim.RunResult{Label: "default", Summary: s, Series: sim.Series{Columns: cols,
		Rows: [][]float64{row(0, 0, 0, 0), row(180, 0, 0, 500), row(360, 3, 2, 1000)}}}
}

func set(rr *sim.RunResult, name string, v float64) *sim.RunResult {
	for i := range rr.Summary {
		if rr.Summary[i].Name == name {
			rr.Summary[i].Value = v
			return rr
		}
	}
	rr.Summary = append(rr.Summary, sim.Metric{Name: name, Value: v})
	return rr
}

func setCell(rr *sim.RunResult, row int, col string, v float64) *sim.RunResult {
	for i, c := range rr.Series.Columns {
		if c == col {
			rr.Series.Rows[row][i] = v
		}
	}
	return rr
}

func TestInvariants(t *testing.T) {
	lossless := func() *sim.RunResult {
		rr := result()
		set(rr, "context_lost", 0)
		set(rr, "lost_by_cause.crash", 0)
		set(rr, "lost_by_cause.ttl_expired", 0)
		for j := range rr.Series.Rows {
			setCell(rr, j, "context_lost", 0)
			setCell(rr, j, "lost.crash", 0)
			setCell(rr, j, "lost.ttl_expired", 0)
		}
		return rr
	}
	tests := []struct {
		name      string
		sc        string // extra timeline lines or "" for the handoff scenario
		rr        *sim.RunResult
		invariant string // "" = every invariant holds
		detail    string
		after     string
	}{
		{name: "good", rr: lossless()},
		{name: "good with losses where faults allow them", sc: "  - {at: 1m, crash: 1}\n", rr: result()},
		{name: "zombie stale use with fencing", sc: "  - {at: 1m, crash: 1}\n",
			rr:        set(set(result(), "stale_by_cause.zombie", 2), "context_stale_used", 6),
			invariant: "stale-fenced", detail: "2 messages used a context a zombie overwrote"},
		{name: "causes do not add up", sc: "  - {at: 1m, crash: 1}\n", rr: set(result(), "lost_by_cause.crash", 2),
			invariant: "causes-add-up", detail: "Σ lost_by_cause = 4 but context_lost = 5"},
		{name: "causes do not add up in one sample", sc: "  - {at: 1m, crash: 1}\n",
			rr: setCell(result(), 2, "lost.crash", 1), invariant: "causes-add-up",
			detail: "sample at 360s", after: "timeline[1] at 5m0s: rolling_restart"},
		{name: "stale causes do not add up", sc: "  - {at: 1m, crash: 1}\n",
			rr: set(result(), "context_stale_used", 9), invariant: "causes-add-up",
			detail: "Σ stale_by_cause = 4 but context_stale_used = 9"},
		{name: "unknown loss", sc: "  - {at: 1m, crash: 1}\n",
			rr: setCell(setCell(set(set(result(), "lost_by_cause.unknown", 3), "lost_by_cause.crash", 0),
				2, "lost.unknown", 3), 2, "lost.crash", 0),
			invariant: "no-unknown-cause", detail: "lost_by_cause.unknown = 3",
			after: "timeline[1] at 5m0s: rolling_restart"},
		{name: "unknown stale", sc: "  - {at: 1m, crash: 1}\n",
			rr:        set(set(result(), "stale_by_cause.unknown", 1), "context_stale_used", 5),
			invariant: "no-unknown-cause", detail: "stale_by_cause.unknown = 1"},
		{name: "graceful handoff lost context", rr: result(), invariant: "graceful-handoff-loses-nothing",
			detail: "context_lost = 5 (crash=3, ttl_expired=2)", after: "timeline[1] at 5m0s: rolling_restart"},
		{name: "negative used memory", rr: setCell(lossless(), 1, "redis_used_memory_bytes", -8),
			invariant: "model-sanity", detail: "redis_used_memory_bytes = -8 at 180s",
			after: "timeline[0] at 2m0s: scale"},
		{name: "rss peak below used peak", rr: set(lossless(), "redis_rss_peak_bytes", 999),
			invariant: "model-sanity", detail: "redis_rss_peak_bytes 999 < redis_used_memory_peak_bytes 1000"},
		{name: "cow above rss", rr: set(lossless(), "redis_cow_peak_bytes", 5000),
			invariant: "model-sanity", detail: "redis_cow_peak_bytes 5000 > redis_rss_peak_bytes 4096"},
		{name: "two owners", rr: withAudit(lossless(), "audit.ownership_violations", 2, 190*time.Second,
			"generation 4: partition 3 has 2 owners after the rebalance completed"),
			invariant: "one-owner-per-partition", detail: "= 2; first at 3m10s: generation 4: partition 3 has 2 owners",
			after: "timeline[0] at 2m0s: scale"},
		{name: "dropped without ack", rr: withAudit(lossless(), "audit.unacked_drops", 1, 301*time.Second,
			"pod-1 dropped dp:00000007 from memory although its write failed (oom)"),
			invariant: "no-drop-without-ack", detail: "audit.unacked_drops = 1; first at 5m1s: pod-1 dropped",
			after: "timeline[1] at 5m0s: rolling_restart"},
		{name: "over maxmemory", rr: set(lossless(), "audit.over_maxmemory", 3),
			invariant: "used-within-maxmemory", detail: "audit.over_maxmemory = 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := Evaluate(handoffScenario(t, tt.sc), tt.rr)
			if tt.invariant == "" {
				if len(vs) > 0 {
					t.Fatalf("want no violation, got %v", vs)
				}
				return
			}
			if len(vs) != 1 {
				t.Fatalf("want exactly one %s violation, got %v", tt.invariant, vs)
			}
			v := vs[0]
			if v.Invariant != tt.invariant || !strings.Contains(v.Detail, tt.detail) || v.After != tt.after {
				t.Errorf("got %+v\nwant invariant %s, detail containing %q, after %q", v, tt.invariant, tt.detail,
					tt.after)
			}
		})
	}
}

func TestStaleFencedOffWithoutFencing(t *testing.T) {
	sc := handoffScenario(t, "")
	sc.State.Fencing = false
	rr := set(set(result(), "stale_by_cause.zombie", 2), "context_stale_used", 6)
	if v := staleFenced(sc, rr); v != nil {
		t.Errorf("fencing off: zombie stale uses are the expected cost, got %v", v)
	}
}

func TestHealthyHandoff(t *testing.T) {
	tests := []struct {
		name   string
		extra  string
		mutate func(*scenarios.Scenario)
		want   bool
	}{
		{name: "scale and rolling restart", want: true},
		{name: "a crash", extra: "  - {at: 1m, crash: 1}\n"},
		{name: "redis down", extra: "  - {at: 1m, redis_down: {for: 10s}}\n"},
		{name: "short grace", mutate: func(s *scenarios.Scenario) { s.Consumers.TerminationGrace = scenarios.Duration(5e9) }},
		{name: "memory-only", mutate: func(s *scenarios.Scenario) { s.State.Strategy = scenarios.StrategyMemoryOnly }},
		{name: "maxmemory", mutate: func(s *scenarios.Scenario) { s.Redis.MaxMemory = 1 << 20 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := handoffScenario(t, tt.extra)
			if tt.mutate != nil {
				tt.mutate(sc)
			}
			if got := healthyHandoff(sc); got != tt.want {
				t.Errorf("healthyHandoff = %t, want %t", got, tt.want)
			}
		})
	}
}

func TestViolationString(t *testing.T) {
	v := Violation{Invariant: "x", Detail: "d", After: "timeline[0] at 1m0s: crash"}
	if got, want := v.String(), "x: d (first seen after timeline[0] at 1m0s: crash)"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

// withAudit sets an audit count and adds its first "audit" event at at.
func withAudit(rr *sim.RunResult, metric string, n float64, at time.Duration, detail string) *sim.RunResult {
	set(rr, metric, n)
	rr.Events = append(rr.Events, sim.Event{At: sim.Duration(at), Kind: "audit", Detail: detail})
	return rr
}
