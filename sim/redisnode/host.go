package redisnode

import (
	"slices"
	"time"
)

// Behavior: several Redis instances on one host (scenario redis.nodes_per_host),
// sharing its memory (redis.system_memory), and the schedule of their forks
// (redis.persistence.bgsave_schedule) — UrbanClap's deployment, where six capped
// 4 GiB instances share a 30 GB machine and BGSAVE runs one instance at a time to
// keep a 2 GB buffer ("The Journey of Redis at UrbanClap", Aditya Chowdhry, 2018,
// https://medium.com/urbanclap-engineering/the-journey-of-redis-at-urbanclap-8a629c32a2eb).
//
//   - Host RSS is the sum of its instances' RSS, each with its fork child's copied
//     pages (node.go observe). Every change of an instance's RSS is logged with its
//     virtual time; Check merges the logs in (time, instance, order) and finds the
//     exact peak (redis_host_rss_peak_bytes) and the first moment the sum passes
//     system memory.
//   - Host OOM: past system memory the kernel's OOM killer ends one process, the one
//     with the highest oom_badness (Linux mm/oom_kill.c: oom_badness is the task's
//     RSS + swap entries + page tables, scaled by oom_score_adj, 0 here;
//     oom_evaluate_task keeps the highest and, on a tie, the later task in
//     for_each_process order, so the instance started last). Here: the instance with
//     the largest RSS (copied pages included) at that moment, ties to the higher
//     index. Its data is lost as in a node's own OOM kill (fork.go oomKill: cause
//     redis_lost); the other instances live on. With one instance per host the node
//     checks itself (fork.go), as before hosts existed.
//   - Staggered schedule: at most one fork child per host. A fork an instance asks
//     for (BGSAVE, a due save point, an AOF rewrite) while another instance's child
//     lives — or before the host has decided — waits; when no child lives, the one
//     that has waited longest (then the lower index) forks. This is the operator's
//     script of the write-up ("BGSAVE one instance at a time", polling for
//     rdb_bgsave_in_progress), not a Redis feature. Together: every instance forks
//     when its own save is due, as Redis does.
//   - vm.overcommit_memory 2 and the pre-5.2 heuristic count the other instances'
//     RSS (as of the host's last check) in the memory a fork is refused for
//     (fork.go forkAllowed).
//
// Decisions are taken on the engine's goroutine, in Check (the simulator calls it
// every tick, 100 ms of virtual time, after every instance has advanced): the kill
// happens at the check, up to one tick after the moment the sum passed system
// memory (the peak itself is exact), and a waiting fork starts at the first check
// after the previous child exits (an operator's poll is coarser). Instances of
// concurrent ring calls never decide for one another, so results do not depend on
// goroutine order. Not modelled: the kernel's own memory, page cache, other
// processes, the child being chosen instead of its parent (its RSS counts the
// pages it shares with the parent), cgroup limits per instance and swap.

// Host is a machine that runs several nodes and owns their shared memory. Its
// methods must be called from the engine's goroutine.
type Host struct {
	name      string
	sys       int64 // system memory (0: unlimited)
	staggered bool
	nodes     []*Node
	last      []int64 // each node's RSS as of the last check
	peak      int64
	kills     []HostKill
}

// HostKill is one host OOM kill: when, which node, its RSS and the host's.
type HostKill struct {
	At           time.Duration
	Node         string
	NodeRSSBytes int64
	HostRSSBytes int64
}

// hostLink is a node's side of its host, guarded by the node's lock.
type hostLink struct {
	managed bool  // the host's OOM check replaces the node's own (more than one node)
	gate    bool  // forks wait for the host's turn (staggered, more than one node)
	others  int64 // the other nodes' RSS at the host's last check
	logOn   bool
	rss     []rssPoint
	lastRSS int64
	wait    forkWait
	spans   []ForkSpan
}

type rssPoint struct {
	at  time.Duration
	rss int64
}

type forkWait struct {
	set  bool
	kind childKind
	at   time.Duration
}

// ForkSpan is the life of one fork child: from the fork to its exit (or the
// kill of its parent).
type ForkSpan struct {
	Start, End time.Duration
}

// NewHost returns a host of systemMemory bytes (0: unlimited); staggered makes
// its nodes fork one at a time.
func NewHost(name string, systemMemory int64, staggered bool) *Host {
	return &Host{name: name, sys: systemMemory, staggered: staggered}
}

// Name is the host's name.
func (h *Host) Name() string { return h.name }

// Nodes are the host's nodes, in the order they were added.
func (h *Host) Nodes() []*Node { return slices.Clone(h.nodes) }

// Add puts n on the host. With two or more nodes the host's OOM check replaces
// each node's own, and a staggered host gates their forks.
func (h *Host) Add(n *Node) {
	h.nodes = append(h.nodes, n)
	h.last = append(h.last, 0)
	multi := len(h.nodes) > 1
	for i, m := range h.nodes {
		m.mu.Lock()
		m.settle()
		if !m.h.logOn {
			// A new node, or one that was alone: its RSS so far is its start
			// (a node already logging keeps its log for the next check).
			m.h.lastRSS, m.h.rss = -1, nil
			h.last[i] = m.rssNow()
		}
		m.h.managed, m.h.gate, m.h.logOn = multi, multi && h.staggered, multi
		m.mu.Unlock()
	}
	h.peak = max(h.peak, h.sum(h.last))
}

func (h *Host) sum(v []int64) int64 {
	var s int64
	for _, x := range v {
		s += x
	}
	return s
}

// RSS is the host's RSS now: the sum of its nodes' (copied pages included).
func (h *Host) RSS() int64 {
	var s int64
	for _, n := range h.nodes {
		s += n.RSS()
	}
	return s
}

// PeakRSS is the highest host RSS so far, exact between checks; with one node, that
// node's peak RSS.
func (h *Host) PeakRSS() int64 {
	if len(h.nodes) == 1 {
		return h.nodes[0].Memory().PeakRSSBytes
	}
	return h.peak
}

// Kills lists the host's OOM kills so far.
func (h *Host) Kills() []HostKill { return slices.Clone(h.kills) }

// ConcurrentForksMax is the most fork children that lived at once on the host
// (each from its fork to its exit or its parent's kill).
func (h *Host) ConcurrentForksMax() int {
	type edge struct {
		at    time.Duration
		delta int
	}
	var edges []edge
	for _, n := range h.nodes {
		for _, s := range n.ForkSpans() {
			edges = append(edges, edge{s.Start, 1}, edge{s.End, -1})
		}
	}
	// An exit and a fork at the same instant do not overlap: exits first.
	slices.SortFunc(edges, func(a, b edge) int {
		if a.at != b.at {
			return cmpU64(uint64(a.at), uint64(b.at))
		}
		return a.delta - b.delta
	})
	live, most := 0, 0
	for _, e := range edges {
		live += e.delta
		most = max(most, live)
	}
	return most
}

// Check brings the host to at (every node already advanced to it): it merges the
// nodes' RSS logs into the host's peak, lets the OOM killer act when the sum
// passed system memory, and, on a staggered host with no child alive, starts the
// fork that has waited longest. It returns the kills it made.
func (h *Host) Check(at time.Duration) []HostKill {
	if len(h.nodes) < 2 {
		return nil
	}
	type point struct {
		rssPoint
		node, seq int
	}
	var pts []point
	for i, n := range h.nodes {
		for j, p := range n.drainRSS() {
			pts = append(pts, point{p, i, j})
		}
	}
	slices.SortFunc(pts, func(a, b point) int {
		switch {
		case a.at != b.at:
			return cmpU64(uint64(a.at), uint64(b.at))
		case a.node != b.node:
			return a.node - b.node
		}
		return a.seq - b.seq
	})
	cur := slices.Clone(h.last)
	sum := h.sum(cur)
	over := false
	for _, p := range pts {
		sum += p.rss - cur[p.node]
		cur[p.node] = p.rss
		h.peak = max(h.peak, sum)
		if h.sys > 0 && sum > h.sys {
			over = true
			break // the kill changes what follows; the later points are the victim's own
		}
	}
	var kills []HostKill
	if over {
		kills = append(kills, h.kill(at, cur))
	}
	// What the kill freed may not be enough: the kernel kills again.
	for {
		for i, n := range h.nodes {
			cur[i] = n.RSS()
		}
		if h.sys == 0 || h.sum(cur) <= h.sys {
			break
		}
		kills = append(kills, h.kill(at, cur))
	}
	copy(h.last, cur)
	total := h.sum(cur)
	for i, n := range h.nodes {
		n.setHostOthers(total - cur[i])
	}
	if h.staggered {
		h.grant(at)
	}
	return kills
}

// victim is the node the OOM killer ends, by rss (oom_badness): the largest, the
// later one on a tie.
func victim(rss []int64) int {
	best := -1
	for i, r := range rss {
		if r > 0 && (best < 0 || r >= rss[best]) {
			best = i
		}
	}
	return best
}

// kill ends the node the OOM killer picks from rss at at.
func (h *Host) kill(at time.Duration, rss []int64) HostKill {
	i := victim(rss)
	if i < 0 {
		panic("redisnode: host over system memory with no live node")
	}
	k := HostKill{At: at, Node: h.nodes[i].Name(), NodeRSSBytes: rss[i], HostRSSBytes: h.sum(rss)}
	h.nodes[i].hostKill(at)
	h.kills = append(h.kills, k)
	return k
}

// grant starts the longest-waiting fork when no child lives on the host.
func (h *Host) grant(at time.Duration) {
	for _, n := range h.nodes {
		if n.Memory().ChildActive {
			return
		}
	}
	for {
		best, bestAt := -1, time.Duration(0)
		for i, n := range h.nodes {
			if w, ok := n.waiting(); ok && (best < 0 || w < bestAt) {
				best, bestAt = i, w
			}
		}
		if best < 0 || h.nodes[best].granted(at) {
			return
		}
	}
}

// RSS is the node's RSS now, copied pages included (0 while it is dead).
func (n *Node) RSS() int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.settle()
	return n.rssNow()
}

// ForkSpans lists the node's fork children, each from its fork to its planned
// exit, or to its parent's kill.
func (n *Node) ForkSpans() []ForkSpan {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.settle()
	return slices.Clone(n.h.spans)
}

// rssNow is the node's RSS with its copied pages; 0 while dead. Caller holds n.mu.
func (n *Node) rssNow() int64 {
	if n.p.dead {
		return 0
	}
	return n.mem.rss() + n.cowBytes()
}

func (n *Node) drainRSS() []rssPoint {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.settle()
	out := n.h.rss
	n.h.rss = nil
	return out
}

func (n *Node) setHostOthers(b int64) {
	n.mu.Lock()
	n.h.others = b
	n.mu.Unlock()
}

// waiting reports when the node started waiting for a fork, if it is.
func (n *Node) waiting() (time.Duration, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.settle()
	return n.h.wait.at, n.h.wait.set && !n.p.dead
}

// granted forks the waiting child now; false when the fork was refused (the host
// then offers the turn to the next).
func (n *Node) granted(at time.Duration) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.settle()
	w := n.h.wait
	n.h.wait = forkWait{}
	err := n.forkNow(w.kind, at)
	n.observe(at)
	return err == nil
}

// hostKill is the host's OOM killer ending this node at at.
func (n *Node) hostKill(at time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.settle()
	if n.p.dead {
		return
	}
	used, rss := n.mem.used(), n.rssNow()
	if n.ms.OOMUsedBytes == 0 || used < n.ms.OOMUsedBytes {
		n.ms.OOMUsedBytes, n.ms.OOMRSSBytes = used, rss
	}
	n.oomKill(at)
	n.observe(at)
}

// log records the node's RSS at at when it changed (a node on a shared host).
func (l *hostLink) log(at time.Duration, rss int64, dead bool) {
	if !l.logOn {
		return
	}
	if dead {
		rss = 0
	}
	if rss == l.lastRSS {
		return
	}
	l.lastRSS = rss
	l.rss = append(l.rss, rssPoint{at, rss})
}

// enqueue makes a fork wait for the host's turn (the earliest request is kept).
func (l *hostLink) enqueue(kind childKind, at time.Duration) {
	if !l.wait.set {
		l.wait = forkWait{set: true, kind: kind, at: at}
	}
}

// forked records a child's life, planned to end at end.
func (l *hostLink) forked(at, end time.Duration) {
	l.spans = append(l.spans, ForkSpan{Start: at, End: end})
}

// killed ends the running child's span at at (the parent died) and drops a waiting
// fork.
func (l *hostLink) killed(at time.Duration, child bool) {
	if child && len(l.spans) > 0 {
		l.spans[len(l.spans)-1].End = at
	}
	l.wait = forkWait{}
}
