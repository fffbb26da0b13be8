package sim

import (
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
	// A failure every 0.2 ms through the spills: what the node rolled back is
	// what the accounting lost, by cause — acknowledged keys as failover_lost,
	// in-flight ones as redis_unavailable — and with WAIT nothing acknowledged
	// is lost.
	var sawLost bool
	for us := 1000; us <= 8000; us += 200 {
		at := fmt.Sprintf("5m0.%06ds", us)
		r, rr := haRun(t, 1, "", at)
		rs := r.redis.all[0].ReplStats()
		lost := metric(t, rr, "lost_by_cause.failover_lost")
		if lost > float64(rs.LostAckedKeys) {
			t.Fatalf("failure at %s: %v contexts failover_lost, more than the %d acknowledged keys rolled back",
				at, lost, rs.LostAckedKeys)
		}
		if rs.LostAckedKeys > 0 && lost == 0 {
			t.Fatalf("failure at %s: %d acknowledged spilled keys rolled back, none counted failover_lost", at, rs.LostAckedKeys)
		}
		if unacked := rs.LostKeys - rs.LostAckedKeys; unacked > 0 && metric(t, rr, "lost_by_cause.redis_unavailable") == 0 {
			t.Fatalf("failure at %s: %d in-flight keys rolled back, none counted redis_unavailable", at, unacked)
		}
		sawLost = sawLost || lost > 0
		if us%1000 != 0 {
			continue
		}
		_, rw := haRun(t, 1, ", wait_replicas: {replicas: 1, timeout: 50ms}", at)
		if got := metric(t, rw, "lost_by_cause.failover_lost"); got != 0 {
			t.Fatalf("failure at %s with WAIT: %v contexts lost although acknowledged by WAIT", at, got)
		}
		if got, ok := rw.Summary.Get("audit.failover_lost_wait_acked"); ok && got != 0 {
			t.Fatalf("failure at %s: audit.failover_lost_wait_acked = %v", at, got)
		}
	}
	if !sawLost {
		t.Fatal("no failure instant fell inside a batch's replication lag: the test checks nothing")
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
