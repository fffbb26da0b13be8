package sim

import (
	"time"

	"github.com/spillway-sim/spillway/sim/redisnode"
	"github.com/spillway-sim/spillway/summary"
)

// Behavior: the run's side of replication (sim/redisnode/replica.go models it):
//
//   - failover {node}: the master of that node fails; its replica is promoted
//     after redis.failover_time and the writes inside the replication lag are
//     lost (cause failover_lost for those the client had acknowledged,
//     redis_unavailable for those in flight); with no replica online the node
//     loses its data as in an OOM kill (cause redis_lost) and restarts after
//     10 s from its own RDB/AOF, if any.
//   - redis_down longer than redis.failover_time on a master with a replica
//     online: the replica is promoted (the writes it had not replayed when the
//     master became unreachable are lost) and clients reach it after
//     failover_time; nodes without one are down for the whole outage.
//   - An OOM-killed master with a replica is failed over the same way (the
//     node decides, at the write that crossed system memory).
//   - state.wait_replicas: every pod's store runs core.WaitReplicas; the node
//     answers WAIT from its replicas' state and charges the wait to the spill.
//   - The summary's redis_failovers, redis_full_syncs, redis_repl_lag_max,
//     redis_wait_total and redis_wait_timeouts sum the nodes' counters; a key
//     that WAIT confirmed and a failover lost is counted in
//     audit.failover_lost_wait_acked (it must stay 0).

// failover fails Redis node i (an index into every node created so far).
func (r *runner) failover(i int) {
	if i < 0 || i >= len(r.redis.all) {
		r.event("timeline", "failover of Redis node %d: no such node", i)
		return
	}
	n := r.redis.all[i]
	if n.Failover() {
		r.event("redis", "%s failed: replica promoted after %v", n.Name(), r.sc.Redis.FailoverTime.Std())
	} else {
		r.event("redis", "%s failed with no replica online: its data is lost", n.Name())
	}
	r.redis.deliverRemovals()
}

// failoverDown fails over the nodes of a redis_down event that have a replica
// online when the outage outlasts redis.failover_time (Sentinel or the cluster
// promotes the replica; clients reach it after failover_time), and returns the
// others, which are simply down for its length.
func (r *runner) failoverDown(nodes []*redisnode.Node, d time.Duration) []*redisnode.Node {
	if r.sc.Redis.Replicas == 0 || d <= r.sc.Redis.FailoverTime.Std() {
		return nodes
	}
	var rest []*redisnode.Node
	for _, n := range nodes {
		if n.ReplStats().Online > 0 && n.Failover() {
			r.event("redis", "%s unreachable for longer than failover_time: replica promoted", n.Name())
			continue
		}
		rest = append(rest, n)
	}
	r.redis.deliverRemovals()
	return rest
}

// replTotals adds the nodes' replication counters to the summary totals and
// the WAIT audit.
func (f *redisFleet) replTotals(t *summary.Totals) {
	var waited, lostAcked int64
	for _, n := range f.all {
		rs := n.ReplStats()
		t.RedisFailovers += rs.Failovers
		t.RedisFullSyncs += rs.FullSyncs
		t.RedisWaitTimeouts += rs.WaitTimeouts
		t.RedisReplLagMax = max(t.RedisReplLagMax, time.Duration(rs.LagMaxNanos))
		waited += rs.WaitNanos
		lostAcked += rs.LostWaitAcked
	}
	t.RedisWaitTotal = time.Duration(waited)
	f.r.audit.failoverWaitAcked = lostAcked
}
