package reports

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim"
)

// The fixtures are small fixed results built by hand, so report tests do not
// depend on the simulator's numbers.

var fixtureColumns = []string{"t_s", "messages", "context_needed", "context_ok", "context_lost", "context_stale_used",
	"lost.crash", "lost.not_spilled", "restored", "spilled_keys", "redis_keys", "redis_ops", "consumer_lag_max", "pods",
	"rebalances", "latency_p50_ms", "latency_p99_ms", colUsedMemory, colRSS, colCOW, colMaxMemory, colSystemMemory}

const mib = 1 << 20

// fixtureRun builds one run of the fixture: 11 samples a minute apart, a
// scale-in at 4 min (lost context when not spilled), a fork at 6 min.
func fixtureRun(label string, spill bool) *sim.RunResult {
	r := &sim.RunResult{Label: label, Variant: label}
	lost, stale := 700.0, 0.0
	spilled, spillBytes, spillMax, redisOps := 0.0, 0.0, 0.0, 0.0
	if spill {
		lost, stale, spilled, spillBytes, spillMax, redisOps = 0, 3, 500, 36500, 0.0123, 1020
	}
	r.Summary = sim.Summary{
		{Name: "messages", Value: 10000}, {Name: "messages_replayed", Value: 12},
		{Name: "context_needed", Value: 7000}, {Name: "context_ok", Value: 7000 - lost - stale},
		{Name: "context_lost", Value: lost}, {Name: "context_stale_used", Value: stale},
		{Name: "context_loss_ratio", Value: lost / 7000},
		{Name: "lost_by_cause.crash", Value: 0}, {Name: "lost_by_cause.not_spilled", Value: lost},
		{Name: "spilled_keys", Value: spilled}, {Name: "spill_bytes", Value: spillBytes},
		{Name: "spill_duration_max", Value: spillMax, Unit: "s"},
		{Name: "redis_ops", Value: redisOps}, {Name: "redis_bytes_in", Value: 2 * spillBytes},
		{Name: "latency_p50", Value: 0.000021, Unit: "s"}, {Name: "latency_p99", Value: 0.0025, Unit: "s"},
		{Name: "latency_p999", Value: 1.5, Unit: "s"},
		{Name: "consumer_lag_max", Value: 120}, {Name: "rebalances", Value: 2},
		{Name: "rebalance_pause_total", Value: 6, Unit: "s"},
		{Name: "redis_used_memory_peak_bytes", Value: 9 * mib}, {Name: "redis_rss_peak_bytes", Value: 10 * mib},
		{Name: "redis_cow_peak_bytes", Value: 4 * mib},
		{Name: "redis_keys_peak", Value: spilled}, {Name: "redis_used_memory_at_rss_peak_bytes", Value: 5 * mib},
		{Name: "redis_used_memory_at_cow_peak_bytes", Value: 5 * mib},
		{Name: "handoff_spill_keys_max", Value: spilled}, {Name: "handoff_spill_duration_max", Value: spillMax, Unit: "s"},
		{Name: "handoff_spill_keys_per_worker_second", Value: 10000 * spilled / 500},
	}
	r.Series.Columns = fixtureColumns
	for i := 0; i <= 10; i++ {
		t := float64(i * 60)
		lostNow, pods, keys, reb := 0.0, 4.0, 0.0, 1.0
		if i >= 4 {
			pods, reb = 2, 2
			lostNow = lost * float64(min(i-3, 2)) / 2
			if spill && i < 7 {
				keys = 500
			}
		}
		used := float64(1*mib) + keys*180
		cow := 0.0
		if i == 6 {
			cow = 4 * mib
		}
		p99 := 2.5
		if i == 4 {
			p99 = 1500
		}
		row := []float64{t, float64(i) * 1000, float64(i) * 700, float64(i)*700 - lostNow, lostNow, 0,
			0, lostNow, 0, 0, keys, 0, float64(i%3) * 40, pods,
			reb, 0.021, p99, used, used*1.1 + cow, cow, 32 * mib, 64 * mib} // RSS includes the fork's copies
		r.Series.Rows = append(r.Series.Rows, row)
	}
	at := func(d time.Duration) sim.Duration { return sim.Duration(d) }
	r.Events = []sim.Event{
		{At: at(0), Kind: "pod", Detail: "pod-0 started (incarnation 0)"},
		{At: at(9 * time.Second), Kind: "rebalance", Detail: "generation 1 (range round 1): 4 members, 0 partitions revoked"},
		{At: at(4 * time.Minute), Kind: "timeline", Detail: "scale to 2"},
		{At: at(4 * time.Minute), Kind: "sigterm", Detail: "pod-3 SIGTERM, grace 30s"},
		{At: at(6 * time.Minute), Kind: "timeline", Detail: "bgsave"},
		{At: at(6 * time.Minute), Kind: "fork", Detail: "redis-0 fork for BGSAVE | 1 MiB used"},
	}
	if spill {
		r.Events = append(r.Events, sim.Event{At: at(4*time.Minute + 12*time.Millisecond), Kind: "spill",
			Detail: "pod-3 shutdown: 500 keys, 500 written, 0 not written in 12.3ms"})
	}
	r.Latency = []sim.CDFPoint{
		{Latency: sim.Duration(20 * time.Microsecond), Fraction: 0.5},
		{Latency: sim.Duration(2 * time.Millisecond), Fraction: 0.99},
		{Latency: sim.Duration(1500 * time.Millisecond), Fraction: 0.999},
		{Latency: sim.Duration(3 * time.Second), Fraction: 1},
	}
	return r
}

// fixture returns the fixture scenario and its hand-made result.
func fixture(t testing.TB) (*scenarios.Scenario, *sim.Result) {
	t.Helper()
	sc, err := scenarios.Load(filepath.Join("testdata", "fixture.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	res := &sim.Result{Scenario: sc.Name, Seed: sc.Seed,
		Runs: []*sim.RunResult{fixtureRun("memory-only", false), fixtureRun("spill", true)}}
	planned(t, sc, res)
	return sc, res
}

// planned gives a hand-made result what sim.Run gives a real one: the plan,
// and each run its planned Run (by position, as sim.Run returns them).
func planned(t testing.TB, sc *scenarios.Scenario, res *sim.Result) {
	t.Helper()
	plan, err := sc.Plan()
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Runs) != len(res.Runs) {
		t.Fatalf("the fixture has %d runs, its scenario %d", len(res.Runs), len(plan.Runs))
	}
	res.Plan = plan
	for i, rr := range res.Runs {
		rr.Run = plan.Runs[i]
	}
}

// sweepFixture returns the sweep scenario with one run per sweep point, whose
// loss falls as maxmemory grows. Its runs have no Redis memory series (six
// memory tiles would only slow the tests down).
func sweepFixture(t testing.TB) (*scenarios.Scenario, *sim.Result) {
	t.Helper()
	sc, err := scenarios.Load(filepath.Join("testdata", "sweep.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	runs, err := sc.SweepPoints()
	if err != nil {
		t.Fatal(err)
	}
	res := &sim.Result{Scenario: sc.Name, Seed: sc.Seed}
	for i, r := range runs {
		rr := fixtureRun(r.Label, true)
		rr.Variant, rr.Point = r.Variant, r.Point
		dropColumns(rr, colUsedMemory, colRSS, colCOW, colMaxMemory, colSystemMemory)
		rr.Summary = sim.Summary{
			{Name: "context_loss_ratio", Value: 0.2 / float64(i%3+1)},
			{Name: "spill_duration_max", Value: 0.01 * float64(i+1), Unit: "s"},
			{Name: "latency_p99", Value: 0.002 * float64(i+1), Unit: "s"},
			{Name: "redis_bytes_in", Value: float64(i+1) * mib},
			{Name: "rebalances", Value: 1},
		}
		res.Runs = append(res.Runs, rr)
	}
	planned(t, sc, res)
	return sc, res
}
