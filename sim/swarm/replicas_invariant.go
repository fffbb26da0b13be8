package swarm

import (
	"fmt"

	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim"
)

// failoverKeepsWaitAcked is the failover-keeps-wait-acked invariant.
func failoverKeepsWaitAcked(sc *scenarios.Scenario, rr *sim.RunResult) *Violation {
	if v := audited("audit.failover_lost_wait_acked")(sc, rr); v != nil {
		return v
	}
	w := sc.State.WaitReplicas
	if w == nil || w.Replicas > sc.Redis.Replicas {
		return nil
	}
	lost := get(rr, "lost_by_cause.failover_lost")
	if lost == 0 {
		return nil
	}
	j := firstRow(rr, func(row func(string) float64) bool { return row("lost.failover_lost") > 0 })
	return &Violation{Detail: fmt.Sprintf("WAIT %d with %d replica(s), yet lost_by_cause.failover_lost = %g",
		w.Replicas, sc.Redis.Replicas, lost), After: after(sc, rr, j)}
}
