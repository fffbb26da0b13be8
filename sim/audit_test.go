package sim

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/spillway-sim/spillway/core"
	"github.com/spillway-sim/spillway/sim/broker"
)

// auditScenario has handoffs of every kind and a maxmemory that evicts.
const auditScenario = `log: {partitions: 12, assignor: cooperative-sticky}
consumers: {replicas: 4}
state: {strategy: spill-on-revoke, compression: lz4}
redis: {maxmemory: 1150KiB, maxmemory_policy: volatile-lru} # ~60 KiB above the empty server
timeline:
  - {at: 3m, scale: 2}
  - {at: 6m, rolling_restart: true}
  - {at: 9m, crash: 1}
`

func auditMetrics(rr *RunResult) []string {
	var out []string
	for _, m := range rr.Summary {
		if strings.HasPrefix(m.Name, "audit.") {
			out = append(out, fmt.Sprintf("%s=%g", m.Name, m.Value))
		}
	}
	return out
}

func TestAuditCleanRunReportsNothing(t *testing.T) {
	r, rr := run(t, scenario(t, auditScenario), nil)
	if got := auditMetrics(rr); len(got) > 0 {
		t.Fatalf("audit found %v in a healthy run; events: %v", got, rr.Events)
	}
	for p, m := range r.audit.procBy {
		if m.pod < 0 {
			t.Errorf("partition %d never processed: the audit saw nothing", p)
		}
	}
	if metric(t, rr, "redis_evicted_keys") == 0 {
		t.Fatal("the scenario should evict, so the maxmemory audit has something to check")
	}
}

func TestAuditRebalance(t *testing.T) {
	r, _ := run(t, scenario(t, auditScenario), nil)
	members := r.group.Members()
	all := func() []int32 {
		var ps []int32
		for p := range int32(12) {
			ps = append(ps, p)
		}
		return ps
	}
	tests := []struct {
		name string
		ev   broker.RebalanceEvent
		want int64
	}{
		{name: "complete", ev: broker.RebalanceEvent{Members: 1,
			Assignment: []broker.MemberPartitions{{Member: members[0], Partitions: all()}}}},
		{name: "pending round is not checked", ev: broker.RebalanceEvent{Members: 1, Pending: []int32{3},
			Assignment: []broker.MemberPartitions{{Member: members[0], Partitions: []int32{0}}}}},
		{name: "twice, missing, stranger and out of range", ev: broker.RebalanceEvent{Members: 2,
			Assignment: []broker.MemberPartitions{
				{Member: members[0], Partitions: append(all()[:11], 0)}, // 0 twice, 11 missing
				{Member: "stranger", Partitions: []int32{5, 99}},        // 5 twice, 99 out of range
			}}, want: 5}, // 0 and 5 twice, 11 unowned, 5 to a stranger, 99 unknown
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r.audit.ownership = 0
			r.auditRebalance(tc.ev)
			if r.audit.ownership != tc.want {
				t.Fatalf("ownership violations = %d, want %d", r.audit.ownership, tc.want)
			}
		})
	}
}

func TestAuditProcess(t *testing.T) {
	r, _ := run(t, scenario(t, auditScenario), nil)
	var live []*pod
	for _, p := range r.pods {
		if p.alive() {
			live = append(live, p)
		}
	}
	if len(live) < 2 {
		t.Fatalf("%d live pods, need 2", len(live))
	}
	a, b := live[0], live[1]
	r.audit.ownership = 0
	r.audit.procBy[0] = procMark{gen: a.gen, pod: a.index}
	r.auditProcess(a, 0)
	if r.audit.ownership != 0 {
		t.Fatal("the same pod processing again is not a violation")
	}
	b.gen = a.gen
	r.auditProcess(b, 0)
	if r.audit.ownership != 1 {
		t.Fatal("two live pods, one partition, one generation: want a violation")
	}
	b.gen = a.gen + 1
	r.auditProcess(b, 0) // b moves on to a newer generation...
	r.auditProcess(a, 0) // ...and a, still in the older one, processes again
	if r.audit.ownership != 1 {
		t.Fatal("different generations are not a violation")
	}
	r.audit.procBy[0] = procMark{gen: a.gen, pod: a.index}
	a.state = podDead
	b.gen = a.gen
	r.auditProcess(b, 0)
	if r.audit.ownership != 1 {
		t.Fatal("a dead predecessor (a static member's restart) is not a violation")
	}
}

func TestAuditSpill(t *testing.T) {
	r, _ := run(t, scenario(t, auditScenario), nil)
	p := r.pods[0]
	fill := func() []string {
		p.store.Drop(p.store.Partitions()...)
		for _, k := range []string{"a", "b", "c"} {
			p.store.Put(0, k, ctxVal{})
		}
		return p.store.Keys(0)
	}
	tests := []struct {
		name   string
		remove []string // what the "spill" removed from memory
		rep    core.SpillReport
		revoke bool // Store.Revoked of partition 0, not a shutdown spill
		want   int64
	}{
		{name: "acknowledged drops", remove: []string{"a", "b"},
			rep: core.SpillReport{Written: 2, NotWritten: 1, Dropped: 2,
				Failures: []core.KeyFailure{{Partition: 0, Key: "c", Reason: core.ReasonOOM}}}},
		{name: "failed write dropped", remove: []string{"a", "c"},
			rep: core.SpillReport{Written: 1, NotWritten: 1, Dropped: 2,
				Failures: []core.KeyFailure{{Partition: 0, Key: "c", Reason: core.ReasonOOM}}}, want: 1},
		{name: "memory-only drops unwritten", remove: []string{"a"},
			rep: core.SpillReport{NotWritten: 1, Dropped: 1,
				Failures: []core.KeyFailure{{Partition: 0, Key: "a", Reason: core.ReasonDisabled}}}},
		{name: "report undercounts drops", remove: []string{"a", "b"}, rep: core.SpillReport{Written: 2, Dropped: 1},
			want: 1},
		{name: "revoke discards what it reports", remove: []string{"a", "b", "c"}, revoke: true,
			rep: core.SpillReport{Written: 2, NotWritten: 1, Dropped: 2, Discarded: 1,
				Failures: []core.KeyFailure{{Partition: 0, Key: "c", Reason: core.ReasonOOM}}}},
		{name: "revoke keeps an entry", remove: []string{"a", "b"}, revoke: true,
			rep: core.SpillReport{Written: 2, NotWritten: 1, Dropped: 2,
				Failures: []core.KeyFailure{{Partition: 0, Key: "c", Reason: core.ReasonOOM}}}, want: 1},
		{name: "revoke discards more than it reports", remove: []string{"a", "b", "c"}, revoke: true,
			rep: core.SpillReport{Written: 2, Dropped: 2}, want: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			held := fill()
			for _, k := range tc.remove {
				p.store.Delete(0, k)
			}
			r.audit.unackedDrops = 0
			var parts []int32 // a shutdown spill: every partition
			if tc.revoke {
				parts = []int32{0}
			}
			r.auditSpill(p, parts, held, &tc.rep)
			if r.audit.unackedDrops != tc.want {
				t.Fatalf("unacked drops = %d, want %d", r.audit.unackedDrops, tc.want)
			}
		})
	}
}

func TestAuditMemory(t *testing.T) {
	r, _ := run(t, scenario(t, auditScenario), nil)
	r.audit.overMaxmemory = 0
	r.auditMemory()
	if r.audit.overMaxmemory != 0 {
		t.Fatalf("%d violations after a healthy run", r.audit.overMaxmemory)
	}
	// A node without maxmemory given 4 MB of data, audited as if the scenario
	// had set 1150 KiB: the audit must see it.
	r, _ = run(t, scenario(t, strings.Replace(auditScenario, "maxmemory: 1150KiB", "maxmemory: 0", 1)), nil)
	c := r.redis.all[0].NewClient(1)
	defer c.Close()
	big := strings.Repeat("x", 1000)
	for i := range 4000 {
		if err := c.Set(context.Background(), fmt.Sprint("filler-", i), big, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	r.cfg.maxMemoryBytes = 1150 << 10 // the audit reads the resolved settings
	r.auditMemory()
	if r.audit.overMaxmemory != 1 {
		t.Fatalf("4 MB used with maxmemory 1150 KiB: %d violations, want 1", r.audit.overMaxmemory)
	}
}
