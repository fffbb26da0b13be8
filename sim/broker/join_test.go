package broker

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestInitialRebalanceDelay checks group.initial.rebalance.delay.ms (KIP-134,
// Kafka's InitialDelayedJoin): the first rebalance of an empty group waits 3s,
// another 3s whenever a member joined during the last window, then costs
// RebalanceTime (3s). A join after the delay, while the round completes,
// restarts the round (Kafka's addMemberAndRebalance in CompletingRebalance).
func TestInitialRebalanceDelay(t *testing.T) {
	tests := []struct {
		name     string
		delay    time.Duration
		joins    []time.Duration
		wantAt   time.Duration
		wantGens int32
	}{
		{"one member", 0, []time.Duration{0}, 6 * time.Second, 1},
		{"joins within the window extend it", 0, []time.Duration{0, time.Second, 2 * time.Second}, 9 * time.Second, 1},
		{"a join in the second window extends again", 0, []time.Duration{0, 2 * time.Second, 4 * time.Second}, 12 * time.Second, 1},
		{"a join during the sync restarts the round", 0, []time.Duration{0, 4 * time.Second}, 7 * time.Second, 1},
		{"no delay", NoDelay, []time.Duration{0}, 3 * time.Second, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultGroupConfig()
			if tt.delay != 0 {
				cfg.InitialRebalanceDelay = tt.delay
			}
			h := newHarness(t, cfg, 6)
			for i, at := range tt.joins {
				id := MemberID(fmt.Sprintf("m%d", i))
				h.eng.Schedule(at, func() { h.join(id, "") })
			}
			var firstAt time.Duration = -1
			h.g.OnRebalance(func(ev RebalanceEvent) {
				if firstAt < 0 {
					firstAt = ev.At
				}
			})
			h.settle(time.Minute)
			if firstAt != tt.wantAt {
				t.Fatalf("first assignment at %v, want %v\n%s", firstAt, tt.wantAt, h.j)
			}
			if h.g.Generation() != tt.wantGens {
				t.Fatalf("generation %d, want %d", h.g.Generation(), tt.wantGens)
			}
			for i := range tt.joins {
				if f := h.fakes[MemberID(fmt.Sprintf("m%d", i))]; f.assigns != 1 {
					t.Fatalf("member m%d received %d assignments, want 1", i, f.assigns)
				}
			}
		})
	}
}

// TestEagerVersusCooperativeJoin: a member joining a 3-member group. Eager
// (range) revokes every partition of every member and needs one generation;
// cooperative-sticky (KIP-429) revokes only the moved partitions, keeps the
// others fetchable throughout, and needs two generations.
func TestEagerVersusCooperativeJoin(t *testing.T) {
	tests := []struct {
		name             string
		assignor         string
		wantRevoked      int
		wantGenerations  int32
		wantNeverBlocked []int32 // partitions that stay fetchable during the whole rebalance
	}{
		{"eager range", AssignorRange, 6, 1, nil},
		{"cooperative-sticky", AssignorCooperativeSticky, 1, 2, []int32{0, 1, 2, 3, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, testConfig(tt.assignor), 6)
			h.startGroup(3, false)
			gen0 := h.g.Generation()
			h.join("m3", "")
			blocked := map[int32]bool{}
			for h.g.Rebalancing() || h.eng.Now() == time.Minute {
				for p := range int32(6) {
					if !h.g.Fetchable(p) {
						blocked[p] = true
					}
				}
				if !h.eng.Step() {
					break
				}
			}
			revoked := 0
			for _, id := range []MemberID{"m0", "m1", "m2"} {
				for _, r := range h.fakes[id].revokes {
					revoked += len(r)
				}
			}
			if revoked != tt.wantRevoked {
				t.Errorf("%d partitions revoked, want %d", revoked, tt.wantRevoked)
			}
			if got := h.g.Generation() - gen0; got != tt.wantGenerations {
				t.Errorf("%d generations, want %d", got, tt.wantGenerations)
			}
			for _, p := range tt.wantNeverBlocked {
				if blocked[p] {
					t.Errorf("partition %d stopped being fetchable", p)
				}
			}
			if tt.wantNeverBlocked == nil && len(blocked) != 6 {
				t.Errorf("eager: %d partitions blocked, want all 6", len(blocked))
			}
		})
	}
}

// TestStaticMembershipRestart (KIP-345): a static member that restarts within
// the session timeout takes its old place with no rebalance, same generation
// and same partitions; one that comes back after the session expired finds
// itself removed and the group rebalanced twice: once without it, once with
// the new incarnation (in rounds: 2 eager, 3 cooperative).
func TestStaticMembershipRestart(t *testing.T) {
	tests := []struct {
		name           string
		assignor       string
		downFor        time.Duration
		wantRebalances int
	}{
		{"range restart within the session", AssignorRange, 30 * time.Second, 0},
		{"cooperative restart within the session", AssignorCooperativeSticky, 44 * time.Second, 0},
		{"range restart after the session", AssignorRange, 50 * time.Second, 2},
		// The second rebalance moves partitions to the newcomer: two rounds.
		{"cooperative restart after the session", AssignorCooperativeSticky, 50 * time.Second, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(tt.assignor)
			cfg.StaticMembership = true
			h := newHarness(t, cfg, 6)
			h.startGroup(3, true)
			before := h.assignment()
			owned1 := h.g.Owned("m1")
			gen0, rb0 := h.g.Generation(), h.g.Rebalances()
			mustNoErr(t, h.g.Leave("m1")) // static: no LeaveGroup, same as Stop
			if !h.g.IsMember("m1") {
				t.Fatal("a static member's Leave removed it at once")
			}
			h.eng.RunUntil(h.eng.Now() + tt.downFor)
			f := h.join("m1-restarted", "pod-1")
			h.settle(time.Minute)
			if got := h.g.Rebalances() - rb0; got != tt.wantRebalances {
				t.Fatalf("%d rebalances, want %d\n%s", got, tt.wantRebalances, h.j)
			}
			if tt.wantRebalances > 0 {
				return
			}
			if h.g.Generation() != gen0 {
				t.Fatalf("generation %d, want %d", h.g.Generation(), gen0)
			}
			if want := strings.Replace(before, "m1:", "m1-restarted:", 1); h.assignment() != want {
				t.Fatalf("assignment %s, want %s", h.assignment(), want)
			}
			if fmt.Sprint(f.owned) != fmt.Sprint(owned1) || f.gen != gen0 || f.assigns != 1 {
				t.Fatalf("new incarnation got %v gen %d (%d assigns), want %v gen %d", f.owned, f.gen, f.assigns, owned1, gen0)
			}
			if err := h.g.Commit("m1", gen0, owned1[0], 0); !errors.Is(err, ErrFencedInstance) {
				t.Fatalf("old incarnation's commit: %v, want ErrFencedInstance", err)
			}
			mustNoErr(t, h.g.Commit("m1-restarted", gen0, owned1[0], 0))
		})
	}
}

// TestJoinsBatchedWhilePreparing: eager members take 2s to revoke; two
// members joining 1s apart land in the same rebalance (one generation).
func TestJoinsBatchedWhilePreparing(t *testing.T) {
	h := newHarness(t, testConfig(AssignorRange), 6)
	h.startGroup(3, false)
	for _, f := range h.fakes {
		f.revokeDelay = 2 * time.Second
	}
	t0 := h.eng.Now()
	h.join("m3", "")
	h.eng.RunUntil(t0 + time.Second)
	h.join("m4", "")
	h.settle(time.Minute)
	ev := h.lastEvent()
	if h.g.Generation() != 2 || ev.At-t0 != 5*time.Second || ev.Members != 5 {
		t.Fatalf("generation %d, done at +%v with %d members; want 2, +5s, 5", h.g.Generation(), ev.At-t0, ev.Members)
	}
}

func TestJoinRejectsBadInput(t *testing.T) {
	h := newHarness(t, testConfig(AssignorRange), 3)
	h.join("m0", "")
	cfg := testConfig(AssignorRange)
	cfg.StaticMembership = true
	hs := newHarness(t, cfg, 3)
	tests := []struct {
		name string
		g    *Group
		id   MemberID
		inst string
		m    Member
		want string
	}{
		{"empty id", h.g, "", "", &fakeMember{}, "needs a member id"},
		{"nil member", h.g, "m1", "", nil, "without a Member"},
		{"duplicate id", h.g, "m0", "", &fakeMember{}, "already in the group"},
		{"static group without instance", hs.g, "m0", "", &fakeMember{}, "without an instance id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.g.Join(tt.id, tt.inst, tt.m)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestRebalanceTimeoutRemovesSlowRevoker: a member whose onPartitionsRevoked
// outlasts max.poll.interval.ms (5m) is removed and the round completes
// without it (KIP-62). In the cooperative protocol its Assign is dropped and,
// when its callback finally returns, it learns it was removed: Lost of the
// partitions it had kept.
func TestRebalanceTimeoutRemovesSlowRevoker(t *testing.T) {
	h := newHarness(t, testConfig(AssignorCooperativeSticky), 6)
	h.startGroup(3, false)
	m0 := h.fakes["m0"]
	m0.revokeDelay = 6 * time.Minute
	t0 := h.eng.Now()
	h.join("m3", "")
	h.eng.RunUntil(t0 + 3*time.Second + 5*time.Minute - time.Millisecond)
	if !h.g.IsMember("m0") || h.g.State() != PreparingRebalance {
		t.Fatalf("m0 removed before the rebalance timeout (state %v)", h.g.State())
	}
	h.eng.RunUntil(t0 + 3*time.Second + 5*time.Minute)
	if h.g.IsMember("m0") {
		t.Fatal("m0 still a member at the rebalance timeout")
	}
	h.eng.RunUntil(t0 + 3*time.Second + 6*time.Minute - time.Millisecond)
	if h.g.Rebalancing() {
		t.Fatalf("group still %v", h.g.State())
	}
	if len(m0.lost) != 0 {
		t.Fatalf("Lost delivered while the revoke callback runs: %v", m0.lost)
	}
	h.eng.RunUntil(t0 + 3*time.Second + 6*time.Minute)
	if fmt.Sprint(m0.lost) != "[[0]]" || m0.assigns != 1 {
		t.Fatalf("m0 lost %v with %d assigns, want [[0]] after its callback and no gen-2 Assign\n%s", m0.lost, m0.assigns, h.j)
	}
	if got := h.assignment(); got != "m1:[1 5] m2:[2 3] m3:[0 4]" {
		t.Fatalf("assignment %s", got)
	}
}
