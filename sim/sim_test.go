package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim/broker"
)

// scenario parses a test scenario: a small base plus YAML overrides.
func scenario(t testing.TB, extra string) *scenarios.Scenario {
	t.Helper()
	base := `version: 1
name: test
seed: 3
duration: 12m
sample_every: 30s
workload: {datapoints: 3000, interval: 60s, jitter: 5s, context_bytes: 64, counter_fraction: 0.7}
`
	sc, err := scenarios.Parse("test.yaml", []byte(base+extra))
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	return sc
}

// runAll runs every run of sc through the public entry point.
func runAll(t testing.TB, ctx context.Context, sc *scenarios.Scenario, opts Options) (*Result, error) {
	t.Helper()
	plan, err := sc.Plan()
	if err != nil {
		t.Fatal(err)
	}
	return Run(ctx, plan, opts)
}

// run runs one scenario (no variants) white-box, with hooks scheduled before it starts.
func run(t testing.TB, sc *scenarios.Scenario, before func(r *runner)) (*runner, *RunResult) {
	t.Helper()
	r, err := newRunner(context.Background(), sc, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	if before != nil {
		before(r)
	}
	if err := r.execute(); err != nil {
		t.Fatal(err)
	}
	return r, r.result()
}

func metric(t testing.TB, rr *RunResult, name string) float64 {
	t.Helper()
	v, ok := rr.Summary.Get(name)
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	return v
}

// owners snapshots partition → member at a virtual time.
func owners(r *runner, at time.Duration, into map[int32]broker.MemberID) {
	r.eng.Schedule(at, func() {
		for p := int32(0); int(p) < r.log.Partitions(); p++ {
			if id, _, ok := r.group.Owner(p); ok {
				into[p] = id
			}
		}
	})
}

// countersIn counts the counter keys of the given partitions.
func countersIn(r *runner, parts map[int32]bool) int {
	n := 0
	for k := 0; k < r.wl.Datapoints(); k++ {
		if r.wl.IsCounter(uint32(k)) && parts[r.wl.Partition(uint32(k))] {
			n++
		}
	}
	return n
}

func moved(before, after map[int32]broker.MemberID) map[int32]bool {
	out := map[int32]bool{}
	for p, id := range before {
		if after[p] != id {
			out[p] = true
		}
	}
	return out
}

const scaleIn = `
log: {partitions: 12, assignor: cooperative-sticky}
consumers: {replicas: 4}
timeline: [{at: 5m, scale: 2}]
`

// TestScaleInMemoryOnlyLosesExactlyTheMovedKeys: 4→2 with memory-only loses one
// context per counter key of every partition that moved (each emits again after
// the move), and nothing else.
func TestScaleInMemoryOnlyLosesExactlyTheMovedKeys(t *testing.T) {
	sc := scenario(t, scaleIn+"state: {strategy: memory-only}\n")
	before, after := map[int32]broker.MemberID{}, map[int32]broker.MemberID{}
	r, rr := run(t, sc, func(r *runner) {
		owners(r, 5*time.Minute-time.Millisecond, before)
		owners(r, 11*time.Minute, after)
	})
	mv := moved(before, after)
	if len(mv) != 6 {
		t.Fatalf("%d partitions moved, want the 6 of the two removed pods", len(mv))
	}
	want := float64(countersIn(r, mv))
	if got := metric(t, rr, "context_lost"); got != want {
		t.Fatalf("context_lost = %v, want %v (counter keys of the moved partitions)", got, want)
	}
	if got := metric(t, rr, "lost_by_cause.not_spilled"); got != want {
		t.Fatalf("lost_by_cause.not_spilled = %v, want %v", got, want)
	}
	if metric(t, rr, "context_stale_used") != 0 {
		t.Fatal("stale context used")
	}
}

func TestScaleInSpillLosesNothing(t *testing.T) {
	sc := scenario(t, scaleIn+"state: {strategy: spill-on-revoke}\n")
	before := map[int32]broker.MemberID{}
	r, rr := run(t, sc, func(r *runner) { owners(r, 5*time.Minute-time.Millisecond, before) })
	_ = r
	if got := metric(t, rr, "context_lost"); got != 0 {
		t.Fatalf("context_lost = %v, want 0 with enough grace", got)
	}
	if metric(t, rr, "restored") == 0 || metric(t, rr, "spilled_keys") == 0 {
		t.Fatal("nothing spilled or restored")
	}
	if metric(t, rr, "context_stale_used") != 0 {
		t.Fatal("stale context used")
	}
}

// TestGraceTooShortLosesTheUnwritten: 50 ms round trips, batches of 10, one worker:
// a pod's spill of ~750 keys needs ~3.75 s; a 1 s grace writes ~200 keys of each.
func TestGraceTooShortLosesTheUnwritten(t *testing.T) {
	sc := scenario(t, scaleIn+`state: {strategy: spill-on-revoke, spill_parallelism: 1, spill_batch: 10}
redis: {rtt: 50ms}
`)
	sc.Consumers.TerminationGrace = scenarios.Duration(time.Second)
	_, rr := run(t, sc, nil)
	lost := metric(t, rr, "context_lost")
	failed := metric(t, rr, "spill_failed_keys")
	if lost == 0 || failed == 0 {
		t.Fatalf("lost=%v failed=%v: the grace should have cut the spill", lost, failed)
	}
	if got := metric(t, rr, "lost_by_cause.grace_overrun"); got != lost {
		t.Fatalf("grace_overrun = %v, lost = %v: every loss should be the overrun", got, lost)
	}
	if lost != failed {
		t.Fatalf("lost %v != keys not written %v (every stored key emits again)", lost, failed)
	}
}

const crash = `
log: {partitions: 12, assignor: cooperative-sticky}
consumers: {replicas: 4}
timeline: [{at: 5m, crash: 1}]
`

// TestCrashLosesThePodsKeys: the crashed pod's counter keys are lost (cause crash):
// the new owner's restore finds nothing.
func TestCrashLosesThePodsKeys(t *testing.T) {
	sc := scenario(t, crash+"state: {strategy: spill-on-revoke}\n")
	var crashedParts map[int32]bool
	r, rr := run(t, sc, func(r *runner) {
		r.eng.Schedule(5*time.Minute-time.Millisecond, func() {
			crashedParts = map[int32]bool{}
			victim := r.livePodsList()[len(r.livePodsList())-1]
			for _, p := range r.group.Owned(victim.id) {
				crashedParts[p] = true
			}
		})
	})
	want := float64(countersIn(r, crashedParts))
	if got := metric(t, rr, "lost_by_cause.crash"); got != want {
		t.Fatalf("lost_by_cause.crash = %v, want %v", got, want)
	}
	if got := metric(t, rr, "context_lost"); got != want {
		t.Fatalf("context_lost = %v, want %v", got, want)
	}
	if metric(t, rr, "redis_lookups_missed") < want {
		t.Fatal("the new owner did not look the lost keys up in Redis")
	}
	if metric(t, rr, "messages_replayed") == 0 {
		t.Fatal("a crash must replay from the committed offset")
	}
}

// TestCheckpointBoundsCrashLoss: checkpoints every 30 s commit their offsets; the
// new owner replays from there with the checkpointed context.
func TestCheckpointBoundsCrashLoss(t *testing.T) {
	spill := scenario(t, crash+"state: {strategy: spill-on-revoke}\n")
	ckpt := scenario(t, crash+"state: {strategy: checkpoint, checkpoint_every: 30s}\n")
	_, rs := run(t, spill, nil)
	_, rc := run(t, ckpt, nil)
	lostSpill, lostCkpt := metric(t, rs, "context_lost"), metric(t, rc, "context_lost")
	// Bound: at most the keys that can be dirtied in one checkpoint period (30 s of
	// a 60 s interval: half the crashed pod's keys).
	if lostCkpt > lostSpill/2 {
		t.Fatalf("checkpoint lost %v, spill-on-revoke %v: checkpoint should bound the loss to half", lostCkpt, lostSpill)
	}
	if metric(t, rc, "context_stale_used") != 0 {
		t.Fatalf("stale used %v: replay must start where the checkpoint is", metric(t, rc, "context_stale_used"))
	}
	if metric(t, rc, "messages_replayed") == 0 {
		t.Fatal("no replay after the crash")
	}
}

// TestZombieIsFenced: a pod paused past its session timeout comes back, its late
// spill (Kafka's default onPartitionsLost) is refused, and no stale context is used.
func TestZombieIsFenced(t *testing.T) {
	sc := scenario(t, `
log: {partitions: 12, assignor: cooperative-sticky}
consumers: {replicas: 3}
timeline: [{at: 4m, pause: {pod: 1, for: 90s}}]
`)
	_, rr := run(t, sc, nil)
	if metric(t, rr, "fenced_writes") == 0 {
		t.Fatal("the zombie's spill was not fenced")
	}
	if metric(t, rr, "context_stale_used") != 0 {
		t.Fatalf("stale context used: %v", metric(t, rr, "context_stale_used"))
	}
	if metric(t, rr, "lost_by_cause.zombie") == 0 {
		t.Fatal("the zombie's keys should be lost with cause zombie")
	}
}

// TestRollingRestartEagerSpillsMore: eager rebalancing revokes every partition at
// each of the restart's rebalances; cooperative-sticky revokes only what moves.
func TestRollingRestartEagerSpillsMore(t *testing.T) {
	spilled := map[string]float64{}
	for _, a := range []string{"range", "cooperative-sticky"} {
		sc := scenario(t, fmt.Sprintf(`
log: {partitions: 24, assignor: %s}
consumers: {replicas: 6}
timeline: [{at: 3m, rolling_restart: true}]
`, a))
		sc.Duration = scenarios.Duration(15 * time.Minute)
		// Keys emit every 10 s, so between two rebalances of the restart every key is
		// seen (and, with eager rebalancing, restored) again.
		sc.Workload.Interval = scenarios.Duration(10 * time.Second)
		sc.Workload.Jitter = scenarios.Duration(time.Second)
		_, rr := run(t, sc, nil)
		spilled[a] = metric(t, rr, "spilled_keys")
		if metric(t, rr, "context_lost") != 0 {
			t.Fatalf("%s lost %v", a, metric(t, rr, "context_lost"))
		}
	}
	if spilled["range"] < 4*spilled["cooperative-sticky"] {
		t.Fatalf("eager spilled %v, cooperative %v: want at least 4x", spilled["range"], spilled["cooperative-sticky"])
	}
}

func encode(t testing.TB, res *Result) []byte {
	t.Helper()
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDeterminism: the same scenario and seed twice give byte-identical results;
// another seed gives different ones.
func TestDeterminism(t *testing.T) {
	yaml := `
log: {partitions: 12, assignor: cooperative-sticky}
consumers: {replicas: 4}
timeline: [{at: 3m, scale: 2}, {at: 6m, crash: 1}, {at: 8m, rolling_restart: true}]
variants:
  - {name: memory-only, set: {state.strategy: memory-only}}
  - {name: spill, set: {state.strategy: spill-on-revoke}}
`
	sc := scenario(t, yaml)
	a, err := runAll(t, context.Background(), sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := runAll(t, context.Background(), sc, Options{})
	if !bytes.Equal(encode(t, a), encode(t, b)) {
		t.Fatal("same seed, different results")
	}
	sc2 := scenario(t, yaml)
	sc2.Seed = 4
	c, _ := runAll(t, context.Background(), sc2, Options{})
	if bytes.Equal(encode(t, a), encode(t, c)) {
		t.Fatal("different seeds, identical results")
	}
	if len(a.Runs) != 2 || a.Runs[0].Label != "memory-only" {
		t.Fatalf("runs %v", a.Runs)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	for _, q := range []float64{0.5, 0.99} {
		want := time.Duration(q*1000) * time.Millisecond
		got := h.quantile(q)
		if got < want || float64(got) > float64(want)*1.07 {
			t.Errorf("q%v = %v, want %v within +7%%", q, got, want)
		}
	}
	pts := h.cdf()
	if !slices.IsSortedFunc(pts, func(a, b CDFPoint) int { return int(a.Latency - b.Latency) }) || pts[len(pts)-1].Fraction != 1 {
		t.Fatal("cdf not monotone to 1")
	}
}

// TestAutoscalerFollowsLoad: ~50 msg/s × 50 ms of CPU each is ~2.5 cores; at a 50 %
// target the HPA wants 5 pods (6 when a 15 s window sees a little more than 50 msg/s),
// scales up from 2 at its first sync, then holds inside its 10 % tolerance.
func TestAutoscalerFollowsLoad(t *testing.T) {
	sc := scenario(t, `
log: {partitions: 12, assignor: cooperative-sticky}
consumers: {replicas: 2, process_time: 50ms, autoscaler: {min: 1, max: 8, target_cpu: 0.5, stabilization: 1m}}
`)
	_, rr := run(t, sc, nil)
	pods := rr.Series.Column("pods")
	if got := pods[len(pods)-1]; got < 5 || got > 6 {
		t.Fatalf("pods at the end = %v, want 5 or 6 (series %v)", got, pods)
	}
	if pods[1] < 5 {
		t.Fatalf("no scale-up at the first sync: %v", pods)
	}
	if metric(t, rr, "context_lost") != 0 {
		t.Fatalf("scaling out lost %v contexts", metric(t, rr, "context_lost"))
	}
}
