// Behavior: liveness — heartbeats and the session timeout (KIP-62 separated
// the session timeout, kept by a background heartbeat thread, from the poll
// timeout max.poll.interval.ms, which bounds a rebalance: join.go).
//
//   - A running member heartbeats; its session never expires.
//   - Stop (SIGKILL, OOMKilled): heartbeats stop; the coordinator removes the
//     member SessionTimeout later, which triggers a rebalance. Until then its
//     partitions stay assigned to it and nobody processes them, and a
//     rebalance in progress waits for it.
//   - Pause (a stop-the-world pause of the whole process, heartbeat thread
//     included): the same clock runs. A pause shorter than the session timeout
//     changes nothing (callbacks due meanwhile are delivered at Resume); a pause
//     of at least the session timeout gets the member removed and its
//     partitions reassigned while it still believes it owns them: a zombie.
//     At Resume it learns that it was removed and receives Lost (Java
//     onPartitionsLost); a commit it sends meanwhile fails with
//     UNKNOWN_MEMBER_ID (or ILLEGAL_GENERATION once it rejoins).
//
// Not modelled: heartbeat.interval.ms granularity (the session is measured from
// the instant the member stopped, not from its last heartbeat before that, so
// expiry can come up to one heartbeat interval later than in Kafka), network
// partitions between member and coordinator, and coordinator failover.

package broker

import "fmt"

type removalReason uint8

const (
	removedLeave removalReason = iota
	removedSession
	removedRebalanceTimeout
)

// Stop records that the member's process died without a shutdown hook: no
// LeaveGroup, no more callbacks; it is removed from the group SessionTimeout
// after it stopped heartbeating (at Stop, or at Pause if it was paused). A
// stopped member cannot be resumed; a new incarnation joins with Join.
// Stopping a zombie (a member already removed) just forgets it.
func (g *Group) Stop(id MemberID) error {
	m := g.members[id]
	if m == nil {
		if z := g.zombies[id]; z != nil {
			z.state = stopped
			z.inbox = nil
			delete(g.zombies, id)
			return nil
		}
		return g.notMember("Stop", id)
	}
	if m.state == stopped {
		return fmt.Errorf("broker: Stop(%q): member already stopped", id)
	}
	g.enter()
	defer g.exit()
	if m.state == running {
		g.startSession(m)
	}
	m.state = stopped
	m.inbox = nil
	return nil
}

// Pause stops the member's process, heartbeats included, until Resume. Only a
// running member can be paused. A zombie can be paused too (it only delays its
// Lost).
func (g *Group) Pause(id MemberID) error {
	m := g.members[id]
	if m == nil {
		m = g.zombies[id]
	}
	if m == nil {
		return g.notMember("Pause", id)
	}
	if m.state != running {
		return fmt.Errorf("broker: Pause(%q): member is %v, not running", id, m.state)
	}
	g.enter()
	defer g.exit()
	m.state = paused
	if !m.removed {
		g.startSession(m)
	}
	return nil
}

// Resume ends a pause. If the member's session expired meanwhile it is no
// longer in the group and receives Lost; otherwise it heartbeats again,
// receives the callbacks that came due during the pause, and rejoins a
// rebalance that was waiting for it.
func (g *Group) Resume(id MemberID) error {
	m := g.members[id]
	if m == nil {
		m = g.zombies[id]
	}
	if m == nil {
		return g.notMember("Resume", id)
	}
	if m.state != paused {
		return fmt.Errorf("broker: Resume(%q): member is %v, not paused", id, m.state)
	}
	g.enter()
	defer g.exit()
	m.state = running
	m.session.Stop()
	m.session = nil
	g.pump(m)
	if !m.removed {
		g.maybeRejoin(m)
	}
	return nil
}

// notMember is the error for a membership call about an ID the group does not
// know: fenced static incarnations get ErrFencedInstance.
func (g *Group) notMember(op string, id MemberID) error {
	if g.fenced[id] {
		return fmt.Errorf("%w: %s(%q)", ErrFencedInstance, op, id)
	}
	return fmt.Errorf("%w: %s(%q)", ErrUnknownMember, op, id)
}

func (g *Group) startSession(m *member) {
	m.session.Stop()
	m.session = g.eng.After(g.cfg.SessionTimeout, func() { g.sessionExpired(m) })
}

func (g *Group) sessionExpired(m *member) {
	g.enter()
	defer g.exit()
	m.session = nil
	if m.removed {
		panic(fmt.Sprintf("broker: session of removed member %q expired", m.id))
	}
	g.removeMember(m, removedSession)
}

// removeMember takes m out of the group: its partitions become unowned and the
// group rebalances. A member removed by a timeout that still runs (or is
// paused) becomes a zombie and receives Lost when it next talks to the broker.
func (g *Group) removeMember(m *member, why removalReason) {
	for p, o := range g.owner {
		if o == m {
			g.owner[p] = nil
			g.revoking[p] = false
		}
	}
	g.dropMember(m)
	if why != removedLeave && m.state != stopped {
		g.zombies[m.id] = m
		g.enqueue(m, delivery{kind: deliverLost})
	}
	g.membershipChanged()
}

// dropMember forgets m as a member (ownership is the caller's business).
func (g *Group) dropMember(m *member) {
	m.removed = true
	m.joined = false
	m.session.Stop()
	m.session = nil
	m.inbox = nil
	delete(g.members, m.id)
	if m.instanceID != "" && g.byInstance[m.instanceID] == m {
		delete(g.byInstance, m.instanceID)
	}
	g.removedSinceEvent = append(g.removedSinceEvent, m.id)
}

// membershipChanged reacts to a member leaving the group.
func (g *Group) membershipChanged() {
	if len(g.members) == 0 {
		g.becomeEmpty()
		return
	}
	switch g.state {
	case Stable:
		g.startRebalance()
	case PreparingRebalance:
		g.tryCompleteJoin()
	case CompletingRebalance:
		g.restartJoin()
	}
}
