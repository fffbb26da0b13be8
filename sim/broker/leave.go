// Behavior: LeaveGroup, sent by a dynamic member when it closes after its
// shutdown hook (the Java consumer's close(): onPartitionsRevoked, commit, then
// LeaveGroup). The coordinator removes the member at once and rebalances the
// rest; the member receives no callback (it has already revoked locally).
// Static members (KIP-345) do not send LeaveGroup on close: Leave of a static
// member behaves like Stop, and the member stays in the group, its partitions
// unprocessed, until its session expires — unless a new incarnation with the
// same group.instance.id joins first and takes them over without a rebalance.
//
// Not modelled: the admin API's removal of static members (KIP-345
// RemoveMembersFromConsumerGroup) and KIP-1092's leave reasons.

package broker

// Leave is the graceful LeaveGroup of a member that has shut down (its own
// revoke and commit are done). Dynamic members are removed at once and the
// group rebalances; static members are handled as Stop (see above). Leave of a
// zombie forgets it and returns nil.
func (g *Group) Leave(id MemberID) error {
	m := g.members[id]
	if m == nil {
		if g.zombies[id] != nil {
			delete(g.zombies, id)
			return nil
		}
		return g.notMember("Leave", id)
	}
	if m.instanceID != "" {
		if m.state == stopped {
			return nil
		}
		return g.Stop(id)
	}
	g.enter()
	defer g.exit()
	m.state = stopped
	g.removeMember(m, removedLeave)
	return nil
}
