package swarm

import (
	"fmt"
	"strings"
	"time"
)

// replication adds, to a third of the drawn scenarios, one or two replicas per
// master (redis.replicas), sometimes the core's WAIT after every spill batch
// (state.wait_replicas, asking for at most the replicas there are), and one or
// two failover events of the first nodes. Its draws come after every other, so
// earlier seeds keep their scenarios up to these lines. Half of the scenarios
// with failovers get none of the replicas: the LA case, where a failover loses
// the node's data.
func (d *drawer) replication(text string, duration time.Duration, nodes int) string {
	if !d.chance(1.0 / 3) {
		return text
	}
	replicas := 0
	if d.chance(0.5) {
		replicas = d.between(1, 2)
	}
	wait := replicas > 0 && d.chance(0.5) && !strings.Contains(text, "  strategy: memory-only\n")
	waitLine := ""
	if wait {
		waitLine = fmt.Sprintf("  wait_replicas: {replicas: %d, timeout: %dms}\n", d.between(1, replicas), pick(d, 5, 50, 100))
	}
	var events []string
	var prev time.Duration
	for range d.between(1, 2) {
		// Off the whole seconds the other events use, so never at the same instant.
		at := time.Duration(d.between(60, int((duration-2*time.Minute)/time.Second)))*time.Second +
			time.Duration(d.between(1, 999))*time.Millisecond
		if at == prev {
			at += time.Millisecond
		}
		prev = at
		events = append(events, fmt.Sprintf("  - {at: %s, failover: {node: %d}}\n", fmtDur(at), d.rng.IntN(nodes)))
	}
	lines := strings.SplitAfter(text, "\n")
	lastEvent := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "  - {at: ") {
			lastEvent = i
		}
	}
	var out strings.Builder
	for i, l := range lines {
		out.WriteString(l)
		switch {
		case strings.HasPrefix(l, "  fencing: "):
			out.WriteString(waitLine)
		case strings.HasPrefix(l, "  nodes: "):
			fmt.Fprintf(&out, "  replicas: %d\n  failover_time: %s\n", replicas, pick(d, "0s", "2s", "15s"))
		}
		if i == lastEvent {
			for _, e := range events {
				out.WriteString(e)
			}
		}
	}
	return out.String()
}
