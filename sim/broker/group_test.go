package broker

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spillway-sim/spillway/sim/engine"
)

func TestNewGroupErrors(t *testing.T) {
	eng := engine.New(1)
	log, _ := NewLog(3)
	tests := []struct {
		name string
		eng  *engine.Engine
		log  *Log
		cfg  GroupConfig
		want string
	}{
		{"no engine", nil, log, GroupConfig{}, "needs an engine and a log"},
		{"no log", eng, nil, GroupConfig{}, "needs an engine and a log"},
		{"bad config", eng, log, GroupConfig{Assignor: "fair"}, "unknown assignor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewGroup(tt.eng, tt.cfg, tt.log)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestQueriesThroughAnEagerRebalance follows Owner, Owned, Fetchable, State
// and the counters through one eager rebalance whose revokes take 2s.
func TestQueriesThroughAnEagerRebalance(t *testing.T) {
	h := newHarness(t, testConfig(AssignorRange), 4)
	if h.g.State() != Empty || h.g.Generation() != 0 || h.g.Fetchable(0) {
		t.Fatalf("new group: %v gen %d", h.g.State(), h.g.Generation())
	}
	if _, _, ok := h.g.Owner(0); ok {
		t.Fatal("new group has an owner")
	}
	h.startGroup(2, false) // m0:[0 1] m1:[2 3] at 3s
	if h.g.State() != Stable || fmt.Sprint(h.g.Members()) != "[m0 m1]" || fmt.Sprint(h.g.Owned("m1")) != "[2 3]" {
		t.Fatalf("state %v members %v owned(m1) %v", h.g.State(), h.g.Members(), h.g.Owned("m1"))
	}
	if id, gen, ok := h.g.Owner(3); id != "m1" || gen != 1 || !ok {
		t.Fatalf("Owner(3) = %s %d %v", id, gen, ok)
	}
	// The first rebalance blocked 4 partitions for 3s.
	if got := h.g.RebalancePauseTotal(); got != 12*time.Second {
		t.Fatalf("pause total %v, want 12s", got)
	}
	for _, f := range h.fakes {
		f.revokeDelay = 2 * time.Second
	}
	t0 := h.eng.Now()
	h.join("m2", "")
	h.eng.RunUntil(t0 + time.Second)
	if h.g.State() != PreparingRebalance || h.g.Fetchable(0) || !h.g.Rebalancing() {
		t.Fatalf("+1s: state %v fetchable(0) %v", h.g.State(), h.g.Fetchable(0))
	}
	if id, _, ok := h.g.Owner(0); id != "m0" || !ok {
		t.Fatalf("partition 0 lost its owner while being revoked: %q", id)
	}
	h.eng.RunUntil(t0 + 3*time.Second)
	if h.g.State() != CompletingRebalance || h.g.Owned("m0") != nil {
		t.Fatalf("+3s: state %v owned(m0) %v", h.g.State(), h.g.Owned("m0"))
	}
	h.settle(time.Minute)
	if h.g.Rebalances() != 2 || h.g.Generation() != 2 {
		t.Fatalf("rebalances %d generation %d", h.g.Rebalances(), h.g.Generation())
	}
	// 12s for the first; 4 partitions x 5s for the second.
	if got := h.g.RebalancePauseTotal(); got != 32*time.Second {
		t.Fatalf("pause total %v, want 32s", got)
	}
	if got := h.g.RebalanceTimeTotal(); got != 8*time.Second {
		t.Fatalf("rebalance time total %v, want 8s (3s + 5s)", got)
	}
	if h.g.Owned("nobody") != nil || h.g.IsMember("nobody") {
		t.Fatal("queries about a non-member")
	}
	for _, s := range []GroupState{Empty, Stable, PreparingRebalance, CompletingRebalance, 9} {
		if s.String() == "" {
			t.Fatal("empty state name")
		}
	}
}

func TestGroupEmptiesAndRefills(t *testing.T) {
	cfg := testConfig(AssignorSticky)
	cfg.InitialRebalanceDelay = 0 // default 3s
	h := newHarness(t, cfg, 4)
	h.startGroup(2, false)
	mustNoErr(t, h.g.Leave("m0"))
	mustNoErr(t, h.g.Leave("m1"))
	if h.g.State() != Empty || h.g.Rebalancing() {
		t.Fatalf("state %v after everyone left", h.g.State())
	}
	pause := h.g.RebalancePauseTotal()
	h.eng.RunUntil(h.eng.Now() + time.Minute)
	if h.g.RebalancePauseTotal() != pause {
		t.Fatal("an empty group accrues rebalance pause")
	}
	t0 := h.eng.Now()
	h.join("m2", "")
	h.settle(time.Minute)
	if ev := h.lastEvent(); ev.At-t0 != 6*time.Second || ev.Generation != 2 {
		t.Fatalf("refill rebalance %v, want +6s (initial delay + round), generation 2", ev)
	}
}

// runRandom drives a group through a random sequence of joins, leaves,
// kills, pauses and commits drawn from seed, checking invariants as it goes,
// and returns the journal of everything the members were told.
func runRandom(t *testing.T, seed uint64, assignor string, static bool, steps int) string {
	t.Helper()
	const partitions = 12
	cfg := DefaultGroupConfig()
	cfg.Assignor = assignor
	cfg.StaticMembership = static
	h := newSeededHarness(t, cfg, partitions, seed, false)
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d %s static=%v at %v: %s\n(reproduce: go test ./sim/broker -run TestRandomOperations)\n%s",
			seed, assignor, static, h.eng.Now(), fmt.Sprintf(format, args...), h.j)
	}
	identity := func(f *fakeMember) string {
		if f.instance != "" {
			return f.instance
		}
		return string(f.id)
	}
	genOwner := map[int32]map[int32]string{}
	onAssign := func(f *fakeMember, gen int32, owned []int32) {
		if genOwner[gen] == nil {
			genOwner[gen] = map[int32]string{}
		}
		for _, p := range owned {
			if o, ok := genOwner[gen][p]; ok && o != identity(f) {
				fail("partition %d assigned to %s and %s in generation %d", p, o, identity(f), gen)
			}
			genOwner[gen][p] = identity(f)
		}
	}
	h.g.OnRebalance(func(ev RebalanceEvent) {
		h.j.add("event %v", ev)
		seen := map[int32]MemberID{}
		for _, mp := range ev.Assignment {
			if !h.g.IsMember(mp.Member) {
				fail("generation %d assigns %v to non-member %s", ev.Generation, mp.Partitions, mp.Member)
			}
			for _, p := range mp.Partitions {
				if o, dup := seen[p]; dup {
					fail("partition %d owned by %s and %s in generation %d", p, o, mp.Member, ev.Generation)
				}
				seen[p] = mp.Member
			}
		}
		if len(ev.Pending)+len(seen) != partitions {
			fail("generation %d: %d assigned + %d pending != %d", ev.Generation, len(seen), len(ev.Pending), partitions)
		}
		if h.g.State() == Stable && len(ev.Pending) != 0 {
			fail("stable generation %d leaves %v unowned", ev.Generation, ev.Pending)
		}
	})
	checkOwners := func() {
		for p := range int32(partitions) {
			if id, _, ok := h.g.Owner(p); ok && !h.g.IsMember(id) {
				fail("partition %d owned by non-member %s", p, id)
			}
		}
		if h.g.State() == Stable {
			for p := range int32(partitions) {
				if !h.g.Fetchable(p) {
					fail("stable group, partition %d not fetchable", p)
				}
			}
		}
	}

	rng := h.eng.NewRand()
	var fakes []*fakeMember // every incarnation, in creation order
	next := 0
	pick := func(ok func(f *fakeMember) bool) *fakeMember {
		var c []*fakeMember
		for _, f := range fakes {
			if ok(f) {
				c = append(c, f)
			}
		}
		if len(c) == 0 {
			return nil
		}
		return c[rng.IntN(len(c))]
	}
	state := map[MemberID]string{} // what the test did to each fake: running, paused, stopped
	for range steps {
		switch op := rng.IntN(12); {
		case op < 3 && len(h.g.Members()) < 8:
			id := MemberID(fmt.Sprintf("m%d", next))
			next++
			inst := ""
			if static {
				inst = fmt.Sprintf("pod-%d", rng.IntN(6))
			}
			f := &fakeMember{id: id, instance: inst, g: h.g, j: h.j, eng: h.eng, onAssign: onAssign,
				revokeDelay: time.Duration(rng.IntN(5)) * time.Second, hang: rng.IntN(10) == 0, commitOnRevoke: true}
			if err := h.g.Join(id, inst, f); err != nil {
				fail("Join: %v", err)
			}
			h.j.add("test join %s %s", id, inst)
			fakes = append(fakes, f)
			state[id] = "running"
		case op == 3:
			if f := pick(func(f *fakeMember) bool { return state[f.id] == "running" && h.g.IsMember(f.id) }); f != nil {
				h.j.add("test leave %s", f.id)
				mustNoErr(t, h.g.Leave(f.id))
				state[f.id] = "stopped"
			}
		case op == 4:
			if f := pick(func(f *fakeMember) bool { return state[f.id] != "stopped" }); f != nil {
				h.j.add("test stop %s", f.id)
				if err := h.g.Stop(f.id); err != nil && h.g.IsMember(f.id) {
					fail("Stop: %v", err)
				}
				state[f.id] = "stopped"
			}
		case op == 5:
			if f := pick(func(f *fakeMember) bool { return state[f.id] == "running" }); f != nil {
				if err := h.g.Pause(f.id); err != nil {
					continue // a zombie that already got its Lost and was forgotten
				}
				h.j.add("test pause %s", f.id)
				state[f.id] = "paused"
				h.eng.After(time.Duration(5+rng.IntN(85))*time.Second, func() {
					if state[f.id] == "paused" {
						h.j.add("test resume %s", f.id)
						if err := h.g.Resume(f.id); err != nil && !errors.Is(err, ErrFencedInstance) {
							fail("Resume: %v", err)
						}
						state[f.id] = "running"
					}
				})
			}
		case op == 6:
			if f := pick(func(f *fakeMember) bool { return state[f.id] == "running" }); f != nil {
				p := int32(rng.IntN(partitions))
				h.log.Append(p, Record{Key: uint32(next)})
				if err := h.g.Commit(f.id, f.gen, p, h.log.HighWatermark(p)); err == nil {
					if id, _, _ := h.g.Owner(p); id != f.id {
						fail("commit of partition %d by %s accepted; owner is %s", p, f.id, id)
					}
				}
			}
		default:
			h.eng.RunUntil(h.eng.Now() + time.Duration(rng.IntN(20000))*time.Millisecond)
		}
		checkOwners()
	}
	// Quiesce: resume the paused, release hung revokes, and let it settle.
	for _, f := range fakes {
		if state[f.id] == "paused" {
			_ = h.g.Resume(f.id)
			state[f.id] = "running"
		}
		f.hang = false
		if f.doneFn != nil && state[f.id] == "running" {
			done := f.doneFn
			f.doneFn = nil
			h.eng.After(0, done)
		}
	}
	h.eng.RunUntil(h.eng.Now() + 20*time.Minute)
	checkOwners()
	if len(h.g.Members()) > 0 {
		if h.g.State() != Stable {
			fail("not stable after quiescing: %v", h.g.State())
		}
		owned := 0
		for _, id := range h.g.Members() {
			owned += len(h.g.Owned(id))
		}
		if owned != partitions {
			fail("%d partitions owned after quiescing, want %d", owned, partitions)
		}
	}
	return h.j.String()
}

// TestRandomOperations is the property test: random sequences of
// join/leave/stop/pause/commit; after every completed rebalance each
// partition has exactly one owner among the group's members, no two members
// (static incarnations count as one) own a partition in the same generation,
// an accepted commit always comes from the owner, and the group always
// settles.
func TestRandomOperations(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4, 5, 6}
	if testing.Short() {
		seeds = seeds[:2]
	}
	for _, assignor := range []string{AssignorRange, AssignorRoundRobin, AssignorSticky, AssignorCooperativeSticky} {
		for _, static := range []bool{false, true} {
			for _, seed := range seeds {
				t.Run(fmt.Sprintf("%s/static=%v/seed=%d", assignor, static, seed), func(t *testing.T) {
					j := runRandom(t, seed, assignor, static, 300)
					if !strings.Contains(j, "event") {
						t.Fatal("no rebalance happened")
					}
				})
			}
		}
	}
}

// TestDeterminism: the same seed gives the same journal, byte for byte; a
// different seed gives a different one.
func TestDeterminism(t *testing.T) {
	for _, assignor := range []string{AssignorSticky, AssignorCooperativeSticky} {
		a := runRandom(t, 42, assignor, true, 200)
		b := runRandom(t, 42, assignor, true, 200)
		if a != b {
			la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
			for i := range min(len(la), len(lb)) {
				if la[i] != lb[i] {
					t.Fatalf("%s: runs diverge at line %d:\n%s\n%s", assignor, i, la[i], lb[i])
				}
			}
			t.Fatalf("%s: runs differ in length %d vs %d", assignor, len(la), len(lb))
		}
		if c := runRandom(t, 43, assignor, true, 200); c == a {
			t.Fatalf("%s: seeds 42 and 43 gave the same journal", assignor)
		}
		if n := strings.Count(a, "event"); n < 5 {
			t.Fatalf("%s: only %d rebalances in the determinism run", assignor, n)
		}
	}
}

func TestRebalanceEventString(t *testing.T) {
	ev := RebalanceEvent{At: time.Second, Generation: 3, Protocol: "range", Round: 1, Members: 2,
		Assignment: []MemberPartitions{{"a", []int32{0}}, {"b", []int32{1}}},
		Revoked:    []MemberPartitions{{"a", []int32{0, 1}}}, Pending: []int32{2}, Removed: []MemberID{"c"}}
	want := "1s gen=3 range round=1 members=2 assign={a:[0] b:[1]} revoked={a:[0 1]} added={} pending=[2] removed=[c]"
	if ev.String() != want {
		t.Fatalf("%s\nwant %s", ev, want)
	}
	_ = slices.Clone(ev.Pending)
}
