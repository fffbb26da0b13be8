// Behavior: JoinGroup and the coordinator's join phase (Kafka's
// GroupCoordinator: PreparingRebalance, DelayedJoin, InitialDelayedJoin).
//
//   - A new member triggers a rebalance. Joins that arrive while the group is
//     preparing one are batched into it; a join that arrives while the group is
//     completing one (between join and sync) sends the group back to preparing,
//     as Kafka's addMemberAndRebalance does, and the round starts over.
//   - Eager protocols (range, round-robin, sticky): when a rebalance starts,
//     every member is asked to revoke everything it owns; it rejoins when its
//     onPartitionsRevoked returns (the Java consumer's onJoinPrepare revokes
//     before sending JoinGroup). Cooperative-sticky (KIP-429): members rejoin at
//     once with what they own and keep processing it.
//   - The join phase completes when every member has rejoined; then one
//     join+sync round costs RebalanceTime (sync.go). A member that has not
//     rejoined RebalanceTimeout after the phase began (max.poll.interval.ms,
//     KIP-62: a revoke callback stuck in a long spill) is removed from the group.
//     A killed or paused member never rejoins: the phase waits for its session
//     to expire (session.go), 45 s by default, well inside the 5 min timeout.
//   - The first rebalance of an empty group waits group.initial.rebalance.delay.ms
//     (KIP-134), extended by another delay each time a new member joined during
//     the last one, at most until the rebalance timeout (InitialDelayedJoin).
//     Once the group has had a generation, an emptied group that fills again
//     waits one delay, without extensions (Kafka only flags new members while
//     the generation is 0).
//   - Static membership (KIP-345): a member joining with the group.instance.id of
//     a member still in the group (session not expired) replaces it with no
//     rebalance: it receives the same assignment and generation. The replaced
//     incarnation, if it still runs, is fenced (FENCED_INSTANCE_ID). If a
//     rebalance is in progress the newcomer takes the old member's place in it;
//     partitions the old incarnation was revoking are dropped (it can never
//     finish that callback).
//
// Not modelled: the heartbeat interval (members learn of a rebalance at once,
// not at their next heartbeat), the two-step dynamic join of KIP-394
// (MEMBER_ID_REQUIRED), coordinator failover and group.max.size. Simplified: at
// the rebalance timeout Kafka keeps static members that have not rejoined until
// their session expires; here they are removed like dynamic ones.

package broker

import (
	"errors"
	"fmt"
	"time"

	"github.com/spillway-sim/spillway/sim/engine"
)

// initialDelay is InitialDelayedJoin: the debounce of the first rebalance.
type initialDelay struct {
	timer          *engine.Timer
	delay          time.Duration // the delay of the pending timer
	remaining      time.Duration
	newMemberAdded bool
}

// Join adds a member that has just started. id must be unique among the
// members; instanceID is its group.instance.id, required when the group uses
// static membership and ignored otherwise. With static membership, a member
// whose instanceID belongs to a member still in the group takes its place
// without a rebalance; otherwise the join triggers (or joins) a rebalance and
// the member receives Assign when it completes.
func (g *Group) Join(id MemberID, instanceID string, m Member) error {
	switch {
	case id == "":
		return errors.New("broker: Join needs a member id")
	case m == nil:
		return fmt.Errorf("broker: Join of member %q without a Member", id)
	case g.members[id] != nil:
		return fmt.Errorf("broker: member %q is already in the group", id)
	case g.cfg.StaticMembership && instanceID == "":
		return fmt.Errorf("broker: member %q joins a static-membership group without an instance id", id)
	}
	if !g.cfg.StaticMembership {
		instanceID = ""
	}
	g.enter()
	defer g.exit()
	delete(g.zombies, id)
	delete(g.fenced, id)
	nm := &member{id: id, instanceID: instanceID, impl: m, state: running, gen: -1}
	if old := g.byInstance[instanceID]; instanceID != "" && old != nil {
		g.replaceStatic(old, nm)
		return nil
	}
	g.members[id] = nm
	if instanceID != "" {
		g.byInstance[instanceID] = nm
	}
	nm.joined = true
	switch g.state {
	case Empty:
		g.state = PreparingRebalance
		if d := g.cfg.InitialRebalanceDelay; d > 0 {
			g.initial = initialDelay{delay: d, remaining: max(g.cfg.RebalanceTimeout-d, 0)}
			g.initial.timer = g.eng.After(d, g.initialDelayExpired)
		} else {
			g.startJoinTimer()
		}
		g.tryCompleteJoin()
	case Stable:
		g.startRebalance()
	case PreparingRebalance:
		if g.initial.timer != nil && g.generation == 0 {
			// Kafka sets newMemberAdded only while the group has never
			// had a generation (addMemberAndRebalance).
			g.initial.newMemberAdded = true
		}
		g.tryCompleteJoin()
	case CompletingRebalance:
		g.restartJoin()
	}
	return nil
}

// replaceStatic puts nm in old's place (KIP-345).
func (g *Group) replaceStatic(old, nm *member) {
	nm.gen = old.gen
	nm.lastAssigned = old.lastAssigned
	for p, o := range g.owner {
		if o != old {
			continue
		}
		if g.revoking[p] {
			g.owner[p] = nil
			g.revoking[p] = false
		} else {
			g.owner[p] = nm
		}
	}
	g.dropMember(old)
	g.fenced[old.id] = true
	g.members[nm.id] = nm
	g.byInstance[nm.instanceID] = nm
	switch g.state {
	case Stable:
		nm.joined = true
		g.enqueue(nm, delivery{kind: deliverAssign, gen: g.generation, parts: g.ownedBy(nm)})
	case PreparingRebalance:
		nm.joined = true
		g.tryCompleteJoin()
	case CompletingRebalance:
		g.restartJoin()
	default:
		panic(fmt.Sprintf("broker: static member %q replaced in group state %v", old.id, g.state))
	}
}

// startRebalance moves a Stable group to PreparingRebalance.
func (g *Group) startRebalance() {
	g.state = PreparingRebalance
	for _, m := range g.sortedMembers() {
		if !g.cooperative {
			if owned := g.ownedBy(m); len(owned) > 0 {
				g.revoke(m, g.generation, owned)
			}
		}
		m.joined = m.state == running && len(g.revokingBy(m)) == 0
	}
	g.startJoinTimer()
	g.tryCompleteJoin()
}

// restartJoin sends a CompletingRebalance group back to PreparingRebalance
// after a membership change: the round in flight is abandoned and every
// member must rejoin (none has anything left to revoke at this point).
func (g *Group) restartJoin() {
	g.syncTimer.Stop()
	g.syncTimer = nil
	g.state = PreparingRebalance
	for _, m := range g.sortedMembers() {
		m.joined = m.state == running
	}
	g.startJoinTimer()
	g.tryCompleteJoin()
}

// revoke asks m to give up parts: they stay owned (and committable) until the
// member's callback returns.
func (g *Group) revoke(m *member, gen int32, parts []int32) {
	for _, p := range parts {
		g.revoking[p] = true
	}
	g.revokedSinceEvent[m.id] = union(g.revokedSinceEvent[m.id], parts)
	g.enqueue(m, delivery{kind: deliverRevoke, gen: gen, parts: parts})
}

// maybeRejoin marks m as rejoined once it runs and has nothing left to revoke.
func (g *Group) maybeRejoin(m *member) {
	if g.state != PreparingRebalance || m.joined || m.removed || m.state != running || len(g.revokingBy(m)) > 0 {
		return
	}
	m.joined = true
	g.tryCompleteJoin()
}

// tryCompleteJoin ends the join phase when every member has rejoined and the
// initial delay is over.
func (g *Group) tryCompleteJoin() {
	if g.state != PreparingRebalance || g.initial.timer != nil {
		return
	}
	if len(g.members) == 0 {
		g.becomeEmpty()
		return
	}
	for _, m := range g.members {
		if !m.joined {
			return
		}
	}
	g.joinTimer.Stop()
	g.joinTimer = nil
	g.state = CompletingRebalance
	g.syncTimer = g.eng.After(g.cfg.RebalanceTime, g.syncDone)
}

func (g *Group) startJoinTimer() {
	g.joinTimer.Stop()
	g.joinTimer = g.eng.After(g.cfg.RebalanceTimeout, g.rebalanceTimeoutExpired)
}

// rebalanceTimeoutExpired removes every member that has not rejoined.
func (g *Group) rebalanceTimeoutExpired() {
	g.enter()
	defer g.exit()
	g.joinTimer = nil
	if g.state != PreparingRebalance {
		panic(fmt.Sprintf("broker: rebalance timeout fired in group state %v", g.state))
	}
	for _, m := range g.sortedMembers() {
		if !m.joined && !m.removed {
			g.removeMember(m, removedRebalanceTimeout)
		}
	}
	g.tryCompleteJoin()
}

func (g *Group) initialDelayExpired() {
	g.enter()
	defer g.exit()
	in := &g.initial
	in.timer = nil
	if in.newMemberAdded && in.remaining > 0 {
		in.newMemberAdded = false
		d := min(g.cfg.InitialRebalanceDelay, in.remaining)
		in.remaining = max(in.remaining-in.delay, 0)
		in.delay = d
		in.timer = g.eng.After(d, g.initialDelayExpired)
		return
	}
	g.startJoinTimer()
	g.tryCompleteJoin()
}

// becomeEmpty: the last member is gone.
func (g *Group) becomeEmpty() {
	g.state = Empty
	g.joinTimer.Stop()
	g.joinTimer = nil
	g.syncTimer.Stop()
	g.syncTimer = nil
	g.initial.timer.Stop()
	g.initial = initialDelay{}
	g.round = 0
	for p := range g.owner {
		if g.owner[p] != nil {
			panic(fmt.Sprintf("broker: empty group still has an owner for partition %d", p))
		}
	}
}

// union returns the sorted union of two sorted sets.
func union(a, b []int32) []int32 {
	out := make([]int32, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j >= len(b) || (i < len(a) && a[i] < b[j]):
			out = append(out, a[i])
			i++
		case i >= len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}
