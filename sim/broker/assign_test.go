package broker

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func fmtPlan(plan map[MemberID][]int32, ids ...MemberID) string {
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%s:%v", id, plan[id])
	}
	return s
}

// TestBalanceFreshGroup checks the assignment of 6 partitions to 3 new
// members by each assignor against the documented Kafka layouts: range gives
// each member a contiguous range (RangeAssignor javadoc), round-robin deals
// partitions in turn (RoundRobinAssignor javadoc), sticky balances 2/2/2.
func TestBalanceFreshGroup(t *testing.T) {
	fresh := []balanceInput{{id: "m0", gen: -1}, {id: "m1", gen: -1}, {id: "m2", gen: -1}}
	tests := []struct {
		name, assignor, want string
	}{
		{"range is contiguous", AssignorRange, "m0:[0 1] m1:[2 3] m2:[4 5]"},
		{"round-robin deals in turn", AssignorRoundRobin, "m0:[0 3] m1:[1 4] m2:[2 5]"},
		{"sticky balances", AssignorSticky, "m0:[0 4] m1:[1 5] m2:[2 3]"},
		{"cooperative-sticky balances like sticky", AssignorCooperativeSticky, "m0:[0 4] m1:[1 5] m2:[2 3]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := balance(balancerFor(tt.assignor), 6, fresh)
			if got := fmtPlan(plan, "m0", "m1", "m2"); got != tt.want {
				t.Fatalf("plan = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestBalanceWithHistory checks what each assignor does with a member's
// previous assignment when m3 joins a group that owned m0:[0 1] m1:[2 3]
// m2:[4 5] in generation 1. Range and round-robin ignore history; sticky
// (KIP-54) moves one partition; cooperative-sticky (KIP-429) withholds the
// moved partition from everyone in this round (AdjustCooperative).
func TestBalanceWithHistory(t *testing.T) {
	prev := map[MemberID][]int32{"m0": {0, 1}, "m1": {2, 3}, "m2": {4, 5}}
	tests := []struct {
		name, assignor, want string
		owned                bool // cooperative: members still own their partitions
	}{
		{"range reshuffles", AssignorRange, "m0:[0 1] m1:[2 3] m2:[4] m3:[5]", false},
		{"round-robin reshuffles", AssignorRoundRobin, "m0:[0 4] m1:[1 5] m2:[2] m3:[3]", false},
		{"sticky moves one partition", AssignorSticky, "m0:[0] m1:[2 3] m2:[4 5] m3:[1]", false},
		{"cooperative withholds the moved partition", AssignorCooperativeSticky, "m0:[0] m1:[2 3] m2:[4 5] m3:[]", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in []balanceInput
			for _, id := range []MemberID{"m0", "m1", "m2"} {
				bi := balanceInput{id: id, gen: 1, last: prev[id]}
				if tt.owned {
					bi.owned = prev[id]
				}
				in = append(in, bi)
			}
			in = append(in, balanceInput{id: "m3", gen: -1})
			plan := balance(balancerFor(tt.assignor), 6, in)
			if got := fmtPlan(plan, "m0", "m1", "m2", "m3"); got != tt.want {
				t.Fatalf("plan = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestBalanceStaticMembersSortByInstance: with group.instance.id the
// coordinator orders members by instance ID, so range follows the pod names,
// not the (incarnation-specific) member IDs.
func TestBalanceStaticMembersSortByInstance(t *testing.T) {
	in := []balanceInput{
		{id: "a-incarnation-9", instanceID: "pod-2", gen: -1},
		{id: "z-incarnation-1", instanceID: "pod-0", gen: -1},
		{id: "m-incarnation-4", instanceID: "pod-1", gen: -1},
	}
	plan := balance(balancerFor(AssignorRange), 6, in)
	want := "z-incarnation-1:[0 1] m-incarnation-4:[2 3] a-incarnation-9:[4 5]"
	if got := fmtPlan(plan, "z-incarnation-1", "m-incarnation-4", "a-incarnation-9"); got != want {
		t.Fatalf("plan = %s, want %s", got, want)
	}
}

func TestSortJoinMembers(t *testing.T) {
	inst := func(s string) *string { return &s }
	ms := []kmsg.JoinGroupResponseMember{
		{MemberID: "b"}, {MemberID: "x", InstanceID: inst("i2")}, {MemberID: "a"}, {MemberID: "y", InstanceID: inst("i1")},
	}
	sortJoinMembers(ms)
	var got []string
	for _, m := range ms {
		got = append(got, m.MemberID)
	}
	if fmt.Sprint(got) != "[y x a b]" {
		t.Fatalf("order = %v, want [y x a b] (static by instance, then dynamic by member id)", got)
	}
}

func TestBalancerForUnknownPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for an unknown assignor")
		}
	}()
	balancerFor("fair")
}

// BenchmarkBalance is one leader assignment through franz-go: 96 partitions,
// 12 members with history, one newcomer (what every rebalance round costs the
// simulator in wall time).
func BenchmarkBalance(b *testing.B) {
	for _, assignor := range []string{AssignorRange, AssignorSticky, AssignorCooperativeSticky} {
		b.Run(assignor, func(b *testing.B) {
			var in []balanceInput
			for i := range 12 {
				var ps []int32
				for p := int32(i); p < 96; p += 12 {
					ps = append(ps, p)
				}
				in = append(in, balanceInput{id: MemberID(fmt.Sprintf("m%02d", i)), gen: 7, owned: ps, last: ps})
			}
			in = append(in, balanceInput{id: "m12", gen: -1})
			bal := balancerFor(assignor)
			b.ReportAllocs()
			for b.Loop() {
				balance(bal, 96, in)
			}
		})
	}
}
