// Behavior: the end of a rebalance round — the coordinator's
// CompletingRebalance, the leader's assignment and SyncGroup — collapsed into
// one step that costs RebalanceTime of virtual time after the join phase.
//
//   - The generation increases by one per completed round and every member of
//     the new generation receives Assign (Java onPartitionsAssigned is called
//     even when nothing was added).
//   - Eager protocols: every member has already revoked everything, so the new
//     assignment is handed out whole; one round per rebalance.
//   - Cooperative-sticky (KIP-429): the balancer's plan leaves out every
//     partition that moves between members (kgo BalancePlan.AdjustCooperative).
//     A member that owns partitions missing from its new assignment revokes
//     them after the sync (Java ConsumerCoordinator.onJoinComplete; kgo
//     prerevoke), in the new generation, and only then sees its Assign; it keeps
//     processing the partitions it kept. Once it has revoked them it rejoins,
//     and a second round (+RebalanceTime, generation+1) assigns the moved
//     partitions to their new owners. Partitions of members removed from the
//     group are unowned and are assigned in the first round directly.
//   - A membership change while a round is completing abandons it (join.go):
//     Kafka's coordinator goes back to PreparingRebalance and the members'
//     SyncGroup gets REBALANCE_IN_PROGRESS. The abandoned round creates no
//     generation here (Kafka creates one at the end of the join phase and
//     never completes it), so generations count completed rounds.
//
// Not modelled: per-member sync latency (all members receive the assignment at
// the same virtual time), the leader election, and assignment errors (the
// balancers cannot fail on the metadata this package builds; if they do, that
// is a bug and it panics).

package broker

import (
	"fmt"
	"slices"
)

func (g *Group) syncDone() {
	g.enter()
	defer g.exit()
	g.syncTimer = nil
	if g.state != CompletingRebalance {
		panic(fmt.Sprintf("broker: sync completed in group state %v", g.state))
	}
	g.finishRound()
}

// finishRound assigns partitions to every member and starts the next
// generation.
func (g *Group) finishRound() {
	ms := g.sortedMembers()
	inputs := make([]balanceInput, 0, len(ms))
	for _, m := range ms {
		if !m.joined {
			panic(fmt.Sprintf("broker: round completes while member %q has not rejoined", m.id))
		}
		inputs = append(inputs, balanceInput{
			id: m.id, instanceID: m.instanceID, gen: m.gen,
			owned: g.ownedBy(m), last: m.lastAssigned,
		})
	}
	for p, rev := range g.revoking {
		if rev {
			panic(fmt.Sprintf("broker: round completes while partition %d is being revoked", p))
		}
	}
	plan := balance(g.balancer, len(g.owner), inputs)

	g.generation++
	g.rounds++
	g.round++
	gen := g.generation
	ev := RebalanceEvent{
		At: g.eng.Now(), Generation: gen, Protocol: g.cfg.Assignor, Round: g.round, Members: len(ms),
	}
	planned := make([]*member, len(g.owner))
	toRevoke := make(map[*member][]int32)
	for _, m := range ms {
		for _, p := range plan[m.id] {
			if planned[p] != nil {
				panic(fmt.Sprintf("broker: %s assigned partition %d to both %q and %q in generation %d",
					g.cfg.Assignor, p, planned[p].id, m.id, gen))
			}
			if o := g.owner[p]; o != nil && o != m {
				panic(fmt.Sprintf("broker: %s assigned partition %d to %q while %q still owns it (generation %d)",
					g.cfg.Assignor, p, m.id, o.id, gen))
			}
			planned[p] = m
		}
		if lose := difference(g.ownedBy(m), plan[m.id]); len(lose) > 0 {
			if !g.cooperative {
				panic(fmt.Sprintf("broker: eager member %q still owns %v at the end of a round", m.id, lose))
			}
			toRevoke[m] = lose
		}
	}
	for _, m := range ms {
		assigned := plan[m.id]
		if add := difference(assigned, m.lastAssigned); len(add) > 0 {
			ev.Added = append(ev.Added, MemberPartitions{m.id, add})
		}
		for _, p := range assigned {
			g.owner[p] = m
		}
		m.gen = gen
		m.lastAssigned = assigned
		if len(assigned) > 0 {
			ev.Assignment = append(ev.Assignment, MemberPartitions{m.id, slices.Clone(assigned)})
		}
	}
	if g.cooperative && len(toRevoke) > 0 {
		g.state = PreparingRebalance
		g.startJoinTimer()
	} else {
		g.state = Stable
	}
	for _, m := range ms {
		if lose := toRevoke[m]; len(lose) > 0 {
			g.revoke(m, gen, lose)
		}
		g.enqueue(m, delivery{kind: deliverAssign, gen: gen, parts: plan[m.id]})
		m.joined = m.state == running && len(toRevoke[m]) == 0
	}
	for _, id := range sortedKeys(g.revokedSinceEvent) {
		ev.Revoked = append(ev.Revoked, MemberPartitions{id, g.revokedSinceEvent[id]})
	}
	for p, o := range g.owner {
		if o == nil || g.revoking[p] {
			ev.Pending = append(ev.Pending, int32(p))
		}
	}
	ev.Removed = g.removedSinceEvent
	slices.Sort(ev.Removed)
	clear(g.revokedSinceEvent)
	g.removedSinceEvent = nil
	if g.state == Stable {
		g.round = 0
	}
	for _, fn := range g.observers {
		fn(ev)
	}
}

func sortedKeys(m map[MemberID][]int32) []MemberID {
	ks := make([]MemberID, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
