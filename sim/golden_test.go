//go:build !race

package sim

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/summary"
)

var update = flag.Bool("update", false, "rewrite the golden summaries in testdata/golden")

// summaryText is a small, stable text summary of a result: the metrics the
// summary table marks Golden (lost_by_cause.* when non-zero), every non-zero
// stale_by_cause.*, and a 40-column sparkline of cumulative context lost.
func summaryText(res *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "scenario %s seed %d\n", res.Scenario, res.Seed)
	for _, run := range res.Runs {
		fmt.Fprintf(&b, "\n[%s]\n", run.Label)
		for _, m := range run.Summary {
			def, ok := summary.Lookup(m.Name)
			pinned := ok && def.Golden || strings.HasPrefix(m.Name, "stale_by_cause.")
			if streamMetrics[m.Name] && m.Value != 0 {
				pinned = true // Redis Streams and producers: pinned where they happen (0 on every Kafka log)
			}
			if (hostCPUMetrics[m.Name] && hostCPUPinned(res, run, m.Name)) || pinnedIn[res.Scenario][m.Name] {
				pinned = true // hosts and CPU where a scenario shares hosts or bounds them; clients and value formats in the scenarios about them
			}
			if pinned && (m.Value != 0 || !strings.Contains(m.Name, "_by_cause.")) {
				fmt.Fprintf(&b, "%-30s %s\n", m.Name, strconv.FormatFloat(m.Value, 'f', -1, 64))
			}
		}
		fmt.Fprintf(&b, "%-30s %s\n", "context_lost over time", spark(run.Series.Column("context_lost"), 40))
	}
	return b.String()
}

// streamMetrics are the summary metrics of Redis Streams logs and producers.
var streamMetrics = map[string]bool{"messages_redelivered": true, "messages_unclaimable": true, "messages_trimmed": true,
	"duplicate_events": true, "missed_ticks": true, "tick_delay_p99": true, "stream_used_memory_peak_bytes": true,
	"stream_pending_max": true, "lease_handoffs": true}

// hostCPUMetrics are the summary metrics of hosts and server CPU
// (sim/redisnode/host.go, cpu.go).
var hostCPUMetrics = map[string]bool{"redis_host_rss_peak_bytes": true, "redis_host_forks_concurrent_max": true,
	"redis_cpu_peak_utilization": true, "redis_ops_per_sec_peak": true}

// hostCPUPinned pins a host or CPU metric in runs that share hosts, and in every
// run of a scenario whose expect lines name it.
func hostCPUPinned(res *Result, run *RunResult, name string) bool {
	if sc := run.Run.Scenario; sc != nil && sc.Redis.NodesPerHost > 1 && strings.HasPrefix(name, "redis_host_") {
		return true
	}
	if res.Plan != nil && res.Plan.Scenario != nil {
		for _, e := range res.Plan.Scenario.Expect {
			if e.Metric == name {
				return true
			}
		}
	}
	return false
}

// pinnedIn are summary metrics pinned only in the goldens of the scenarios about
// them: every run reports them, and pinning them everywhere would rewrite every
// golden for numbers nothing else depends on.
var pinnedIn = map[string]map[string]bool{
	"client-contention": {"messages_per_second": true, "redis_pool_waits": true, "redis_pool_wait_max": true,
		"consumer_lag_max": true},
	"value-format": {"redis_bytes_per_key": true, "redis_bytes_per_key.key_name": true,
		"redis_bytes_per_key.envelope": true, "redis_bytes_per_key.payload": true,
		"redis_bytes_per_key.compression": true, "redis_bytes_per_key.redis_overhead": true, "redis_nodes_needed": true},
}

// spark draws values as an ASCII chart of width columns.
func spark(v []float64, width int) string {
	if len(v) == 0 {
		return ""
	}
	levels := " .:-=+*#%@"
	top := v[0]
	for _, x := range v {
		top = max(top, x)
	}
	var b strings.Builder
	for c := 0; c < width; c++ {
		x := v[min(len(v)-1, c*len(v)/width)]
		i := 0
		if top > 0 {
			i = int(x / top * float64(len(levels)-1))
		}
		b.WriteByte(levels[i])
	}
	return "|" + b.String() + "|"
}

// TestGoldenSummaries runs every shipped scenario and compares its summary with
// testdata/golden/<name>.txt. Run with -update and inspect the diff; commit it
// only when you understand what changed it. Not built under -race and skipped
// under -short (the shipped library takes a minute or two): make test and make
// golden run it in a separate step without -race.
func TestGoldenSummaries(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	for _, e := range scenarios.Library() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			sc, err := scenarios.Open(e.Name)
			if err != nil {
				t.Fatal(err)
			}
			res, err := runAll(t, context.Background(), sc, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := summaryText(res)
			path := filepath.Join("testdata", "golden", e.Name+".txt")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("no golden summary (run go test ./sim -run TestGoldenSummaries -update): %v", err)
			}
			if got != string(want) {
				t.Fatalf("%s changed; rerun with -update and read the diff:\n--- got\n%s\n--- want\n%s", e.Name, got, want)
			}
		})
	}
}
