package sim

import (
	"slices"

	"github.com/spillway-sim/spillway/core"
	"github.com/spillway-sim/spillway/sim/broker"
)

// Behavior: the run audits itself against three invariants the metrics cannot
// show, and the swarm (sim/swarm) fails a seed when any count is non-zero:
//
//   - ownership: after every completed rebalance (no partition pending) every
//     partition is assigned to exactly one member of the new generation, and no
//     two pods process records of one partition in the same generation (Kafka's
//     consumer-group guarantee, KIP-429 for the cooperative protocol);
//
//   - unacked drops: an entry leaves a pod's memory in a shutdown spill only when
//     Redis acknowledged its write (or the strategy is memory-only): a key the
//     spill report lists as not written must still be in memory afterwards, and
//     the entries gone from memory are exactly the report's Dropped; a revoke
//     (Store.Revoked) keeps nothing of its partitions, and what it removed
//     unwritten is exactly its Discarded, each listed in its failures;
//
//   - maxmemory: at every sample each Redis node's used memory is at most
//     maxmemory (or the empty server's own usage, when that is larger) plus one
//     spill batch. Redis evicts before each command
//     (evict.c performEvictions) and refuses deny-oom commands when it cannot
//     get under the limit, so one command (a fenced spill script writes a whole
//     batch) is the most it can overshoot.
//
//   - WAIT: a failover never loses a write that WAIT confirmed with the
//     replicas it asked for (redisnode ReplStats.LostWaitAcked, replicas.go).
//
// The counts are summary metrics named audit.* that appear only when non-zero,
// and the first violations of each kind are events of kind "audit".
type audit struct {
	ownership, unackedDrops, overMaxmemory int64
	failoverWaitAcked                      int64 // keys WAIT confirmed that a failover lost (replicas.go)
	// clusterMigration: keys a Cluster reshard's MIGRATE did not carry intact (cluster.go).
	clusterMigration int64
	// procBy is, per partition, the generation and pod index that last
	// processed one of its records (index -1: none yet).
	procBy []procMark
}

type procMark struct {
	gen int32
	pod int
}

// maxAuditEvents bounds the audit events of each kind in a run.
const maxAuditEvents = 5

func newAudit(partitions int) audit {
	a := audit{procBy: make([]procMark, partitions)}
	for i := range a.procBy {
		a.procBy[i].pod = -1
	}
	return a
}

func (r *runner) auditEvent(n int64, format string, args ...any) {
	if n <= maxAuditEvents {
		r.event("audit", format, args...)
	}
}

// auditRebalance checks a completed rebalance's assignment: each partition to
// exactly one member, every owner a member of the group.
func (r *runner) auditRebalance(ev broker.RebalanceEvent) {
	if len(ev.Pending) > 0 || ev.Members == 0 {
		return
	}
	owners := make([]int, r.log.Partitions())
	for _, mp := range ev.Assignment {
		member := r.group.IsMember(mp.Member)
		for _, p := range mp.Partitions {
			if p < 0 || int(p) >= len(owners) {
				r.audit.ownership++
				r.auditEvent(r.audit.ownership, "generation %d assigns partition %d, which does not exist", ev.Generation, p)
				continue
			}
			owners[p]++
			if !member {
				r.audit.ownership++
				r.auditEvent(r.audit.ownership, "generation %d assigns partition %d to %s, not a member",
					ev.Generation, p, mp.Member)
			}
		}
	}
	for p, n := range owners {
		if n != 1 {
			r.audit.ownership++
			r.auditEvent(r.audit.ownership, "generation %d: partition %d has %d owners after the rebalance completed",
				ev.Generation, p, n)
		}
	}
}

// auditProcess checks that no other live pod processed partition part in p's
// generation. A static member's new incarnation legitimately continues its dead
// predecessor's generation (KIP-345: a static member's restart does not
// rebalance), so only a predecessor still alive counts.
func (r *runner) auditProcess(p *pod, part int32) {
	m := &r.audit.procBy[part]
	if m.pod >= 0 && m.pod != p.index && m.gen == p.gen && r.pods[m.pod].alive() {
		r.audit.ownership++
		r.auditEvent(r.audit.ownership, "partition %d processed by %s and %s in generation %d",
			part, r.pods[m.pod].name, p.name, p.gen)
	}
	m.gen, m.pod = p.gen, p.index
}

// auditSpill checks what a spill removed from memory against its report. held
// is every key of the spilled partitions before the spill. A shutdown spill
// (parts nil: Store.SpillAll) removes only what Redis acknowledged; a revoke
// (Store.Revoked) also discards what it could not write, reported one by one in
// its failures and counted in Discarded, and keeps nothing of the partitions.
func (r *runner) auditSpill(p *pod, parts []int32, held []string, rep *core.SpillReport) {
	if rep == nil {
		return
	}
	revoke := parts != nil
	kept := map[string]bool{}
	for _, part := range p.store.Partitions() {
		if parts == nil || slices.Contains(parts, part) {
			for _, k := range p.store.Keys(part) {
				kept[k] = true
			}
		}
	}
	if revoke && len(kept) > 0 {
		r.audit.unackedDrops += int64(len(kept))
		r.auditEvent(r.audit.unackedDrops, "%s: %d entries of revoked partitions %v still in memory", p.name, len(kept), parts)
	}
	failed := make(map[string]core.Reason, len(rep.Failures))
	for _, f := range rep.Failures {
		failed[f.Key] = f.Reason
	}
	removed := 0
	for _, key := range held {
		if kept[key] {
			continue
		}
		removed++
		if why, ok := failed[key]; ok && why != core.ReasonDisabled && !revoke {
			r.audit.unackedDrops++
			r.auditEvent(r.audit.unackedDrops, "%s dropped %s from memory although its write failed (%s)", p.name, key, why)
		}
	}
	if removed != rep.Dropped+rep.Discarded {
		n := int64(max(removed-rep.Dropped-rep.Discarded, rep.Dropped+rep.Discarded-removed))
		r.audit.unackedDrops += n
		r.auditEvent(r.audit.unackedDrops, "%s: %d entries left memory, the spill report says %d dropped and %d discarded",
			p.name, removed, rep.Dropped, rep.Discarded)
	}
}

// auditMemory checks every live node's used memory against maxmemory plus the
// most one command may add (a spill batch of fenced writes).
func (r *runner) auditMemory() {
	limit := r.cfg.maxMemoryBytes
	if limit <= 0 {
		return
	}
	slack := int64(r.cfg.spillBatch) * (2*max(r.cfg.contextBytes, r.valueMax) + perKeyOverheadBound)
	for _, n := range r.redis.all {
		m := n.Memory()
		// A maxmemory below the empty server's own usage evicts every key and
		// refuses writes: the floor is then the baseline, not maxmemory.
		if bound := max(limit, m.BaselineBytes) + slack; m.UsedBytes > bound {
			r.audit.overMaxmemory++
			r.auditEvent(r.audit.overMaxmemory, "%s: used memory %d bytes, over max(maxmemory %d, empty server %d) "+
				"+ %d for one command", n.Name(), m.UsedBytes, limit, m.BaselineBytes, slack)
		}
	}
}

// perKeyOverheadBound bounds what one string key with a TTL costs Redis beyond
// its value (dict entry, key sds, robj, expires entry, allocator rounding: ~100
// bytes in the memory model), with room for a manifest member.
const perKeyOverheadBound = 256

// auditMetrics are the audit counts, as summary metrics, non-zero ones only.
func (a *audit) metrics() []Metric {
	var out []Metric
	for _, m := range []struct {
		name string
		v    int64
	}{{"audit.ownership_violations", a.ownership}, {"audit.unacked_drops", a.unackedDrops},
		{"audit.over_maxmemory", a.overMaxmemory}, {"audit.failover_lost_wait_acked", a.failoverWaitAcked},
		{"audit.cluster_migration_lost", a.clusterMigration}} {
		if m.v != 0 {
			out = append(out, Metric{Name: m.name, Value: float64(m.v)})
		}
	}
	return out
}
