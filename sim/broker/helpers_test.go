package broker

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spillway-sim/spillway/sim/engine"
)

// journal records everything the group tells its members, with virtual times.
type journal struct {
	eng   *engine.Engine
	lines []string
}

func (j *journal) add(format string, args ...any) {
	j.lines = append(j.lines, fmt.Sprintf("%v ", j.eng.Now())+fmt.Sprintf(format, args...))
}

func (j *journal) String() string { return strings.Join(j.lines, "\n") }

// fakeMember is a scriptable Member: it records callbacks, optionally commits
// every revoked partition at its high watermark, and calls done after
// revokeDelay (or never, when hang is set).
type fakeMember struct {
	id       MemberID
	instance string
	onAssign func(f *fakeMember, gen int32, owned []int32)
	g        *Group
	j        *journal
	eng      *engine.Engine

	revokeDelay    time.Duration
	hang           bool
	commitOnRevoke bool

	gen        int32
	owned      []int32
	revokes    [][]int32
	assigns    int
	lost       [][]int32
	commitErrs []error
	doneFn     func()
}

func (f *fakeMember) Revoke(gen int32, parts []int32, done func()) {
	f.revokes = append(f.revokes, parts)
	if f.j != nil {
		f.j.add("%s revoke gen=%d %v", f.id, gen, parts)
	}
	if f.commitOnRevoke {
		for _, p := range parts {
			if err := f.g.Commit(f.id, gen, p, f.g.Log().HighWatermark(p)); err != nil {
				f.commitErrs = append(f.commitErrs, err)
				if f.j != nil {
					f.j.add("%s commit p%d failed: %v", f.id, p, err)
				}
			}
		}
	}
	switch {
	case f.hang:
		f.doneFn = done
	case f.revokeDelay == 0:
		done()
	default:
		f.eng.After(f.revokeDelay, done)
	}
}

func (f *fakeMember) Assign(gen int32, owned, added []int32) {
	f.gen, f.owned = gen, owned
	f.assigns++
	if f.onAssign != nil {
		f.onAssign(f, gen, owned)
	}
	if f.j != nil {
		f.j.add("%s assign gen=%d owned=%v added=%v", f.id, gen, owned, added)
	}
}

func (f *fakeMember) Lost(parts []int32) {
	f.lost = append(f.lost, parts)
	f.owned = nil
	if f.j != nil {
		f.j.add("%s lost %v", f.id, parts)
	}
}

// harness is a group over a fresh engine and log, with fake members.
type harness struct {
	t      testing.TB
	eng    *engine.Engine
	log    *Log
	g      *Group
	j      *journal
	fakes  map[MemberID]*fakeMember
	events []RebalanceEvent
}

func newHarness(t testing.TB, cfg GroupConfig, partitions int) *harness {
	t.Helper()
	return newSeededHarness(t, cfg, partitions, 1, true)
}

// newSeededHarness builds a harness on engine.New(seed); journalEvents adds
// every RebalanceEvent to the journal.
func newSeededHarness(t testing.TB, cfg GroupConfig, partitions int, seed uint64, journalEvents bool) *harness {
	t.Helper()
	eng := engine.New(seed)
	log, err := NewLog(partitions)
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGroup(eng, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, eng: eng, log: log, g: g, j: &journal{eng: eng}, fakes: map[MemberID]*fakeMember{}}
	g.OnRebalance(func(ev RebalanceEvent) {
		h.events = append(h.events, ev)
		if journalEvents {
			h.j.add("event %v", ev)
		}
	})
	return h
}

// testConfig is the default configuration with no initial delay, so that
// timings in tests are easy to read; tests of the delay set it back.
func testConfig(assignor string) GroupConfig {
	cfg := DefaultGroupConfig()
	cfg.Assignor = assignor
	cfg.InitialRebalanceDelay = NoDelay
	return cfg
}

func (h *harness) join(id MemberID, instance string) *fakeMember {
	h.t.Helper()
	f := &fakeMember{id: id, instance: instance, g: h.g, j: h.j, eng: h.eng}
	if err := h.g.Join(id, instance, f); err != nil {
		h.t.Fatalf("Join(%q): %v", id, err)
	}
	h.fakes[id] = f
	return f
}

// settle runs the engine until the group is stable (or empty) and no event is
// pending before limit.
func (h *harness) settle(limit time.Duration) {
	h.t.Helper()
	h.eng.RunUntil(h.eng.Now() + limit)
	if h.g.Rebalancing() {
		h.t.Fatalf("group still %v after %v:\n%s", h.g.State(), limit, h.j)
	}
}

// assignment returns every member's owned partitions as "id:[..] id:[..]".
func (h *harness) assignment() string {
	var parts []string
	for _, id := range h.g.Members() {
		parts = append(parts, fmt.Sprintf("%s:%v", id, h.g.Owned(id)))
	}
	return strings.Join(parts, " ")
}

// startGroup joins n members m0..m(n-1) at time zero and settles.
func (h *harness) startGroup(n int, static bool) {
	h.t.Helper()
	for i := range n {
		inst := ""
		if static {
			inst = fmt.Sprintf("pod-%d", i)
		}
		h.join(MemberID(fmt.Sprintf("m%d", i)), inst)
	}
	h.settle(time.Minute)
}

func (h *harness) lastEvent() RebalanceEvent {
	h.t.Helper()
	if len(h.events) == 0 {
		h.t.Fatal("no rebalance event")
	}
	return h.events[len(h.events)-1]
}

func mustNoErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
