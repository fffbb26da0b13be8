package sim

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"
)

// haScaleIn is a 4 → 2 scale-in at 5m whose handoff spills ~1500 contexts
// through one master, with 1 ms round trips, two spill workers a pod and one
// batch a worker (~375 keys, ~2 ms of server work, replayed in ~0.25 ms), so
// the spills take a few milliseconds and a failure can land inside them.
const haScaleIn = `
log: {partitions: 12, assignor: cooperative-sticky}
consumers: {replicas: 4}
state: {strategy: spill-on-revoke, spill_batch: 1000, spill_parallelism: 2%s}
redis: {rtt: 1ms, replicas: %d, failover_time: 1s}
timeline: [{at: 5m, scale: 2}, {at: %s, failover: {node: 0}}]
`

func haRun(t *testing.T, replicas int, wait string, failAt string) (*runner, *RunResult) {
	t.Helper()
	sc := scenario(t, fmt.Sprintf(haScaleIn, wait, replicas, failAt))
	return run(t, sc, nil)
}

func TestFailoverAfterTheHandoffLosesOnlyWithoutReplica(t *testing.T) {
	// 10 s after the handoff every spilled context is on the replica.
	_, la := haRun(t, 0, "", "5m10s")
	_, ha := haRun(t, 1, "", "5m10s")
	if metric(t, la, "lost_by_cause.redis_lost") == 0 {
		t.Fatal("LA: the node failed with the spilled contexts, yet nothing is lost as redis_lost")
	}
	// HA loses only what was asked for during the 1 s the failover takes
	// (restores refused: redis_unavailable), nothing of what was written.
	for _, cause := range []string{"redis_lost", "failover_lost"} {
		if lost := metric(t, ha, "lost_by_cause."+cause); lost != 0 {
			t.Fatalf("HA: %v contexts lost as %s although the replica had every write", lost, cause)
		}
	}
	if all, down := metric(t, ha, "context_lost"), metric(t, ha, "lost_by_cause.redis_unavailable"); all != down {
		t.Fatalf("HA: %v contexts lost, %v of them while the failover refused calls", all, down)
	}
	if metric(t, ha, "redis_failovers") != 1 || metric(t, ha, "restored") == 0 {
		t.Fatal("HA: no promotion, or nothing restored from the promoted replica")
	}
}

func TestFailoverDuringTheHandoffCountsTheLagWindow(t *testing.T) {
	// Failures at instants of the spills (found by a 0.2 ms sweep): before any
	// batch was acknowledged, inside the replication lag of a batch whose reply
	// the client had (twice), between batches, and after the replica had all.
	// What the node rolled back is what the accounting lost, by cause:
	// acknowledged keys as failover_lost, in-flight ones as redis_unavailable;
	// with WAIT nothing acknowledged is lost.
	tests := []struct {
		at       string
		inWindow bool // some acknowledged batch was not replayed yet
		inFlight bool // some batch had not been answered
	}{
		{at: "5m0.001s", inFlight: true},
		{at: "5m0.0024s", inWindow: true, inFlight: true},
		{at: "5m0.003s", inFlight: true},
		{at: "5m0.0046s", inWindow: true},
		{at: "5m0.006s"},
	}
	for _, tt := range tests {
		t.Run(tt.at, func(t *testing.T) {
			r, rr := haRun(t, 1, "", tt.at)
			rs := r.redis.all[0].ReplStats()
			lost, down := metric(t, rr, "lost_by_cause.failover_lost"), metric(t, rr, "lost_by_cause.redis_unavailable")
			if (lost > 0) != tt.inWindow || (rs.LostAckedKeys > 0) != tt.inWindow {
				t.Fatalf("%v failover_lost, %d acknowledged keys rolled back: want some = %v", lost, rs.LostAckedKeys, tt.inWindow)
			}
			if lost != float64(rs.LostAckedKeys) {
				t.Fatalf("%v contexts failover_lost, %d acknowledged keys rolled back", lost, rs.LostAckedKeys)
			}
			if unacked := rs.LostKeys - rs.LostAckedKeys; (unacked > 0) != tt.inFlight || down != float64(unacked) {
				t.Fatalf("%d in-flight keys rolled back, %v contexts redis_unavailable: want some = %v", unacked, down, tt.inFlight)
			}
			if !tt.inWindow {
				return
			}
			_, rw := haRun(t, 1, ", wait_replicas: {replicas: 1, timeout: 50ms}", tt.at)
			if got := metric(t, rw, "lost_by_cause.failover_lost"); got != 0 {
				t.Fatalf("with WAIT: %v contexts lost although acknowledged by WAIT", got)
			}
			if got, ok := rw.Summary.Get("audit.failover_lost_wait_acked"); ok && got != 0 {
				t.Fatalf("audit.failover_lost_wait_acked = %v", got)
			}
		})
	}
}

func TestWaitReplicasShowsItsCost(t *testing.T) {
	_, plain := haRun(t, 1, "", "11m")
	_, waited := haRun(t, 1, ", wait_replicas: {replicas: 1, timeout: 50ms}", "11m")
	if w := metric(t, waited, "redis_wait_total"); w <= 0 || metric(t, plain, "redis_wait_total") != 0 {
		t.Fatalf("redis_wait_total: %v with WAIT, %v without", w, metric(t, plain, "redis_wait_total"))
	}
	a, b := metric(t, plain, "handoff_spill_duration_max"), metric(t, waited, "handoff_spill_duration_max")
	// Each batch of 100 waits one round trip (1 ms) and the replay: at least
	// 1 ms more per batch on the slowest lane.
	if b < a+float64(time.Millisecond)/float64(time.Second) {
		t.Fatalf("handoff spill %.4fs with WAIT, %.4fs without: WAIT costs nothing", b, a)
	}
	if metric(t, waited, "context_lost") != 0 || metric(t, waited, "redis_wait_timeouts") != 0 {
		t.Fatal("WAIT with a healthy replica lost context or timed out")
	}
}

func TestWaitWithoutReplicaFailsEverySpill(t *testing.T) {
	_, rr := haRun(t, 0, ", wait_replicas: {replicas: 1, timeout: 5ms}", "11m")
	if metric(t, rr, "redis_wait_timeouts") == 0 || metric(t, rr, "spill_failed_keys") == 0 {
		t.Fatal("WAIT on a master without replica: every batch must time out and be reported not written")
	}
}

// TestReplicationIsDeterministic: a run with replicas, WAIT, a failover inside
// the spills and the full sync after it gives byte-identical results twice
// (the spill workers' goroutines reach the node in any order).
func TestReplicationIsDeterministic(t *testing.T) {
	yaml := fmt.Sprintf(haScaleIn, "", 1, "5m0.003600s") + `
variants:
  - {name: ha, set: {redis.replicas: 1}}
  - {name: ha-wait, set: {redis.replicas: 1, state.wait_replicas: {replicas: 1, timeout: 50ms}}}
`
	sc := scenario(t, yaml)
	a, err := runAll(t, context.Background(), sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := runAll(t, context.Background(), sc, Options{Parallel: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(encode(t, a), encode(t, b)) {
		t.Fatal("same seed, different results")
	}
}
