// Behavior: the group leader's assignment step, done by the real assignors:
// franz-go's exported balancers (kgo.RangeBalancer, RoundRobinBalancer,
// StickyBalancer, CooperativeStickyBalancer), driven without a broker exactly
// as kgo's own leader does in groupConsumer.balanceGroup: each member's
// JoinGroup metadata from GroupBalancer.JoinGroupMetadata, the
// []kmsg.JoinGroupResponseMember sorted as the coordinator hands them over
// (by group.instance.id when set, then member ID), MemberBalancer,
// BalanceOrError, IntoSyncAssignment, and ParseSyncAssignment on each member's
// SyncGroup assignment.
//
// Metadata, per protocol:
//   - range, round-robin: topic list and generation; no owned partitions.
//   - sticky (eager, KIP-54): UserData carries the member's assignment of the
//     last round it took part in, even though it revoked everything before
//     rejoining, as Java's StickyAssignor does (it remembers its last
//     assignment across the revoke). kgo's own eager client forgets it
//     (lastAssigned is cleared on revoke), which would make "sticky" no
//     stickier than round-robin; we follow Java, the client the public write-ups
//     describe.
//   - cooperative-sticky (KIP-429): OwnedPartitions plus the member's
//     generation (KIP-792). The balancer itself (BalancePlan.AdjustCooperative)
//     withholds every partition that moves from one member to another, so the
//     first round only takes partitions away; the group then asks the losers
//     to revoke and runs a second round that hands them out. That is kgo's and
//     Java's two-round protocol; we add nothing to the balancer's decisions.
//
// Not modelled: rack-aware assignment (KIP-881), subscriptions to several
// topics, and a leader that runs a different assignor than the others.

package broker

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func balancerFor(assignor string) kgo.GroupBalancer {
	switch assignor {
	case AssignorRange:
		return kgo.RangeBalancer()
	case AssignorRoundRobin:
		return kgo.RoundRobinBalancer()
	case AssignorSticky:
		return kgo.StickyBalancer()
	case AssignorCooperativeSticky:
		return kgo.CooperativeStickyBalancer()
	}
	panic(fmt.Sprintf("broker: no balancer for assignor %q (config validation let it through)", assignor))
}

// balanceInput is what one member tells the leader in its JoinGroup.
type balanceInput struct {
	id         MemberID
	instanceID string
	gen        int32   // last generation the member took part in; -1 if none
	owned      []int32 // cooperative: partitions it still owns
	last       []int32 // sticky: its assignment in the last round it took part in
}

// balance runs the assignor over members and returns every member's
// assignment (sorted; a member with nothing has an empty entry).
func balance(b kgo.GroupBalancer, partitions int, members []balanceInput) map[MemberID][]int32 {
	jm := make([]kmsg.JoinGroupResponseMember, 0, len(members))
	for _, in := range members {
		var current map[string][]int32
		switch {
		case b.IsCooperative():
			current = map[string][]int32{topic: slices.Clone(in.owned)}
		case b.ProtocolName() == "sticky":
			current = map[string][]int32{topic: slices.Clone(in.last)}
		}
		if ps := current[topic]; len(ps) == 0 {
			delete(current, topic)
		}
		r := kmsg.NewJoinGroupResponseMember()
		r.MemberID = string(in.id)
		if in.instanceID != "" {
			inst := in.instanceID
			r.InstanceID = &inst
		}
		r.ProtocolMetadata = b.JoinGroupMetadata([]string{topic}, current, in.gen)
		jm = append(jm, r)
	}
	sortJoinMembers(jm)

	mb, topics, err := b.MemberBalancer(jm)
	if err != nil {
		panic(fmt.Sprintf("broker: %s balancer rejected the group's own metadata: %v", b.ProtocolName(), err))
	}
	if _, ok := topics[topic]; !ok && len(jm) > 0 {
		panic(fmt.Sprintf("broker: %s balancer lost the topic: members are interested in %v", b.ProtocolName(), topics))
	}
	counts := map[string]int32{topic: int32(partitions)}
	var into kgo.IntoSyncAssignment
	if mbe, ok := mb.(kgo.GroupMemberBalancerOrError); ok {
		if into, err = mbe.BalanceOrError(counts); err != nil {
			panic(fmt.Sprintf("broker: %s balancer failed: %v", b.ProtocolName(), err))
		}
	} else {
		into = mb.Balance(counts)
	}

	plan := make(map[MemberID][]int32, len(members))
	for _, in := range members {
		plan[in.id] = nil
	}
	for _, a := range into.IntoSyncAssignment() {
		id := MemberID(a.MemberID)
		if _, ok := plan[id]; !ok {
			panic(fmt.Sprintf("broker: %s balancer assigned to unknown member %q", b.ProtocolName(), a.MemberID))
		}
		parsed, err := b.ParseSyncAssignment(a.MemberAssignment)
		if err != nil {
			panic(fmt.Sprintf("broker: cannot parse the %s assignment of member %q: %v", b.ProtocolName(), a.MemberID, err))
		}
		ps := slices.Clone(parsed[topic])
		slices.Sort(ps)
		plan[id] = ps
	}
	return plan
}

// sortJoinMembers orders members as the Kafka coordinator does and as kgo's
// GroupBalancer.MemberBalancer requires: members with a group.instance.id
// first, by instance ID, then the others by member ID (kgo's unexported
// joinMemberLess, reproduced).
func sortJoinMembers(ms []kmsg.JoinGroupResponseMember) {
	slices.SortStableFunc(ms, func(l, r kmsg.JoinGroupResponseMember) int {
		switch {
		case l.InstanceID != nil && r.InstanceID != nil:
			return cmp.Compare(*l.InstanceID, *r.InstanceID)
		case l.InstanceID != nil:
			return -1
		case r.InstanceID != nil:
			return 1
		}
		return cmp.Compare(l.MemberID, r.MemberID)
	})
}
