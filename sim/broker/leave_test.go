package broker

import (
	"errors"
	"testing"
	"time"
)

// TestLeave: a dynamic member's LeaveGroup rebalances the rest at once; a
// static member sends none (KIP-345), so the group waits for its session to
// expire; Leave of a member already removed (a zombie) is harmless.
func TestLeave(t *testing.T) {
	tests := []struct {
		name     string
		static   bool
		wantDone time.Duration
	}{
		{"dynamic member leaves at once", false, 3 * time.Second},
		{"static member waits for its session", true, 48 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(AssignorSticky)
			cfg.StaticMembership = tt.static
			h := newHarness(t, cfg, 6)
			h.startGroup(3, tt.static)
			t0 := h.eng.Now()
			mustNoErr(t, h.g.Leave("m2"))
			h.settle(time.Minute)
			if ev := h.lastEvent(); ev.At-t0 != tt.wantDone || ev.Members != 2 {
				t.Fatalf("rebalance %v, want at +%v with 2 members", ev, tt.wantDone)
			}
			if got := len(h.g.Owned("m0")) + len(h.g.Owned("m1")); got != 6 {
				t.Fatalf("remaining members own %d partitions, want 6", got)
			}
			if err := h.g.Leave("m2"); !errors.Is(err, ErrUnknownMember) {
				t.Fatalf("second Leave: %v, want ErrUnknownMember", err)
			}
		})
	}
}

func TestLeaveOfZombie(t *testing.T) {
	h := newHarness(t, testConfig(AssignorRange), 4)
	h.startGroup(2, false)
	mustNoErr(t, h.g.Pause("m0"))
	h.settle(time.Minute) // removed at 45s
	if h.g.IsMember("m0") {
		t.Fatal("m0 not removed")
	}
	mustNoErr(t, h.g.Leave("m0"))
	if err := h.g.Resume("m0"); !errors.Is(err, ErrUnknownMember) {
		t.Fatalf("Resume after the zombie left: %v", err)
	}
	if len(h.fakes["m0"].lost) != 0 {
		t.Fatal("a zombie that left received Lost")
	}
}
