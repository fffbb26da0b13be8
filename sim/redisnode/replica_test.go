package redisnode

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillway-sim/spillway/sim/engine"
)

// replConfig is a node with a flat service time (10 µs a command) and a 1 ms
// round trip, so the lag window is easy to compute: a pipeline of n SETs is
// served in n × 10 µs, its reply leaves the master half a round trip before the
// client has it, and the replica has the batch half a round trip after it left
// plus 13 % of its service time (calibration.Replication.ApplyFraction).
func replConfig(replicas int) Config {
	return Config{Replicas: replicas, RTT: time.Millisecond, OpTime: 10 * time.Microsecond, FailoverTime: 5 * time.Second}
}

// pipeSet writes keys in one pipeline (with WAIT need timeout appended when
// need > 0) and returns the action's virtual time and the WAIT reply.
func pipeSet(t *testing.T, rdb *redis.Client, keys []string, value string, need int, timeout time.Duration) (time.Duration, int64) {
	t.Helper()
	m := &Meter{}
	ctx := WithMeter(context.Background(), m)
	var wait *redis.IntCmd
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Set(ctx, k, value, 0)
		}
		if need > 0 {
			wait = redis.NewIntCmd(ctx, "wait", need, timeout.Milliseconds())
			_ = p.Process(ctx, wait)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if wait == nil {
		return m.Elapsed(), -1
	}
	return m.Elapsed(), wait.Val()
}

func keyList(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s:%04d", prefix, i)
	}
	return out
}

// removals collects what OnRemove hears, by reason.
func removals(n *Node) map[Removal]int {
	got := map[Removal]int{}
	n.OnRemove(func(_ string, why Removal) { got[why]++ })
	return got
}

func TestFailoverLosesTheWritesInsideTheReplicationLag(t *testing.T) {
	// One pipeline of 1000 SETs at t=0: served in 10 ms, the client has the reply
	// at 11 ms (1 ms round trip), the replica applies it at 10.5 + 0.5 + 1.3 =
	// 12.3 ms. A master failing in between loses the acknowledged batch.
	tests := []struct {
		name     string
		failAt   time.Duration
		acked    int // FailoverLost
		unacked  int // FailoverUnacked
		promoted bool
	}{
		{name: "before the client's ack", failAt: 10800 * time.Microsecond, unacked: 1000, promoted: true},
		{name: "inside the lag", failAt: 11500 * time.Microsecond, acked: 1000, promoted: true},
		{name: "after the replica applied", failAt: 12400 * time.Microsecond, promoted: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng, n := newNode(t, replConfig(1))
			got := removals(n)
			rdb := n.NewClient(2)
			if took, _ := pipeSet(t, rdb, keyList("k", 1000), "v", 0, 0); took != 11*time.Millisecond {
				t.Fatalf("pipeline took %v, want 11ms", took)
			}
			eng.RunUntil(tt.failAt)
			if promoted := n.Failover(); promoted != tt.promoted {
				t.Fatalf("promoted = %v", promoted)
			}
			n.Advance()
			if got[FailoverLost] != tt.acked || got[FailoverUnacked] != tt.unacked {
				t.Fatalf("removals %v, want %d failover_lost and %d failover_unacked", got, tt.acked, tt.unacked)
			}
			if keys := n.Keys(); keys != 1000-tt.acked-tt.unacked {
				t.Fatalf("%d keys after the failover, want %d", keys, 1000-tt.acked-tt.unacked)
			}
			rs := n.ReplStats()
			if rs.Failovers != 1 || rs.LostKeys != int64(tt.acked+tt.unacked) || rs.LostAckedKeys != int64(tt.acked) {
				t.Fatalf("stats %+v", rs)
			}
		})
	}
}

func TestFailoverGivesBackTheValueTheReplicaHad(t *testing.T) {
	eng, n := newNode(t, replConfig(1))
	rdb := n.NewClient(2)
	pipeSet(t, rdb, []string{"a", "b"}, "old", 0, 0)
	eng.RunUntil(time.Second) // replicated
	pipeSet(t, rdb, []string{"a"}, "new", 0, 0)
	pipeSet(t, rdb, []string{"c"}, "new", 0, 0)
	eng.RunUntil(time.Second + 500*time.Microsecond) // neither applied on the replica yet
	n.Failover()
	if v, _ := n.Miniredis().Get("a"); v != "old" {
		t.Fatalf("a = %q after the failover, want the replica's %q", v, "old")
	}
	if n.Miniredis().Exists("c") {
		t.Fatal("c survived the failover although the replica never had it")
	}
	if v, _ := n.Miniredis().Get("b"); v != "old" {
		t.Fatalf("b = %q, want it untouched", v)
	}
	if n.Keys() != 2 {
		t.Fatalf("%d keys in the models, want 2", n.Keys())
	}
}

func TestWaitAnswersFromTheReplicaAndCostsTheLag(t *testing.T) {
	tests := []struct {
		name     string
		replicas int
		need     int
		timeout  time.Duration
		reply    int64
		took     time.Duration
	}{
		// 11 ms for the pipeline, then the replica's ack: its replay (1.3 ms) and a
		// round trip (GETACK out, ACK back); the replay includes the WAIT's own 10 µs.
		{name: "one replica", replicas: 1, need: 1, timeout: 100 * time.Millisecond, reply: 1, took: 13301300 * time.Nanosecond},
		{name: "two replicas, one asked", replicas: 2, need: 1, timeout: 100 * time.Millisecond, reply: 2, took: 13301300 * time.Nanosecond},
		{name: "more asked than there are", replicas: 1, need: 2, timeout: 100 * time.Millisecond, reply: 1, took: 111 * time.Millisecond},
		{name: "no replica: the whole timeout", replicas: 0, need: 1, timeout: 50 * time.Millisecond, reply: 0, took: 61 * time.Millisecond},
		{name: "timeout shorter than the lag", replicas: 1, need: 1, timeout: time.Millisecond, reply: 0, took: 12 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, n := newNode(t, replConfig(tt.replicas))
			rdb := n.NewClient(2)
			took, reply := pipeSet(t, rdb, keyList("k", 1000), "v", tt.need, tt.timeout)
			// WAIT itself is one more command of 10 µs.
			if reply != tt.reply || took-10*time.Microsecond != tt.took {
				t.Fatalf("WAIT answered %d after %v, want %d after %v", reply, took-10*time.Microsecond, tt.reply, tt.took)
			}
			rs := n.ReplStats()
			if rs.WaitCalls != 1 || (rs.WaitTimeouts == 1) != (reply < int64(tt.need)) {
				t.Fatalf("stats %+v", rs)
			}
		})
	}
}

func TestFailoverLosesNoWriteWaitConfirmed(t *testing.T) {
	// Batches with WAIT one after the other, then a failure at every instant
	// around the last one: no key WAIT confirmed is lost, and the last batch is
	// lost exactly while its WAIT has not answered.
	for _, failAt := range []time.Duration{0, 5, 11, 12, 13, 13300, 14000, 30000} {
		t.Run(fmt.Sprint(failAt), func(t *testing.T) {
			eng, n := newNode(t, replConfig(1))
			got := removals(n)
			rdb := n.NewClient(2)
			var took time.Duration
			for b := 0; b < 3; b++ {
				eng.RunUntil(took)
				d, reply := pipeSet(t, rdb, keyList(fmt.Sprint("b", b), 1000), "v", 1, 100*time.Millisecond)
				if reply != 1 {
					t.Fatalf("batch %d: WAIT answered %d", b, reply)
				}
				took += d
			}
			eng.RunUntil(max(took-13310*time.Microsecond, 0) + failAt*time.Microsecond)
			n.Failover()
			n.Advance()
			rs := n.ReplStats()
			if rs.LostWaitAcked != 0 || got[FailoverLost] != 0 {
				t.Fatalf("failure at %v: %d WAIT-confirmed keys lost (%v)", eng.Now(), rs.LostWaitAcked, got)
			}
		})
	}
}

func TestFailoverWithoutReplicaLosesTheNode(t *testing.T) {
	eng, n := newNode(t, replConfig(0))
	got := removals(n)
	rdb := n.NewClient(2)
	pipeSet(t, rdb, keyList("k", 100), "v", 0, 0)
	eng.RunUntil(time.Minute)
	if n.Failover() {
		t.Fatal("promoted a replica that does not exist")
	}
	n.Advance()
	if got[Lost] != 100 || n.Keys() != 0 || !n.Down() {
		t.Fatalf("removals %v, %d keys, down %v: want every key lost and the node restarting", got, n.Keys(), n.Down())
	}
	if rs := n.ReplStats(); rs.FailoverKills != 1 || rs.Failovers != 0 {
		t.Fatalf("stats %+v", rs)
	}
}

func TestPromotedMasterResyncsItsNewReplica(t *testing.T) {
	cfg := replConfig(1)
	cfg.RestartDelay = 20 * time.Second
	eng, n := newNode(t, cfg)
	rdb := n.NewClient(2)
	val := strings.Repeat("x", 1000)
	for b := 0; b < 10; b++ {
		pipeSet(t, rdb, keyList(fmt.Sprint("b", b), 1000), val, 0, 0)
	}
	eng.RunUntil(time.Minute)
	before := n.Memory()
	n.Failover()
	if !n.Down() {
		t.Fatal("clients reach the node during the failover")
	}
	eng.RunUntil(time.Minute + 5*time.Second)
	if n.Down() {
		t.Fatal("the promoted replica does not serve after failover_time")
	}
	if rs := n.ReplStats(); rs.Online != 0 {
		t.Fatalf("%d replicas online right after the promotion, want 0 (the old master is still down)", rs.Online)
	}
	// The old master is back at 1m20s, attaches; the sync forks 5 s later.
	eng.RunUntil(time.Minute + 25*time.Second + time.Millisecond)
	if m := n.Memory(); m.Forks != before.Forks+1 || !m.ChildActive {
		t.Fatalf("no sync fork: forks %d → %d, child %v", before.Forks, m.Forks, m.ChildActive)
	}
	eng.RunUntil(2 * time.Minute)
	rs := n.ReplStats()
	if rs.Online != 1 || rs.FullSyncs != 1 {
		t.Fatalf("stats %+v: want the new replica online after one full sync", rs)
	}
}

func TestBacklogAndReplicaBuffersInUsedMemory(t *testing.T) {
	withRepl, noRepl := replConfig(1), replConfig(0)
	_, a := newNode(t, withRepl)
	_, b := newNode(t, noRepl)
	val := strings.Repeat("x", 1000)
	for _, n := range []*Node{a, b} {
		rdb := n.NewClient(2)
		for i := 0; i < 3; i++ {
			pipeSet(t, rdb, keyList(fmt.Sprint("b", i), 1000), val, 0, 0)
		}
	}
	cal := a.repl.cal
	// 3000 SETs of ~1 KiB: the stream passed 1 MiB, so the backlog is full.
	want := int64(DefaultReplBacklogSize) + cal.BacklogOverheadBytes + cal.ReplicaClientBytes
	if d := a.Memory().UsedBytes - b.Memory().UsedBytes; d != want {
		t.Fatalf("replication adds %d bytes of used memory, want backlog + overhead + one replica client = %d", d, want)
	}
}

func TestOOMKilledMasterIsFailedOverNotEmptied(t *testing.T) {
	eng := engine.New(1)
	cfg := replConfig(1)
	cfg.SystemMemory = 8 << 20
	n := newNodeOn(t, eng, cfg)
	got := removals(n)
	rdb := n.NewClient(2)
	val := strings.Repeat("x", 1000)
	var at time.Duration
	for b := 0; b < 20 && n.Memory().OOMKills == 0; b++ {
		eng.RunUntil(at)
		d, _ := pipeSet(t, rdb, keyList(fmt.Sprint("b", b), 1000), val, 0, 0)
		at += d + time.Second
		n.Advance()
	}
	m := n.Memory()
	rs := n.ReplStats()
	if m.OOMKills != 1 || rs.Failovers != 1 {
		t.Fatalf("OOM kills %d, failovers %d: want the master killed once and its replica promoted", m.OOMKills, rs.Failovers)
	}
	if got[Lost] != 0 || got[FailoverLost]+got[FailoverUnacked] == 0 || m.Keys == 0 {
		t.Fatalf("removals %v, %d keys: want the batch in flight rolled back and the rest kept", got, m.Keys)
	}
}
