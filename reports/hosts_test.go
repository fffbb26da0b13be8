package reports

import (
	"strings"
	"testing"

	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim"
)

func TestNodesForCPU(t *testing.T) {
	tests := []struct {
		name  string
		busy  float64
		nodes int
		want  int
	}{
		{name: "under the limit", busy: 0.69, nodes: 1, want: 0},
		{name: "at the limit", busy: 0.70, nodes: 3, want: 0},
		{name: "one node at 91 %", busy: 0.909, nodes: 1, want: 2},
		{name: "five nodes at 98 %: 7 would be exactly 70 %, so 8", busy: 0.98, nodes: 5, want: 8},
		{name: "four nodes at 80 %", busy: 0.80, nodes: 4, want: 5},
		{name: "two nodes saturated", busy: 1, nodes: 2, want: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := nodesForCPU(tt.busy, tt.nodes)
			if got != tt.want {
				t.Fatalf("nodesForCPU(%v, %d) = %d, want %d", tt.busy, tt.nodes, got, tt.want)
			}
			if got > 0 && tt.busy*float64(tt.nodes)/float64(got) >= cpuBusyLimit {
				t.Fatalf("%d nodes leave %v busy", got, tt.busy*float64(tt.nodes)/float64(got))
			}
		})
	}
}

// hostRun is a run of scenario sc with the given summary.
func hostRun(sc *scenarios.Scenario, metrics map[string]float64) runView {
	rr := &sim.RunResult{Label: "r"}
	for _, name := range []string{"redis_host_rss_peak_bytes", "redis_host_forks_concurrent_max", "redis_oom_kills",
		"redis_cpu_peak_utilization", "redis_ops_per_sec_peak"} {
		if v, ok := metrics[name]; ok {
			rr.Summary = append(rr.Summary, sim.Metric{Name: name, Value: v})
		}
	}
	return runView{RunResult: rr, sc: sc}
}

func TestHostAndCPUAnswers(t *testing.T) {
	sc := scenarios.New("h")
	if got := hostAnswer(hostRun(sc, map[string]float64{"redis_host_rss_peak_bytes": 1 << 30})); got != "" {
		t.Fatalf("one instance per host: %q, want no host line", got)
	}
	sc.Redis.NodesPerHost, sc.Redis.Nodes = 6, 6
	sc.Redis.Persistence.BGSaveSchedule = scenarios.BGSaveTogether
	got := hostAnswer(hostRun(sc, map[string]float64{"redis_host_rss_peak_bytes": float64(sc.Redis.SystemMemory.Bytes()),
		"redis_host_forks_concurrent_max": 6, "redis_oom_kills": 1}))
	for _, want := range []string{"6 instances per host", "BGSAVE together", "(100 %)", "6 fork children at once", "OOM killer ended 1 instance"} {
		if !strings.Contains(got, want) {
			t.Fatalf("host answer %q lacks %q", got, want)
		}
	}
	if got := cpuAnswer(hostRun(sc, map[string]float64{"redis_cpu_peak_utilization": 0.5})); got != "" {
		t.Fatalf("50 %% busy flagged: %q", got)
	}
	got = cpuAnswer(hostRun(sc, map[string]float64{"redis_cpu_peak_utilization": 0.9, "redis_ops_per_sec_peak": 90000}))
	if !strings.Contains(got, "90 % busy") || !strings.Contains(got, "8 nodes bring it under 70 %") || strings.Contains(got, "saturated") {
		t.Fatalf("cpu answer %q", got)
	}
	if got := cpuAnswer(hostRun(sc, map[string]float64{"redis_cpu_peak_utilization": 1})); !strings.Contains(got, "at least") {
		t.Fatalf("a saturated node's answer %q does not say the count is a lower bound", got)
	}
}
