package reports

import (
	"bytes"
	"fmt"
	"math"
)

// The report's answers about hosts (redis.nodes_per_host) and the Redis main
// thread's CPU (sim/redisnode/host.go, cpu.go), from the event-exact summary
// metrics redis_host_rss_peak_bytes, redis_host_forks_concurrent_max,
// redis_cpu_peak_utilization and redis_ops_per_sec_peak. Both blocks appear only
// where they say something: hosts with more than one instance, and a node whose
// main thread was busier than cpuBusyLimit.

// cpuBusyLimit is the busy fraction above which the report flags a node: past it
// queueing delay grows fast on a single-threaded server (an M/D/1 queue waits
// ρ/(2(1−ρ)) service times: 1.2 at 70 %, 4.5 at 90 %), and Instaclustr's nodes ran
// at "around 70% cpu" at 90 k ops/s.
const cpuBusyLimit = 0.70

// cpuSaturated is the busy fraction at which a window was as good as full: the
// work offered may have been more than the thread could serve, and the nodes it
// needs are a lower bound.
const cpuSaturated = 0.99

// nodesForCPU is the fewest nodes that bring the busiest node under cpuBusyLimit,
// assuming its share of the load shrinks as nodes/n (the ring spreads the same
// traffic over more nodes): the smallest m with busy × nodes / m < cpuBusyLimit.
// 0 when the node is not over the limit.
func nodesForCPU(busy float64, nodes int) int {
	if busy <= cpuBusyLimit || nodes < 1 {
		return 0
	}
	m := int(math.Floor(busy*float64(nodes)/cpuBusyLimit)) + 1
	return max(m, nodes+1)
}

// writeHostsCPU writes the host and CPU lines under the answers table.
func (v *view) writeHostsCPU(b *bytes.Buffer) {
	var lines []string
	for _, r := range v.runs {
		if s := hostAnswer(r); s != "" {
			lines = append(lines, fmt.Sprintf("- %s: %s", r.Label, s))
		}
	}
	for _, r := range v.runs {
		if s := cpuAnswer(r); s != "" {
			lines = append(lines, fmt.Sprintf("- %s: %s", r.Label, s))
		}
	}
	if len(lines) == 0 {
		return
	}
	b.WriteString("Hosts and server CPU (peaks tracked at every change; CPU over 1 s windows):\n\n")
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	b.WriteString("\n")
}

// hostAnswer is the host's peak RSS against its memory and what its forks did;
// "" with one instance per host.
func hostAnswer(r runView) string {
	per := r.sc.Redis.NodesPerHost
	peak, ok := r.metric("redis_host_rss_peak_bytes")
	if per <= 1 || !ok {
		return ""
	}
	sys := float64(r.sc.Redis.SystemMemory.Bytes())
	s := fmt.Sprintf("%d instances per host, BGSAVE %s; host RSS peak %s of %s (%s)", per,
		r.sc.Redis.Persistence.BGSaveSchedule, FormatBytes(peak), FormatBytes(sys), FormatPercent(peak/sys))
	if forks := r.metricOr("redis_host_forks_concurrent_max", 0); forks > 0 {
		s += fmt.Sprintf(", at most %s at once", forkChildren(forks))
	}
	if ooms := r.metricOr("redis_oom_kills", 0); ooms > 0 {
		s += fmt.Sprintf(": **the OOM killer ended %s** (the largest RSS on the host)", pluralF(ooms, "instance"))
	} else {
		s += ": no OOM kill"
	}
	return s
}

// cpuAnswer flags a node whose main thread was busier than cpuBusyLimit and says
// how many nodes would bring it under; "" otherwise.
func cpuAnswer(r runView) string {
	busy, ok := r.metric("redis_cpu_peak_utilization")
	nodes := r.sc.Redis.Nodes
	need := nodesForCPU(busy, nodes)
	if !ok || need == 0 {
		return ""
	}
	ops := FormatCount(r.metricOr("redis_ops_per_sec_peak", 0)) + " ops/s in 1 s"
	s := fmt.Sprintf("**a Redis main thread was %s busy** at its peak (%s; over %s, queueing "+
		"delay grows fast): **%s bring it under %s** (now %d)", FormatPercent(busy),
		ops, FormatPercent(cpuBusyLimit),
		pluralF(float64(need), "node"), FormatPercent(cpuBusyLimit), nodes)
	if busy >= cpuSaturated {
		s += "; saturated, so the demand was higher than it shows: at least that many"
	}
	return s
}

// colHostRSS is the series column of the fullest host's RSS.
const colHostRSS = "redis_host_rss_bytes"

// hostShared reports whether the run put several instances on a host and has
// their host's RSS: the memory plot then draws it.
func hostShared(r runView) bool {
	return r.sc.Redis.NodesPerHost > 1 && r.has(colHostRSS)
}

// forkChildren is "1 fork child", "6 fork children".
func forkChildren(n float64) string {
	if n == 1 {
		return "1 fork child"
	}
	return FormatCount(n) + " fork children"
}
