package swarm

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim"
)

// Violation is one broken invariant.
type Violation struct {
	// Invariant is the check's name (e.g. "causes-add-up").
	Invariant string `json:"invariant"`
	// Detail says what was wrong, with the numbers.
	Detail string `json:"detail"`
	// After is the latest timeline event at or before the first sample that
	// showed the violation ("timeline[2] at 5m: crash"), or "" when the series
	// cannot tell (or it showed before any event).
	After string `json:"after,omitempty"`
	// Evidence is supporting detail that may differ from run to run (the
	// differing bytes of a non-deterministic result): for stderr, not stdout.
	Evidence string `json:"evidence,omitempty"`
}

// String is the violation on one line.
func (v Violation) String() string {
	s := v.Invariant + ": " + v.Detail
	if v.After != "" {
		s += " (first seen after " + v.After + ")"
	}
	return s
}

// Invariant is a named check of one run's result against its scenario. It
// returns nil when the invariant holds.
type Invariant struct {
	// Name is the invariant's stable name.
	Name string
	// Doc says what it asserts and when.
	Doc string
	// Check evaluates it.
	Check func(sc *scenarios.Scenario, rr *sim.RunResult) *Violation
}

// The names of the run-level invariants, checked by Check rather than on one
// result.
const (
	NameReplayDeterministic = "replay-deterministic"
	NameNoPanic             = "no-panic"
	NameNoGoroutineLeak     = "no-goroutine-leak"
)

// Invariants returns the result invariants in evaluation order.
func Invariants() []Invariant {
	return []Invariant{
		{"stale-fenced", "With state.fencing on, no message is processed with a context a zombie " +
			"overwrote: stale_by_cause.zombie == 0. (Other stale uses are not a fencing failure and " +
			"are reported under their own causes: replays after a crash are at-least-once " +
			"redelivery; a copy whose delete Redis refused after a restore can be found again.)", staleFenced},
		{"causes-add-up", "Every lost context has a cause and the causes add up: Σ lost_by_cause.* == " +
			"context_lost in the summary and in every sample, and Σ stale_by_cause.* == " +
			"context_stale_used.", causesAddUp},
		{"no-unknown-cause", "No loss or stale use is of cause unknown (an accounting bug): " +
			"lost_by_cause.unknown == 0 and no stale_by_cause.unknown.", noUnknownCause},
		{"graceful-handoff-loses-nothing", "When the timeline has only scale and rolling_restart " +
			"events, Redis is healthy (no maxmemory, no Redis fault events), the strategy is " +
			"spill-on-revoke and termination_grace >= 30s, no context is lost.", gracefulHandoff},
		{"model-sanity", "The Redis memory model stays physical: used, RSS and COW bytes are never " +
			"negative; RSS peak >= used peak when both are set; COW peak <= RSS peak.", modelSanity},
		{"one-owner-per-partition", "After every completed rebalance each partition is assigned to " +
			"exactly one member of the group, and no two live pods process records of one partition in " +
			"the same generation: the run's audit.ownership_violations == 0.", audited("audit.ownership_violations")},
		{"no-drop-without-ack", "No entry leaves a pod's memory in a spill unless Redis acknowledged " +
			"its write (or the strategy is memory-only): audit.unacked_drops == 0. Partitions lost " +
			"without a spill (crash, session expiry) are accounted as losses, not drops.", audited("audit.unacked_drops")},
		{"used-within-maxmemory", "With maxmemory set, every node's used memory at every sample is at " +
			"most maxmemory plus one spill batch (Redis evicts, or refuses a write, before each " +
			"command, so one command is the most it can overshoot): audit.over_maxmemory == 0.",
			audited("audit.over_maxmemory")},
		{"staggered-one-fork-per-host", "With redis.persistence.bgsave_schedule: staggered, no host ever " +
			"has two fork children alive at once: redis_host_forks_concurrent_max <= 1 (each child counted " +
			"from its fork to its exit or its parent's kill; sim/redisnode/host.go).", staggeredOneFork},
		{"failover-keeps-wait-acked", "A failover loses no write that WAIT confirmed with the replicas " +
			"it asked for: audit.failover_lost_wait_acked == 0; and when state.wait_replicas asks for " +
			"no more replicas than redis.replicas, no context is lost as failover_lost (every batch " +
			"the store counts as written was on a replica first).", failoverKeepsWaitAcked},
		{"cluster-reshard-keeps-acked", "With redis.mode cluster, resharding loses no context Redis " +
			"acknowledged: every key a MIGRATE moved reached its new master with its value and expiry " +
			"(audit.cluster_migration_lost == 0) and no key became unreachable (lost_by_cause.ring_moved " +
			"== 0, which only client-side hashing causes). A spill or restore Redis refused while its slot " +
			"migrated was never acknowledged: it is counted as cluster_migrating.", clusterKeepsAcked},
	}
}

// staggeredOneFork checks the staggered schedule's promise (hosts.go).
func staggeredOneFork(sc *scenarios.Scenario, rr *sim.RunResult) *Violation {
	if sc.Redis.Persistence.BGSaveSchedule != scenarios.BGSaveStaggered {
		return nil
	}
	if n := get(rr, "redis_host_forks_concurrent_max"); n > 1 {
		return &Violation{Detail: fmt.Sprintf("staggered schedule, yet %g fork children were alive at once on one host "+
			"(%g instances per host)", n, float64(sc.Redis.NodesPerHost))}
	}
	return nil
}

// clusterKeepsAcked checks a Cluster run (see Invariants).
func clusterKeepsAcked(sc *scenarios.Scenario, rr *sim.RunResult) *Violation {
	if sc.ResolvedRedisMode() != scenarios.RedisCluster {
		return nil
	}
	if v := audited("audit.cluster_migration_lost")(sc, rr); v != nil {
		return v
	}
	if n := get(rr, "lost_by_cause.ring_moved"); n != 0 {
		j := firstRow(rr, func(row func(string) float64) bool { return row("lost_by_cause.ring_moved") > 0 })
		return &Violation{Detail: fmt.Sprintf("a Cluster run lost %g contexts to ring_moved", n), After: after(sc, rr, j)}
	}
	return nil
}

// Evaluate runs every result invariant and returns the violations in order.
func Evaluate(sc *scenarios.Scenario, rr *sim.RunResult) []Violation {
	var out []Violation
	for _, inv := range Invariants() {
		if v := inv.Check(sc, rr); v != nil {
			v.Invariant = inv.Name
			out = append(out, *v)
		}
	}
	return out
}

// get returns a summary metric, 0 when absent.
func get(rr *sim.RunResult, name string) float64 {
	v, _ := rr.Summary.Get(name)
	return v
}

// prefixed returns the summary metrics whose names start with prefix, in order.
func prefixed(rr *sim.RunResult, prefix string) []sim.Metric {
	var out []sim.Metric
	for _, m := range rr.Summary {
		if strings.HasPrefix(m.Name, prefix) {
			out = append(out, m)
		}
	}
	return out
}

// firstRow returns the index of the first sample row for which bad holds, or -1.
func firstRow(rr *sim.RunResult, bad func(row func(col string) float64) bool) int {
	idx := map[string]int{}
	for i, c := range rr.Series.Columns {
		idx[c] = i
	}
	for j, r := range rr.Series.Rows {
		row := func(col string) float64 {
			if i, ok := idx[col]; ok && i < len(r) {
				return r[i]
			}
			return 0
		}
		if bad(row) {
			return j
		}
	}
	return -1
}

// after names the latest timeline event at or before sample row j.
func after(sc *scenarios.Scenario, rr *sim.RunResult, j int) string {
	if j < 0 || sc == nil {
		return ""
	}
	ts := rr.Series.Column("t_s")
	if j >= len(ts) {
		return ""
	}
	return afterTime(sc, time.Duration(ts[j]*float64(time.Second)))
}

// afterTime names the latest timeline event at or before t.
func afterTime(sc *scenarios.Scenario, t time.Duration) string {
	if sc == nil {
		return ""
	}
	best := -1
	for i, e := range sc.Timeline {
		if time.Duration(e.At) <= t && (best < 0 || e.At >= sc.Timeline[best].At) {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	e := sc.Timeline[best]
	return fmt.Sprintf("timeline[%d] at %s: %s", best, time.Duration(e.At), e.Action())
}

func staleFenced(sc *scenarios.Scenario, rr *sim.RunResult) *Violation {
	if !sc.State.Fencing {
		return nil
	}
	if z := get(rr, "stale_by_cause.zombie"); z != 0 {
		return &Violation{Detail: fmt.Sprintf("fencing is on but %g messages used a context a zombie "+
			"overwrote (context_stale_used %g)", z, get(rr, "context_stale_used"))}
	}
	return nil
}

func causesAddUp(sc *scenarios.Scenario, rr *sim.RunResult) *Violation {
	var lost, stale float64
	for _, m := range prefixed(rr, "lost_by_cause.") {
		lost += m.Value
	}
	for _, m := range prefixed(rr, "stale_by_cause.") {
		stale += m.Value
	}
	var causes []string
	for _, c := range rr.Series.Columns {
		if strings.HasPrefix(c, "lost.") {
			causes = append(causes, c)
		}
	}
	j := firstRow(rr, func(row func(string) float64) bool {
		var sum float64
		for _, c := range causes {
			sum += row(c)
		}
		return sum != row("context_lost")
	})
	switch total := get(rr, "context_lost"); {
	case lost != total:
		return &Violation{Detail: fmt.Sprintf("Σ lost_by_cause = %g but context_lost = %g", lost, total),
			After: after(sc, rr, j)}
	case j >= 0:
		return &Violation{Detail: fmt.Sprintf("sample at %gs: Σ lost.* != context_lost",
			rr.Series.Rows[j][0]), After: after(sc, rr, j)}
	}
	if used := get(rr, "context_stale_used"); stale != used {
		return &Violation{Detail: fmt.Sprintf("Σ stale_by_cause = %g but context_stale_used = %g", stale, used)}
	}
	return nil
}

func noUnknownCause(sc *scenarios.Scenario, rr *sim.RunResult) *Violation {
	lost, stale := get(rr, "lost_by_cause.unknown"), get(rr, "stale_by_cause.unknown")
	if lost == 0 && stale == 0 {
		return nil
	}
	j := firstRow(rr, func(row func(string) float64) bool { return row("lost.unknown") > 0 })
	return &Violation{Detail: fmt.Sprintf("lost_by_cause.unknown = %g, stale_by_cause.unknown = %g", lost, stale),
		After: after(sc, rr, j)}
}

// healthyHandoff reports whether the scenario is one where a graceful handoff
// must lose nothing (see graceful-handoff-loses-nothing).
func healthyHandoff(sc *scenarios.Scenario) bool {
	if sc.Log.Kind == scenarios.LogRedisStreams &&
		(sc.Log.StreamAssignment != scenarios.StreamsLeased || sc.Log.MaxLen > 0) {
		return false // shared streams have no key affinity; trimming drops messages
	}
	if sc.State.Strategy != scenarios.StrategySpillOnRevoke ||
		time.Duration(sc.Consumers.TerminationGrace) < 30*time.Second || sc.Redis.MaxMemory.Bytes() > 0 {
		return false
	}
	for _, e := range sc.Timeline {
		switch e.Action() {
		case scenarios.ActionScale, scenarios.ActionRollingRestart:
		default:
			return false
		}
	}
	return true
}

func gracefulHandoff(sc *scenarios.Scenario, rr *sim.RunResult) *Violation {
	if !healthyHandoff(sc) {
		return nil
	}
	lost := get(rr, "context_lost")
	if lost == 0 {
		return nil
	}
	var causes []string
	for _, m := range prefixed(rr, "lost_by_cause.") {
		if m.Value > 0 {
			causes = append(causes, fmt.Sprintf("%s=%g", strings.TrimPrefix(m.Name, "lost_by_cause."), m.Value))
		}
	}
	j := firstRow(rr, func(row func(string) float64) bool { return row("context_lost") > 0 })
	return &Violation{Detail: fmt.Sprintf("graceful handoffs only, Redis healthy, yet context_lost = %g (%s)",
		lost, strings.Join(causes, ", ")), After: after(sc, rr, j)}
}

func modelSanity(sc *scenarios.Scenario, rr *sim.RunResult) *Violation {
	for _, col := range []string{"redis_used_memory_bytes", "redis_rss_bytes", "redis_cow_bytes"} {
		vals := rr.Series.Column(col)
		if i := slices.IndexFunc(vals, func(v float64) bool { return v < 0 || math.IsNaN(v) }); i >= 0 {
			return &Violation{Detail: fmt.Sprintf("%s = %g at %gs", col, vals[i], rr.Series.Rows[i][0]),
				After: after(sc, rr, i)}
		}
	}
	used, rss, cow := get(rr, "redis_used_memory_peak_bytes"), get(rr, "redis_rss_peak_bytes"),
		get(rr, "redis_cow_peak_bytes")
	switch {
	case used > 0 && rss > 0 && rss < used:
		return &Violation{Detail: fmt.Sprintf("redis_rss_peak_bytes %g < redis_used_memory_peak_bytes %g", rss, used)}
	case cow > rss:
		return &Violation{Detail: fmt.Sprintf("redis_cow_peak_bytes %g > redis_rss_peak_bytes %g", cow, rss)}
	}
	return nil
}

// audited fails when the run's own audit counted violations of metric (see
// sim/audit.go); the run's first such violations are its "audit" events.
func audited(metric string) func(*scenarios.Scenario, *sim.RunResult) *Violation {
	return func(sc *scenarios.Scenario, rr *sim.RunResult) *Violation {
		n := get(rr, metric)
		if n == 0 {
			return nil
		}
		v := &Violation{Detail: fmt.Sprintf("%s = %g", metric, n)}
		for _, e := range rr.Events {
			if e.Kind == "audit" {
				v.Detail += fmt.Sprintf("; first at %v: %s", time.Duration(e.At), e.Detail)
				v.After = afterTime(sc, time.Duration(e.At))
				break
			}
		}
		return v
	}
}
