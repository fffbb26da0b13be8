// Behavior: the consumer side of the rebalance callbacks, as the Java
// consumer runs its ConsumerRebalanceListener: callbacks run one at a time on
// the consumer's thread, in the order the group produced them, and a revoke
// callback blocks the thread until it returns (the member calls done), so
// nothing that follows is delivered before it. onPartitionsRevoked runs before
// the partitions are reassigned (ConsumerRebalanceListener javadoc); in the
// cooperative protocol a member revokes what it lost and only then sees the new
// assignment (Java ConsumerCoordinator.onJoinComplete, kgo's "prerevoke").
// onPartitionsLost is called instead when the member finds out it was removed
// from the group: its partitions may already belong to someone else, so there
// is nothing to commit (javadoc; its default implementation calls
// onPartitionsRevoked). A paused process receives nothing until it resumes; a
// stopped one receives nothing ever.
//
// Not modelled: the poll loop (callbacks are delivered as engine events at the
// current virtual time, not at the member's next poll), exceptions thrown by
// callbacks, and consumers that subscribe to only part of the topic.

package broker

import (
	"fmt"
	"slices"

	"github.com/spillway-sim/spillway/sim/engine"
)

// MemberID names a member. The fleet chooses it (e.g. the pod name plus an
// incarnation number); it must be deterministic — no random UUIDs as Kafka's
// coordinator would hand out — so that runs replay and so that assignors,
// which sort members by ID, give the same plan.
type MemberID string

// Member is a consumer in the group, implemented by the simulated fleet. The
// broker calls it through engine events, never from inside the fleet's own
// call into the Group, so a callback may call back into the Group freely.
type Member interface {
	// Revoke: give up parts (eager protocols: every owned partition;
	// cooperative: only those that move). gen is the generation the member is
	// in while it revokes: the one to present in Commit. The member calls done
	// when its onPartitionsRevoked callback returns (after its spill and
	// commit), possibly later in virtual time; exactly once. A member killed
	// mid-callback never calls done; the group then waits for its session to
	// expire. Nothing else is delivered to the member until done.
	Revoke(gen int32, parts []int32, done func())
	// Assign: the member now owns owned (sorted) in generation gen; added are
	// the ones it did not hold before (eager protocols: all of owned, as the
	// member revoked everything; a static member that replaced a previous
	// incarnation: all of owned).
	Assign(gen int32, owned, added []int32)
	// Lost: the member was removed from the group (session timeout or
	// rebalance timeout) while it believed it owned parts (Kafka
	// onPartitionsLost). Delivered when the member next talks to the broker:
	// at once if it is running (after a revoke callback in progress returns),
	// at Resume if it is paused; never if it is stopped. Not delivered when
	// parts is empty.
	Lost(parts []int32)
}

type memberState uint8

const (
	running memberState = iota
	paused
	stopped
)

func (s memberState) String() string {
	switch s {
	case running:
		return "running"
	case paused:
		return "paused"
	case stopped:
		return "stopped"
	}
	return fmt.Sprintf("memberState(%d)", uint8(s))
}

type deliveryKind uint8

const (
	deliverRevoke deliveryKind = iota
	deliverAssign
	deliverLost
)

// delivery is one callback waiting in a member's mailbox.
type delivery struct {
	kind  deliveryKind
	gen   int32
	parts []int32 // revoke: the partitions; assign: the full assignment; lost: unused
}

// member is the group's record of one member: the broker's view (ownership is
// kept per partition in Group.owner) and the member's own view (believed),
// which only changes when a callback is actually delivered.
type member struct {
	id         MemberID
	instanceID string // "" for dynamic members
	impl       Member
	state      memberState

	gen          int32   // generation of the member's last assignment; -1 before the first
	lastAssigned []int32 // assignment of the last round it took part in (sticky UserData)
	joined       bool    // has (re)joined the rebalance in progress
	removed      bool    // no longer in the group (left, expired, fenced)

	session *engine.Timer // session expiry while paused or stopped

	inbox       []delivery
	busy        bool   // a Revoke callback is running (done not called yet)
	revokeSeq   uint64 // identifies the Revoke callback in progress
	pumpPending bool   // a delivery event is scheduled
	believed    []int32
}

// enqueue adds a callback to the mailbox. Stopped members receive nothing.
func (g *Group) enqueue(m *member, d delivery) {
	if m.state == stopped {
		return
	}
	m.inbox = append(m.inbox, d)
	g.pump(m)
}

// pump schedules the delivery of the next callback if the member can take it
// now: it runs, and no revoke callback is in progress.
func (g *Group) pump(m *member) {
	if m.pumpPending || m.busy || m.state != running || len(m.inbox) == 0 {
		return
	}
	m.pumpPending = true
	g.eng.After(0, func() { g.deliverNext(m) })
}

func (g *Group) deliverNext(m *member) {
	m.pumpPending = false
	if m.busy || m.state != running || len(m.inbox) == 0 {
		return
	}
	d := m.inbox[0]
	m.inbox[0] = delivery{}
	m.inbox = m.inbox[1:]
	if len(m.inbox) == 0 {
		m.inbox = nil
	}
	switch d.kind {
	case deliverRevoke:
		m.busy = true
		m.revokeSeq++
		seq := m.revokeSeq
		parts := d.parts
		called := false
		m.impl.Revoke(d.gen, slices.Clone(parts), func() {
			if called {
				panic(fmt.Sprintf("broker: member %q called done twice for its revoke of %v in generation %d", m.id, parts, d.gen))
			}
			called = true
			g.revokeDone(m, seq, parts)
		})
	case deliverAssign:
		added := difference(d.parts, m.believed)
		m.believed = slices.Clone(d.parts)
		m.impl.Assign(d.gen, slices.Clone(d.parts), added)
	case deliverLost:
		lost := m.believed
		m.believed = nil
		if len(lost) > 0 {
			m.impl.Lost(lost)
		}
	}
	g.pump(m)
}

// revokeDone is the done of a Revoke callback: the member's thread is free
// again; if it is still in the group, the revoked partitions become unowned and
// the member has rejoined once it has nothing left to revoke.
func (g *Group) revokeDone(m *member, seq uint64, parts []int32) {
	if !m.busy || seq != m.revokeSeq {
		panic(fmt.Sprintf("broker: member %q finished a revoke that is not in progress", m.id))
	}
	g.enter()
	defer g.exit()
	m.busy = false
	m.believed = difference(m.believed, parts)
	if !m.removed {
		for _, p := range parts {
			if g.owner[p] == m && g.revoking[p] {
				g.owner[p] = nil
				g.revoking[p] = false
			}
		}
		g.maybeRejoin(m)
	}
	g.pump(m)
}

// difference returns the sorted elements of a (sorted) that are not in b (sorted).
func difference(a, b []int32) []int32 {
	var out []int32
	i, j := 0, 0
	for i < len(a) {
		switch {
		case j >= len(b) || a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] == b[j]:
			i++
			j++
		default:
			j++
		}
	}
	return out
}
