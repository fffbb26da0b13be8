package broker

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRevocationsByProtocol: 6 partitions, 3 dynamic members m0..m2 in a
// stable group at t=1m; then m3 joins, m1 leaves (LeaveGroup), or m1 crashes
// (session expiry after 45s). Revoke callbacks return at once; RebalanceTime is
// 3s. The rows check the Kafka behaviour each protocol is known for:
//   - eager protocols (range, round-robin, sticky) revoke every partition of
//     every member at every rebalance (ConsumerRebalanceListener javadoc:
//     "all partitions are revoked" in the eager protocol), so all 6 partitions
//     stop for the whole round (pause 6 x 3s = 18s);
//   - cooperative-sticky revokes only what moves (KIP-429): a join moves one
//     partition in two rounds (pause 1 x 3s); a leave or crash moves nothing
//     that is owned, and the orphans are assigned in one round (pause 2 x 3s);
//   - a crash is noticed only at the session timeout (KIP-62), so every
//     protocol completes 45s later than for a LeaveGroup.
func TestRevocationsByProtocol(t *testing.T) {
	tests := []struct {
		name, assignor, event string
		wantRevoked           string // per member, in member order
		wantAssignment        string
		wantGenerations       int32
		wantDone              time.Duration // after the event
		wantPause             time.Duration // RebalancePauseTotal added
	}{
		{"range join", AssignorRange, "join", "m0:[[0 1]] m1:[[2 3]] m2:[[4 5]]", "m0:[0 1] m1:[2 3] m2:[4] m3:[5]", 1, 3 * time.Second, 18 * time.Second},
		{"range leave", AssignorRange, "leave", "m0:[[0 1]] m2:[[4 5]]", "m0:[0 1 2] m2:[3 4 5]", 1, 3 * time.Second, 18 * time.Second},
		{"range crash", AssignorRange, "crash", "m0:[[0 1]] m2:[[4 5]]", "m0:[0 1 2] m2:[3 4 5]", 1, 48 * time.Second, 18 * time.Second},
		{"round-robin join", AssignorRoundRobin, "join", "m0:[[0 3]] m1:[[1 4]] m2:[[2 5]]", "m0:[0 4] m1:[1 5] m2:[2] m3:[3]", 1, 3 * time.Second, 18 * time.Second},
		{"round-robin leave", AssignorRoundRobin, "leave", "m0:[[0 3]] m2:[[2 5]]", "m0:[0 2 4] m2:[1 3 5]", 1, 3 * time.Second, 18 * time.Second},
		{"round-robin crash", AssignorRoundRobin, "crash", "m0:[[0 3]] m2:[[2 5]]", "m0:[0 2 4] m2:[1 3 5]", 1, 48 * time.Second, 18 * time.Second},
		{"sticky join", AssignorSticky, "join", "m0:[[0 4]] m1:[[1 5]] m2:[[2 3]]", "m0:[0] m1:[1 5] m2:[2 3] m3:[4]", 1, 3 * time.Second, 18 * time.Second},
		{"sticky leave", AssignorSticky, "leave", "m0:[[0 4]] m2:[[2 3]]", "m0:[0 1 4] m2:[2 3 5]", 1, 3 * time.Second, 18 * time.Second},
		{"sticky crash", AssignorSticky, "crash", "m0:[[0 4]] m2:[[2 3]]", "m0:[0 1 4] m2:[2 3 5]", 1, 48 * time.Second, 18 * time.Second},
		{"cooperative join", AssignorCooperativeSticky, "join", "m0:[[4]] m1:[] m2:[]", "m0:[0] m1:[1 5] m2:[2 3] m3:[4]", 2, 6 * time.Second, 3 * time.Second},
		{"cooperative leave", AssignorCooperativeSticky, "leave", "m0:[] m2:[]", "m0:[0 1 4] m2:[2 3 5]", 1, 3 * time.Second, 6 * time.Second},
		{"cooperative crash", AssignorCooperativeSticky, "crash", "m0:[] m2:[]", "m0:[0 1 4] m2:[2 3 5]", 1, 48 * time.Second, 6 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, testConfig(tt.assignor), 6)
			h.startGroup(3, false)
			if h.g.Generation() != 1 || h.g.Rebalances() != 1 {
				t.Fatalf("after start: generation %d, rebalances %d, want 1 and 1", h.g.Generation(), h.g.Rebalances())
			}
			for _, f := range h.fakes {
				f.revokes = nil
			}
			gen0, pause0, t0 := h.g.Generation(), h.g.RebalancePauseTotal(), h.eng.Now()
			var done time.Duration
			h.g.OnRebalance(func(ev RebalanceEvent) { done = ev.At - t0 })
			switch tt.event {
			case "join":
				h.join("m3", "")
			case "leave":
				mustNoErr(t, h.g.Leave("m1"))
			case "crash":
				mustNoErr(t, h.g.Stop("m1"))
			}
			h.settle(2 * time.Minute)
			var revoked string
			for _, id := range h.g.Members() {
				if id == "m3" {
					continue
				}
				revoked += fmt.Sprintf("%s:%v ", id, h.fakes[id].revokes)
			}
			if revoked != tt.wantRevoked+" " {
				t.Errorf("revoked %s, want %s", revoked, tt.wantRevoked)
			}
			if got := h.assignment(); got != tt.wantAssignment {
				t.Errorf("assignment %s, want %s", got, tt.wantAssignment)
			}
			for _, id := range h.g.Members() {
				if f := h.fakes[id]; fmt.Sprint(f.owned) != fmt.Sprint(h.g.Owned(id)) || f.gen != h.g.Generation() {
					t.Errorf("member %s believes it owns %v in generation %d; the group says %v in %d",
						id, f.owned, f.gen, h.g.Owned(id), h.g.Generation())
				}
			}
			if got := h.g.Generation() - gen0; got != tt.wantGenerations {
				t.Errorf("%d generations, want %d", got, tt.wantGenerations)
			}
			if done != tt.wantDone {
				t.Errorf("rebalance done %v after the event, want %v", done, tt.wantDone)
			}
			if got := h.g.RebalancePauseTotal() - pause0; got != tt.wantPause {
				t.Errorf("rebalance pause %v, want %v", got, tt.wantPause)
			}
		})
	}
}

// TestCooperativeTwoRounds follows KIP-429 step by step when m3 joins a
// 3-member cooperative group whose members take 2s to revoke: round 1 (3s)
// withholds the moved partition, its owner keeps processing the rest and
// revokes it in the new generation (2s), round 2 (3s) hands it to m3.
func TestCooperativeTwoRounds(t *testing.T) {
	h := newHarness(t, testConfig(AssignorCooperativeSticky), 6)
	h.startGroup(3, false)
	for _, f := range h.fakes {
		f.revokeDelay = 2 * time.Second
		f.commitOnRevoke = true
	}
	t0 := h.eng.Now()
	h.join("m3", "")
	check := func(at time.Duration, state GroupState, gen int32, fetchable4, fetchable0 bool) {
		t.Helper()
		h.eng.RunUntil(t0 + at)
		if h.g.State() != state || h.g.Generation() != gen || h.g.Fetchable(4) != fetchable4 || h.g.Fetchable(0) != fetchable0 {
			t.Fatalf("at +%v: state %v gen %d fetchable(4)=%v fetchable(0)=%v; want %v %d %v %v\n%s",
				at, h.g.State(), h.g.Generation(), h.g.Fetchable(4), h.g.Fetchable(0), state, gen, fetchable4, fetchable0, h.j)
		}
	}
	check(time.Second, CompletingRebalance, 1, true, true)   // round 1 in flight; m0 still processes 4
	check(4*time.Second, PreparingRebalance, 2, false, true) // gen 2: m0 revoking 4, keeps 0
	if id, gen, ok := h.g.Owner(4); !ok || id != "m0" || gen != 2 {
		t.Fatalf("Owner(4) = %s %d %v during the revoke, want m0 2 true", id, gen, ok)
	}
	check(5*time.Second+500*time.Millisecond, CompletingRebalance, 2, false, true) // revoked at +5s; round 2 in flight
	check(8*time.Second, Stable, 3, true, true)
	if id, _, _ := h.g.Owner(4); id != "m3" {
		t.Fatalf("Owner(4) = %s, want m3", id)
	}
	if errs := h.fakes["m0"].commitErrs; len(errs) != 0 {
		t.Fatalf("m0's commit in its revoke callback failed: %v", errs)
	}
	if h.g.Committed(4) != 0 || h.g.Lag(4) != 0 {
		t.Fatalf("committed %d lag %d for partition 4", h.g.Committed(4), h.g.Lag(4))
	}
	evs := h.events[len(h.events)-2:]
	want := []string{
		"1m3s gen=2 cooperative-sticky round=1 members=4 assign={m0:[0] m1:[1 5] m2:[2 3]} revoked={m0:[4]} added={} pending=[4]",
		"1m8s gen=3 cooperative-sticky round=2 members=4 assign={m0:[0] m1:[1 5] m2:[2 3] m3:[4]} revoked={} added={m3:[4]}",
	}
	for i := range want {
		if evs[i].String() != want[i] {
			t.Errorf("event %d = %s\nwant        %s", i, evs[i], want[i])
		}
	}
	// Java order: onPartitionsRevoked(lost) before onPartitionsAssigned in the
	// new generation.
	wantJournal := "1m3s m0 revoke gen=2 [4]\n1m5s m0 assign gen=2 owned=[0] added=[]"
	if got := grepJournal(h.j, "m0 revoke", "m0 assign gen=2"); got != wantJournal {
		t.Errorf("m0's callbacks:\n%s\nwant\n%s", got, wantJournal)
	}
}

func grepJournal(j *journal, substrings ...string) string {
	var out []string
	for _, l := range j.lines {
		for _, p := range substrings {
			if strings.Contains(l, p) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}
