package swarm

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/spillway-sim/spillway/scenarios"
)

// Behavior: draws a small scenario and a fault timeline from a seed, within the
// ranges the scenario loader accepts and small enough to run in about 1-3 s
// (1,000-8,000 keys, 6-15 minutes). Fault kinds are those of docs/scenarios.md's
// timeline (scale, crash, rolling_restart, pause shorter and longer than the
// session timeout, redis_down, bgsave, latency, redis_nodes, corrupt, and,
// drawn after everything else, failover with replicas and WAIT). The
// session timeout stays at the Kafka 3.x default of 45 s (KIP-735), so a pause
// of 10-30 s stays a pause and one of 60-120 s makes a zombie. It does not draw
// variants, sweeps, autoscalers or expectations: the invariants are the checks.
// A quarter of the seeds get a Redis Streams log instead (drawn last: the
// Kafka fields drawn before are replaced), shared or leased, sometimes with
// trimming, the consumer cleanup, producers and a producer restart. A quarter
// of the other seeds run a Redis Cluster (redis.mode cluster, drawn after that):
// their redis_nodes events become reshards, plus one more reshard.

// sessionTimeout is the drawn scenarios' log.session_timeout (the default).
const sessionTimeout = 45 * time.Second

// Draw draws one scenario from seed alone (a PCG generator seeded with it). It
// returns the YAML text and the scenario parsed from it, so what runs is exactly
// the file a user can save and replay.
func Draw(seed uint64) (yamlText []byte, sc *scenarios.Scenario, err error) {
	d := drawer{rng: rand.New(rand.NewPCG(seed, 0x5a4d5357)), seed: seed}
	yamlText = d.draw()
	name := fmt.Sprintf("swarm-seed-%d", seed)
	sc, err = scenarios.Parse(name+".yaml", yamlText)
	if err != nil {
		return yamlText, nil, fmt.Errorf("swarm: seed %d drew an invalid scenario: %w", seed, err)
	}
	return yamlText, sc, nil
}

type drawer struct {
	rng  *rand.Rand
	seed uint64
	b    strings.Builder
}

func (d *drawer) line(format string, args ...any) { fmt.Fprintf(&d.b, format+"\n", args...) }

// between returns a uniform int in [lo, hi].
func (d *drawer) between(lo, hi int) int { return lo + d.rng.IntN(hi-lo+1) }

// chance is true with probability p.
func (d *drawer) chance(p float64) bool { return d.rng.Float64() < p }

func pick[T any](d *drawer, xs ...T) T { return xs[d.rng.IntN(len(xs))] }

// weighted picks xs[i] with probability w[i] / Σw.
func weighted[T any](d *drawer, xs []T, w []int) T {
	total := 0
	for _, v := range w {
		total += v
	}
	n := d.rng.IntN(total)
	for i, v := range w {
		if n < v {
			return xs[i]
		}
		n -= v
	}
	return xs[len(xs)-1]
}

func (d *drawer) draw() []byte {
	duration := time.Duration(d.between(6, 15)) * time.Minute
	datapoints := d.between(1, 8) * 1000
	interval := pick(d, 10, 15, 20, 30, 60)
	replicas := d.between(2, 6)
	nodes := weighted(d, []int{1, 2, 3, 4}, []int{5, 2, 2, 1})
	strategy := weighted(d, []string{"spill-on-revoke", "memory-only", "write-through", "checkpoint"},
		[]int{6, 1, 2, 2})

	d.line("version: 1")
	d.line("name: swarm-seed-%d", d.seed)
	d.line("description: drawn by spillway swarm from seed %d (replay with spillway swarm -seed %d)", d.seed, d.seed)
	d.line("seed: %d", d.seed)
	d.line("duration: %s", fmtDur(duration))
	d.line("sample_every: 10s")
	d.line("")
	d.line("workload:")
	d.line("  datapoints: %d", datapoints)
	if d.chance(0.25) {
		other := pick(d, 10, 20, 30, 60)
		if other == interval {
			other = 120
		}
		frac := pick(d, 1, 2, 3, 5)
		d.line("  intervals:")
		d.line("    - {fraction: 0.%d, interval: %ds}", frac, other)
		d.line("    - {fraction: 0.%d, interval: %ds}", 10-frac, interval)
	} else {
		d.line("  interval: %ds", interval)
	}
	d.line("  jitter: %ds", d.between(0, 4))
	d.line("  context_bytes: %d", pick(d, 32, 64, 128, 256))
	d.line("  counter_fraction: %s", pick(d, "0.5", "0.7", "1"))
	d.line("")
	d.line("log:")
	d.line("  partitions: %d", pick(d, 6, 8, 12, 16, 24, 32, 48))
	d.line("  assignor: %s", pick(d, "range", "round-robin", "sticky", "cooperative-sticky"))
	d.line("  static_membership: %t", d.chance(0.3))
	d.line("")
	d.line("consumers:")
	d.line("  replicas: %d", replicas)
	d.line("  termination_grace: %s", weighted(d, []string{"30s", "60s", "5s", "1s"}, []int{5, 2, 1, 1}))
	d.line("")
	d.line("state:")
	d.line("  strategy: %s", strategy)
	d.line("  ttl_intervals: %d", d.between(2, 5))
	if d.chance(0.3) {
		d.line("  max_age: %ds", interval*d.between(2, 4))
	}
	if strategy == "checkpoint" {
		d.line("  checkpoint_every: %s", pick(d, "10s", "30s", "60s"))
	}
	d.line("  restore: %s", weighted(d, []string{"lazy", "eager"}, []int{3, 1}))
	d.line("  fencing: %t", d.chance(0.85))
	d.line("")
	d.line("redis:")
	d.line("  nodes: %d", nodes)
	if d.chance(0.3) {
		d.line("  maxmemory: %dKiB", pick(d, 256, 512, 1024, 2048))
		d.line("  maxmemory_policy: %s", pick(d, "noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
			"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"))
	}
	switch weighted(d, []string{"none", "rdb", "aof"}, []int{6, 2, 2}) {
	case "rdb":
		d.line("  persistence:")
		d.line("    rdb_save: [%q]", pick(d, "60 1000", "30 100", "120 1"))
	case "aof":
		d.line("  persistence:")
		d.line("    aof: true")
	}
	d.line("")
	d.line("timeline:")
	for _, ev := range d.timeline(duration, replicas, nodes) {
		d.line("  - %s", ev)
	}
	// Drawn last, so that every earlier seed keeps its scenario: a Redis Streams log.
	text := d.b.String()
	streams := d.chance(0.25)
	if streams {
		text = d.streams(duration)
	}
	// Drawn after that: a quarter of the Kafka seeds run a Redis Cluster
	// (cluster.go), then replicas, WAIT and failovers (replicas.go's draws;
	// not with a Cluster: refused, not modelled together), then the hosts
	// (hosts.go).
	if !streams && d.chance(0.25) {
		text = d.cluster(text, duration)
	}
	if !strings.Contains(text, "\n  mode: cluster") {
		text = d.replication(text, duration, nodes)
	}
	return []byte(d.hosts(text))
}

// hosts puts the drawn scenario's instances on shared hosts (redis.nodes_per_host)
// with a BGSAVE schedule, half the time, and, when nothing else forks, sometimes a
// bgsave event so that forks meet on a host. Its draws come after every other.
func (d *drawer) hosts(text string) string {
	if !d.chance(0.5) {
		return text
	}
	per := pick(d, 2, 3, 4)
	schedule := pick(d, "together", "staggered")
	var out strings.Builder
	persistence := false
	for _, l := range strings.SplitAfter(text, "\n") {
		out.WriteString(l)
		switch {
		case strings.HasPrefix(l, "  nodes: "):
			fmt.Fprintf(&out, "  nodes_per_host: %d\n", per)
		case l == "  persistence:\n":
			fmt.Fprintf(&out, "    bgsave_schedule: %s\n", schedule)
			persistence = true
		}
	}
	text = out.String()
	if !persistence {
		text = strings.Replace(text, "\ntimeline:\n", "  persistence:\n    bgsave_schedule: "+schedule+"\n\ntimeline:\n", 1)
	}
	forks := strings.Contains(text, "rdb_save:") || strings.Contains(text, "aof: true") || strings.Contains(text, "bgsave: true")
	events := strings.Count(text, "\n  - {at: ")
	if at := d.between(30, 59); !forks && events < 6 && d.chance(0.5) {
		text = strings.Replace(text, "\ntimeline:\n", fmt.Sprintf("\ntimeline:\n  - {at: %ds, bgsave: true}\n", at), 1)
	}
	return text
}

// cluster turns the drawn scenario's Redis into a Redis Cluster of the same
// masters: its redis_nodes events become reshards (slot migration), and one more
// reshard is added at a drawn time. Its draws come after every other.
func (d *drawer) cluster(text string, duration time.Duration) string {
	const nodesLine = "\nredis:\n  nodes: "
	i := strings.Index(text, nodesLine) + len(nodesLine)
	j := i + strings.IndexByte(text[i:], '\n') // the end of the nodes line
	text = text[:j] + "\n  mode: cluster" + text[j:]
	for {
		k := strings.Index(text, "redis_nodes: ")
		if k < 0 {
			break
		}
		end := k + strings.IndexByte(text[k:], '}')
		text = text[:k] + "reshard: {to: " + text[k+len("redis_nodes: "):end] + "}" + text[end:]
	}
	at := time.Duration(d.between(60, int((duration-2*time.Minute)/time.Second))) * time.Second
	text += fmt.Sprintf("  - {at: %s, reshard: {to: %d}}\n", fmtDur(at), d.between(1, 5))
	return text
}

// streams turns the drawn scenario's log into a Redis Streams log (the Kafka
// group settings drawn above are replaced: a streams log refuses them), with
// sometimes producers and a producer restart. Its draws come after every other.
func (d *drawer) streams(duration time.Duration) string {
	text := d.b.String()
	var log strings.Builder
	fmt.Fprintf(&log, "  kind: redis-streams\n")
	fmt.Fprintf(&log, "  stream_assignment: %s\n", pick(d, "shared", "leased"))
	fmt.Fprintf(&log, "  claim_min_idle: %ds\n", d.between(10, 60))
	fmt.Fprintf(&log, "  lease_ttl: %ds\n", d.between(6, 20))
	if d.chance(0.2) {
		fmt.Fprintf(&log, "  maxlen: %d\n", pick(d, 500, 2000, 10000))
	}
	if d.chance(0.2) {
		fmt.Fprintf(&log, "  delete_idle_consumers: true\n")
		fmt.Fprintf(&log, "  poll_batch: %d\n", pick(d, 10, 50, 500))
	}
	lines := strings.SplitAfter(text, "\n")
	var out strings.Builder
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "  assignor: "):
			out.WriteString(log.String())
		case strings.HasPrefix(l, "  static_membership: "):
		default:
			out.WriteString(l)
		}
	}
	if d.chance(0.5) {
		replicas := d.between(1, 3)
		if d.chance(0.5) {
			t := d.between(60, int((duration-2*time.Minute)/time.Second))
			fmt.Fprintf(&out, "  - {at: %s, producer_restart: {replica: %d, for: %ds}}\n",
				fmtDur(time.Duration(t)*time.Second), d.rng.IntN(replicas), d.between(5, 120))
		}
		fmt.Fprintf(&out, "\nproducers:\n  replicas: %d\n  scheduling: %s\n  poll_every: %ds\n",
			replicas, pick(d, "ticker", "tick-table", "leased"), d.between(2, 20))
	}
	return out.String()
}

// timeline draws 2-6 events at distinct whole-second times in the middle of the
// run (after the first minute, at least two minutes before the end), tracking
// the replica count so crashes and pauses name pods that exist.
func (d *drawer) timeline(duration time.Duration, replicas, nodes int) []string {
	n := d.between(2, 6)
	lo, hi := 60, int((duration-2*time.Minute)/time.Second)
	seen := map[int]bool{}
	var at []int
	for len(at) < n {
		t := d.between(lo, hi)
		if !seen[t] {
			seen[t] = true
			at = append(at, t)
		}
	}
	slices.Sort(at)
	kinds := []string{"scale", "crash", "rolling_restart", "pause", "redis_down", "bgsave", "latency",
		"redis_nodes", "corrupt"}
	weights := []int{4, 2, 2, 3, 1, 1, 1, 1, 1}
	pods := replicas
	var out []string
	for _, t := range at {
		var ev string
		switch weighted(d, kinds, weights) {
		case "scale":
			to := d.between(1, 8)
			if to == pods {
				to = pods%8 + 1
			}
			pods = to
			ev = fmt.Sprintf("scale: %d", to)
		case "crash":
			ev = fmt.Sprintf("crash: %d", d.between(1, min(2, pods)))
		case "rolling_restart":
			ev = "rolling_restart: true"
		case "pause":
			var f time.Duration
			if d.chance(0.5) {
				f = time.Duration(d.between(5, 30)) * time.Second // shorter than the session timeout
			} else {
				f = sessionTimeout + time.Duration(d.between(15, 75))*time.Second // a zombie
			}
			ev = fmt.Sprintf("pause: {pod: %d, for: %s}", d.rng.IntN(pods), fmtDur(f))
		case "redis_down":
			ev = fmt.Sprintf("redis_down: {for: %ds}", d.between(5, 60))
		case "bgsave":
			ev = "bgsave: true"
		case "latency":
			ev = fmt.Sprintf("latency: {add: %dms, for: %ds}", d.between(1, 50), d.between(10, 90))
		case "redis_nodes":
			to := d.between(1, 4)
			if to == nodes {
				to = nodes%4 + 1
			}
			nodes = to
			ev = fmt.Sprintf("redis_nodes: %d", to)
		case "corrupt":
			ev = fmt.Sprintf("corrupt: %d", d.between(1, 50))
		}
		out = append(out, fmt.Sprintf("{at: %s, %s}", fmtDur(time.Duration(t)*time.Second), ev))
	}
	return out
}

// fmtDur writes a duration the way a person would ("2m30s", "10m", "45s").
func fmtDur(d time.Duration) string {
	if d > 0 && d%time.Minute == 0 {
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// Faults returns the action names of the scenario's timeline in time order,
// for a one-line description ("scale, crash, pause").
func Faults(sc *scenarios.Scenario) []string {
	evs := slices.Clone(sc.Timeline)
	slices.SortStableFunc(evs, func(a, b scenarios.Event) int { return int(a.At - b.At) })
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		out = append(out, e.Action())
	}
	return out
}
