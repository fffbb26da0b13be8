package broker

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestStopRemovesAtSessionTimeout: a SIGKILLed member stays in the group,
// owning partitions nobody processes, until session.timeout.ms (45s) passes;
// then the group rebalances without it.
func TestStopRemovesAtSessionTimeout(t *testing.T) {
	h := newHarness(t, testConfig(AssignorRange), 6)
	h.startGroup(3, false)
	t0 := h.eng.Now()
	mustNoErr(t, h.g.Stop("m1"))
	h.eng.RunUntil(t0 + 45*time.Second - time.Millisecond)
	if !h.g.IsMember("m1") || h.g.Rebalancing() || fmt.Sprint(h.g.Owned("m1")) != "[2 3]" || !h.g.Fetchable(2) {
		t.Fatalf("before the session timeout: member %v, state %v, owned %v", h.g.IsMember("m1"), h.g.State(), h.g.Owned("m1"))
	}
	h.eng.RunUntil(t0 + 45*time.Second)
	if h.g.IsMember("m1") || !h.g.Rebalancing() {
		t.Fatalf("at the session timeout: member %v, state %v", h.g.IsMember("m1"), h.g.State())
	}
	h.settle(time.Minute)
	if ev := h.lastEvent(); ev.At != t0+48*time.Second || fmt.Sprint(ev.Removed) != "[m1]" {
		t.Fatalf("rebalance %v", ev)
	}
	if len(h.fakes["m1"].lost) != 0 {
		t.Fatalf("a stopped member received Lost %v", h.fakes["m1"].lost)
	}
	if err := h.g.Stop("m1"); !errors.Is(err, ErrUnknownMember) {
		t.Fatalf("Stop of a removed member: %v", err)
	}
}

// TestPause: a stop-the-world pause shorter than the session timeout changes
// nothing; one longer gets the member removed while it still believes it owns
// its partitions (a zombie): the group rebalances, the zombie's commit fails,
// and at Resume it receives Lost (onPartitionsLost).
func TestPause(t *testing.T) {
	tests := []struct {
		name           string
		pause          time.Duration
		wantRebalances int
		wantLost       string
	}{
		{"shorter than the session timeout", 30 * time.Second, 0, "[]"},
		{"just under the session timeout", 45*time.Second - time.Millisecond, 0, "[]"},
		{"longer than the session timeout", 60 * time.Second, 1, "[[2 3]]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, testConfig(AssignorRange), 6)
			h.startGroup(3, false)
			h.log.Append(2, Record{})
			gen0, rb0, t0 := h.g.Generation(), h.g.Rebalances(), h.eng.Now()
			m1 := h.fakes["m1"]
			mustNoErr(t, h.g.Pause("m1"))
			h.eng.RunUntil(t0 + tt.pause)
			zombieCommit := h.g.Commit("m1", gen0, 2, 1)
			mustNoErr(t, h.g.Resume("m1"))
			h.settle(time.Minute)
			if got := h.g.Rebalances() - rb0; got != tt.wantRebalances {
				t.Fatalf("%d rebalances, want %d", got, tt.wantRebalances)
			}
			if got := fmt.Sprint(m1.lost); got != tt.wantLost {
				t.Fatalf("m1 lost %s, want %s", got, tt.wantLost)
			}
			if tt.wantRebalances == 0 {
				if zombieCommit != nil || h.g.Generation() != gen0 || fmt.Sprint(h.g.Owned("m1")) != "[2 3]" {
					t.Fatalf("short pause: commit %v, generation %d, owned %v", zombieCommit, h.g.Generation(), h.g.Owned("m1"))
				}
				return
			}
			if !errors.Is(zombieCommit, ErrUnknownMember) {
				t.Fatalf("zombie commit: %v, want ErrUnknownMember", zombieCommit)
			}
			if h.g.IsMember("m1") || h.g.Committed(2) != 0 {
				t.Fatalf("zombie still a member (%v) or its commit landed (%d)", h.g.IsMember("m1"), h.g.Committed(2))
			}
			if id, _, _ := h.g.Owner(2); id == "m1" || id == "" {
				t.Fatalf("partition 2 owned by %q after the zombie's removal", id)
			}
			// The zombie rejoins as a new member and gets a share back.
			h.join("m1-again", "")
			h.settle(time.Minute)
			if len(h.g.Owned("m1-again")) != 2 {
				t.Fatalf("rejoined member owns %v", h.g.Owned("m1-again"))
			}
		})
	}
}

// TestPauseDelaysRebalance: a paused member cannot rejoin, so an eager
// rebalance that starts during its pause waits for its Resume (it receives
// the Revoke then) — the rebalance is as slow as the slowest member.
func TestPauseDelaysRebalance(t *testing.T) {
	h := newHarness(t, testConfig(AssignorRange), 6)
	h.startGroup(3, false)
	t0 := h.eng.Now()
	mustNoErr(t, h.g.Pause("m1"))
	h.eng.RunUntil(t0 + time.Second)
	h.join("m3", "")
	h.eng.RunUntil(t0 + 20*time.Second - time.Millisecond)
	if len(h.fakes["m1"].revokes) != 0 || h.g.State() != PreparingRebalance {
		t.Fatalf("paused member received %v; state %v", h.fakes["m1"].revokes, h.g.State())
	}
	h.eng.RunUntil(t0 + 20*time.Second)
	mustNoErr(t, h.g.Resume("m1"))
	h.settle(time.Minute)
	if ev := h.lastEvent(); ev.At != t0+23*time.Second || ev.Members != 4 {
		t.Fatalf("rebalance %v, want at +23s with 4 members", ev)
	}
}

// TestKilledMidRevoke: a member killed inside onPartitionsRevoked never calls
// done; the rebalance completes once its session expires (45s after the
// kill) plus RebalanceTime. Eager: the kill blocks everyone. Cooperative: only
// the moved partition waits.
func TestKilledMidRevoke(t *testing.T) {
	tests := []struct {
		name       string
		assignor   string
		victim     MemberID
		wantDoneAt time.Duration // after the join
		wantAssign string
	}{
		{"eager range", AssignorRange, "m1", time.Second + 45*time.Second + 3*time.Second, "m0:[0 1] m2:[2 3] m3:[4 5]"},
		{"cooperative", AssignorCooperativeSticky, "m0", 3*time.Second + time.Second + 45*time.Second + 3*time.Second, "m1:[1 5] m2:[2 3] m3:[0 4]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, testConfig(tt.assignor), 6)
			h.startGroup(3, false)
			victim := h.fakes[tt.victim]
			victim.hang = true
			t0 := h.eng.Now()
			h.join("m3", "")
			h.eng.RunUntil(t0 + tt.wantDoneAt - 48*time.Second) // one second into the callback
			if len(victim.revokes) != 1 || victim.doneFn == nil {
				t.Fatalf("victim revokes %v, want one hanging revoke", victim.revokes)
			}
			mustNoErr(t, h.g.Stop(tt.victim)) // killed mid-callback
			h.eng.RunUntil(t0 + tt.wantDoneAt - time.Millisecond)
			if !h.g.Rebalancing() {
				t.Fatalf("rebalance finished before the victim's session expired")
			}
			h.settle(time.Minute)
			if ev := h.lastEvent(); ev.At-t0 != tt.wantDoneAt {
				t.Fatalf("done at +%v, want +%v", ev.At-t0, tt.wantDoneAt)
			}
			if got := h.assignment(); got != tt.wantAssign {
				t.Fatalf("assignment %s, want %s", got, tt.wantAssign)
			}
		})
	}
}

func TestPauseResumeBadInput(t *testing.T) {
	h := newHarness(t, testConfig(AssignorRange), 3)
	h.startGroup(1, false)
	mustNoErr(t, h.g.Stop("m0"))
	tests := []struct {
		name string
		fn   func() error
		want error
	}{
		{"pause unknown", func() error { return h.g.Pause("nobody") }, ErrUnknownMember},
		{"resume unknown", func() error { return h.g.Resume("nobody") }, ErrUnknownMember},
		{"stop unknown", func() error { return h.g.Stop("nobody") }, ErrUnknownMember},
		{"pause stopped", func() error { return h.g.Pause("m0") }, nil},
		{"resume stopped", func() error { return h.g.Resume("m0") }, nil},
		{"stop stopped", func() error { return h.g.Stop("m0") }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.fn()
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
