package scenarios

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// designMetrics is docs/design.md's summary metric list with lost_by_cause.* expanded.
var designMetrics = []string{
	"messages", "messages_replayed", "context_needed", "context_ok", "context_lost", "context_stale_used",
	"context_loss_ratio",
	"lost_by_cause.crash", "lost_by_cause.grace_overrun", "lost_by_cause.ttl_expired", "lost_by_cause.evicted",
	"lost_by_cause.redis_lost", "lost_by_cause.stale_discarded", "lost_by_cause.ring_moved", "lost_by_cause.not_spilled",
	"local_hits", "restored", "stale_discarded", "redis_lookups_missed", "spilled_keys", "spill_bytes",
	"spill_duration_max", "redis_ops", "redis_bytes_in", "redis_bytes_out", "redis_used_memory_peak_bytes",
	"redis_rss_peak_bytes", "redis_cow_peak_bytes", "redis_evicted_keys", "redis_expired_keys", "redis_oom_kills",
	"redis_fork_failures", "redis_rejected_writes", "latency_p50", "latency_p99", "latency_p999", "consumer_lag_max",
	"rebalances", "rebalance_pause_total",
}

// isSubsequence reports whether want appears in got in the same order (the
// contract may be extended, never reordered or renamed).
func isSubsequence(want, got []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

func TestMetricNamesAreTheContract(t *testing.T) {
	if got := MetricNames(); !isSubsequence(designMetrics, got) {
		t.Fatalf("MetricNames() =\n%v\ndoes not contain, in order,\n%v", got, designMetrics)
	}
	MetricNames()[0] = "changed"
	if MetricNames()[0] != "messages" {
		t.Fatal("MetricNames returns shared storage")
	}
}

// TestMetricNamesMatchDesign re-reads the contract's list from docs/design.md
// ("Scenario contract") in the repository.
func TestMetricNamesMatchDesign(t *testing.T) {
	data, err := os.ReadFile("../docs/design.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i := strings.Index(text, "Summary metric names")
	if i < 0 {
		t.Fatal("docs/design.md has no summary metric list")
	}
	para := text[i : i+strings.Index(text[i:], "\n\n")]
	var names []string
	for _, m := range regexp.MustCompile("`([a-z0-9_.*]+)`").FindAllStringSubmatch(para, -1) {
		if m[1] == "lost_by_cause.*" {
			for _, c := range LossCauses[:8] { // docs/design.md's causes; the rest are extensions
				names = append(names, "lost_by_cause."+c)
			}
			continue
		}
		names = append(names, m[1])
	}
	if !reflect.DeepEqual(names, designMetrics) {
		t.Fatalf("docs/design.md lists\n%v\nthis package\n%v", names, designMetrics)
	}
}

func TestMetricUnit(t *testing.T) {
	tests := []struct {
		name   string
		metric string
		want   Unit
		known  bool
	}{
		{name: "count", metric: "messages", want: UnitCount, known: true},
		{name: "ratio", metric: "context_loss_ratio", want: UnitRatio, known: true},
		{name: "bytes", metric: "redis_rss_peak_bytes", want: UnitBytes, known: true},
		{name: "seconds", metric: "latency_p99", want: UnitSeconds, known: true},
		{name: "cause", metric: "lost_by_cause.evicted", want: UnitCount, known: true},
		{name: "unknown", metric: "nope", known: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := MetricUnit(tt.metric)
			if ok != tt.known || got != tt.want {
				t.Fatalf("MetricUnit(%q) = %v, %v", tt.metric, got, ok)
			}
		})
	}
	if UnitSeconds.String() != "seconds" || Unit(9).String() != "Unit(9)" {
		t.Fatal("Unit.String")
	}
}

func TestCheck(t *testing.T) {
	s := mustLoad(t, "testdata/sweep.yaml")
	values := map[string]float64{
		"lru/redis.maxmemory=64MiB|redis_oom_kills":         0,
		"lru/redis.maxmemory=64MiB|latency_p99":             0.2,
		"lru/redis.maxmemory=256MiB|redis_oom_kills":        0,
		"lru/redis.maxmemory=256MiB|latency_p99":            0.05,
		"lru/redis.maxmemory=1GiB|redis_oom_kills":          0,
		"lru/redis.maxmemory=1GiB|latency_p99":              0.001,
		"noeviction/redis.maxmemory=64MiB|redis_oom_kills":  2,
		"noeviction/redis.maxmemory=64MiB|latency_p99":      9, // not bounded for this variant
		"noeviction/redis.maxmemory=256MiB|redis_oom_kills": 0,
		"noeviction/redis.maxmemory=1GiB|redis_oom_kills":   0,
	}
	lookup := func(run, metric string) (float64, bool) {
		v, ok := values[run+"|"+metric]
		return v, ok
	}
	plan, err := s.Plan()
	if err != nil {
		t.Fatal(err)
	}
	got := Check(s.Name, plan.Runs, s.Expect, lookup)
	var msgs []string
	for _, f := range got {
		msgs = append(msgs, f.String())
	}
	want := []string{
		"maxmemory-sweep: run lru/redis.maxmemory=64MiB: latency_p99 = 0.2 (200ms) is above max 50ms",
		"maxmemory-sweep: run noeviction/redis.maxmemory=64MiB: redis_oom_kills = 2 is above max 0",
	}
	if !reflect.DeepEqual(msgs, want) {
		t.Fatalf("failures:\n%s\nwant\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
	if got[0].Run != "lru/redis.maxmemory=64MiB" || got[0].Metric != "latency_p99" || got[0].Bound != "max 50ms" ||
		got[0].Value != 0.2 || got[0].Missing {
		t.Fatalf("failure fields %+v", got[0])
	}
}

func TestCheckBounds(t *testing.T) {
	runs := []Run{{Label: "a", Variant: "a"}, {Label: "b", Variant: "b"}}
	bound := func(s string) *Bound {
		b, err := ParseBound(s)
		if err != nil {
			t.Fatal(err)
		}
		return &b
	}
	tests := []struct {
		name   string
		expect Expectation
		value  float64
		found  bool
		want   []string
	}{
		{name: "inside", expect: Expectation{Metric: "messages", Min: bound("1"), Max: bound("10")}, value: 5, found: true},
		{name: "on the bounds", expect: Expectation{Metric: "messages", Min: bound("5"), Max: bound("5")}, value: 5, found: true},
		{name: "below", expect: Expectation{Metric: "messages", Min: bound("10")}, value: 5, found: true, want: []string{
			"s: run a: messages = 5 is below min 10", "s: run b: messages = 5 is below min 10"}},
		{name: "one variant", expect: Expectation{Variant: "b", Metric: "redis_rss_peak_bytes", Max: bound("7GiB")},
			value: 8 << 30, found: true, want: []string{
				"s: run b: redis_rss_peak_bytes = 8.58993e+09 (8.00GiB) is above max 7GiB"}},
		{name: "missing", expect: Expectation{Variant: "a", Metric: "rebalances", Min: bound("1"), Max: bound("3")},
			want: []string{"s: run a: rebalances was not reported (expected min 1, max 3)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Check("s", runs, []Expectation{tt.expect}, func(string, string) (float64, bool) { return tt.value, tt.found })
			var msgs []string
			for _, f := range got {
				msgs = append(msgs, f.String())
			}
			if !reflect.DeepEqual(msgs, tt.want) {
				t.Fatalf("failures %q, want %q", msgs, tt.want)
			}
		})
	}
}

func TestExpectationPointSelectsASweepValue(t *testing.T) {
	s, err := Open("grace-period")
	if err != nil {
		t.Fatal(err)
	}
	runs, err := s.SweepPoints()
	if err != nil {
		t.Fatal(err)
	}
	exp := []Expectation{{Variant: "parallelism-1", Point: "0.5s", Metric: "context_lost", Max: &Bound{Value: 0}}}
	var checked []string
	fails := Check("grace-period", runs, exp, func(run, metric string) (float64, bool) {
		checked = append(checked, run)
		return 1, true
	})
	if len(checked) != 1 || checked[0] != "parallelism-1/consumers.termination_grace=500ms" || len(fails) != 1 {
		t.Fatalf("checked %v, failures %v", checked, fails)
	}
	bad := strings.Replace(string(mustRead(t, "grace-period.yaml")), "point: 500ms", "point: 7s", 1)
	if _, err := Parse("grace-period.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), "point \"7s\" is not one of") {
		t.Fatalf("unknown point: %v", err)
	}
}

// TestEvaluatePointExpectation: an expectation naming a sweep point bounds the
// run at that point only — it fails there when the value is out of bounds, and
// passes there (once) when it is not. (A checker that lost the run's point once
// skipped such expectations everywhere, so they could never fail.)
func TestEvaluatePointExpectation(t *testing.T) {
	s, err := Open("grace-period")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := s.Plan()
	if err != nil {
		t.Fatal(err)
	}
	exp := []Expectation{{Variant: "parallelism-1", Point: "500ms", Metric: "context_lost", Max: &Bound{Value: 0}}}
	const at = "parallelism-1/consumers.termination_grace=500ms"
	tests := []struct {
		name  string
		value float64
		pass  bool
	}{
		{name: "failing", value: 7, pass: false},
		{name: "passing", value: 0, pass: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Evaluate(s.Name, plan.Runs, exp, func(i int, metric string) (float64, bool) {
				return tt.value, true
			})
			if len(got) != 1 || got[0].Run != at || got[0].Point != "500ms" || got[0].Pass != tt.pass {
				t.Fatalf("outcomes %+v, want one for %s with pass=%v", got, at, tt.pass)
			}
			fails := Check(s.Name, plan.Runs, exp, func(string, string) (float64, bool) { return tt.value, true })
			if (len(fails) == 1) == tt.pass || !tt.pass && fails[0].Run != at {
				t.Fatalf("Check failures %v", fails)
			}
		})
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
