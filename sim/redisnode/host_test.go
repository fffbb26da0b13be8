package redisnode

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spillway-sim/spillway/sim/engine"
)

// TestOOMVictim: the OOM killer picks the largest RSS (oom_badness), the later
// node on a tie (oom_evaluate_task keeps the later task at equal points), and
// never a dead node (RSS 0).
func TestOOMVictim(t *testing.T) {
	tests := []struct {
		name string
		rss  []int64
		want int
	}{
		{name: "largest", rss: []int64{10, 30, 20}, want: 1},
		{name: "tie goes to the later", rss: []int64{30, 10, 30}, want: 2},
		{name: "dead nodes skipped", rss: []int64{0, 0, 5}, want: 2},
		{name: "all dead", rss: []int64{0, 0}, want: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := victim(tt.rss); got != tt.want {
				t.Fatalf("victim(%v) = %d, want %d", tt.rss, got, tt.want)
			}
		})
	}
}

// hostOf builds a host of sys bytes with one node per entry of keys, node i
// holding keys[i] values of 1000 bytes.
func hostOf(t *testing.T, eng *engine.Engine, sys int64, staggered bool, keys []int, cfg Config) (*Host, []*Node) {
	t.Helper()
	h := NewHost("host-0", sys, staggered)
	var nodes []*Node
	val := strings.Repeat("v", 1000)
	for i, k := range keys {
		c := cfg
		c.Name, c.SystemMemory = fmt.Sprintf("redis-%d", i), sys
		n := newNodeOn(t, eng, c)
		h.Add(n)
		for j := 0; j < k; j++ {
			directSet(t, n, fmt.Sprintf("k:%06d", j), val, 0)
		}
		nodes = append(nodes, n)
	}
	return h, nodes
}

// TestHostOOMKillsLargest: three instances whose sum passes the host's memory
// although each fits alone. The host check kills the largest one only (its keys
// are lost), the others keep theirs, and the host peak is the sum that passed.
func TestHostOOMKillsLargest(t *testing.T) {
	eng := engine.New(1)
	h, nodes := hostOf(t, eng, 0, false, []int{2000, 4000, 3000}, Config{})
	var sum int64
	for _, n := range nodes {
		sum += n.RSS()
	}
	// Now give the host less than the sum but more than the largest minus one node.
	h.sys = sum - 1
	for _, n := range nodes {
		n.cfg.SystemMemory = h.sys
	}
	if n := nodes[1]; n.RSS() >= h.sys {
		t.Fatalf("the largest node alone (%d) should fit the host (%d)", n.RSS(), h.sys)
	}
	// The nodes' own checks are off on a shared host: nobody died yet.
	for _, n := range nodes {
		if n.Memory().OOMKills != 0 {
			t.Fatalf("%s killed itself on a shared host", n.Name())
		}
	}
	kills := h.Check(eng.Now())
	if len(kills) != 1 || kills[0].Node != "redis-1" {
		t.Fatalf("kills = %+v, want redis-1 (the largest) only", kills)
	}
	if kills[0].HostRSSBytes != sum {
		t.Fatalf("host RSS at the kill %d, want the sum %d", kills[0].HostRSSBytes, sum)
	}
	if got := nodes[1].Memory(); got.OOMKills != 1 || got.Keys != 0 {
		t.Fatalf("victim: %+v", got)
	}
	for _, i := range []int{0, 2} {
		if got := nodes[i].Memory(); got.OOMKills != 0 || got.Keys == 0 {
			t.Fatalf("%s should live with its keys: %+v", nodes[i].Name(), got)
		}
	}
	if h.PeakRSS() < sum {
		t.Fatalf("host peak %d below the sum %d that passed", h.PeakRSS(), sum)
	}
	if rss := h.RSS(); rss > h.sys {
		t.Fatalf("host RSS %d still above %d after the kill", rss, h.sys)
	}
}

// TestHostPeakIsExactBetweenChecks: a node's RSS that rises and falls between
// two checks still counts at its peak in the host's, with the others' at that
// moment.
func TestHostPeakIsExactBetweenChecks(t *testing.T) {
	eng := engine.New(1)
	h, nodes := hostOf(t, eng, 0, false, []int{500, 500}, Config{})
	h.Check(eng.Now())
	base := h.RSS()
	val := strings.Repeat("v", 1000)
	eng.RunUntil(eng.Now() + time.Millisecond)
	for j := 0; j < 1000; j++ {
		directSet(t, nodes[0], fmt.Sprintf("x:%06d", j), val, 0)
	}
	high := h.RSS()
	eng.RunUntil(eng.Now() + time.Millisecond)
	nodes[0].mu.Lock()
	for j := 0; j < 1000; j++ {
		k := fmt.Sprintf("x:%06d", j)
		nodes[0].mr.Del(k)
		nodes[0].sync(k, eng.Now(), true)
	}
	nodes[0].observe(eng.Now())
	nodes[0].mu.Unlock()
	if h.RSS() >= high || high <= base {
		t.Fatalf("RSS did not rise and fall: base %d, high %d, now %d", base, high, h.RSS())
	}
	h.Check(eng.Now())
	if h.PeakRSS() != high {
		t.Fatalf("host peak %d, want the high point %d", h.PeakRSS(), high)
	}
}

// TestStaggeredForksOneAtATime: three instances asked to BGSAVE at once on a
// staggered host fork one after the other, each when the previous child has
// exited (at the first check after), oldest request first; on a together host
// they fork at once.
func TestStaggeredForksOneAtATime(t *testing.T) {
	for _, staggered := range []bool{false, true} {
		t.Run(fmt.Sprintf("staggered=%t", staggered), func(t *testing.T) {
			eng := engine.New(1)
			h, nodes := hostOf(t, eng, 0, staggered, []int{300, 300, 300}, Config{SnapshotRate: 1e6})
			order := []int{2, 0, 1} // request order: the grant follows it
			for k, i := range order {
				eng.RunUntil(time.Duration(k) * time.Millisecond)
				if err := nodes[i].BGSave(); err != nil {
					t.Fatal(err)
				}
				if err := nodes[i].BGSave(); staggered && err != nil {
					t.Fatalf("a second BGSAVE while waiting: %v, want nil (already scheduled)", err)
				}
			}
			var started []string
			seen := map[string]bool{}
			const tick = 100 * time.Millisecond
			for at := tick; at < 30*time.Second; at += tick {
				eng.RunUntil(at)
				for _, n := range nodes {
					n.Advance()
				}
				h.Check(at)
				live := 0
				for _, n := range nodes {
					ms := n.Memory()
					if ms.ChildActive {
						live++
					}
					if ms.Forks > 0 && !seen[n.Name()] {
						seen[n.Name()] = true
						started = append(started, n.Name())
					}
				}
				if staggered && live > 1 {
					t.Fatalf("%d children alive at %s on a staggered host", live, at)
				}
			}
			for _, n := range nodes {
				if ms := n.Memory(); ms.Saves != 1 {
					t.Fatalf("%s: %d saves, want 1", n.Name(), ms.Saves)
				}
			}
			want := 1
			if !staggered {
				want = 3
			}
			if got := h.ConcurrentForksMax(); got != want {
				t.Fatalf("concurrent forks %d, want %d", got, want)
			}
			if staggered {
				if got := strings.Join(started, ","); got != "redis-2,redis-0,redis-1" {
					t.Fatalf("fork order %s, want the request order redis-2,redis-0,redis-1", got)
				}
				// Each fork at the first check after the previous child's exit.
				var spans []ForkSpan
				for _, i := range order {
					spans = append(spans, nodes[i].ForkSpans()...)
				}
				for k := 1; k < len(spans); k++ {
					prev, cur := spans[k-1], spans[k]
					if cur.Start < prev.End || cur.Start >= prev.End+tick {
						t.Fatalf("fork %d at %s, previous child exited at %s (checks every %s)", k, cur.Start, prev.End, tick)
					}
				}
			}
		})
	}
}

// TestSingleNodeHostLeavesTheNodeAlone: a host with one instance changes
// nothing: the node checks its own OOM and forks at once.
func TestSingleNodeHostLeavesTheNodeAlone(t *testing.T) {
	eng := engine.New(1)
	h, nodes := hostOf(t, eng, 8<<30, true, []int{100}, Config{})
	if l := nodes[0].h; l.managed || l.gate || l.logOn {
		t.Fatalf("a lone node is managed by its host: %+v", l)
	}
	if err := nodes[0].BGSave(); err != nil {
		t.Fatal(err)
	}
	if !nodes[0].Memory().ChildActive {
		t.Fatal("the lone node's BGSAVE waited for its host")
	}
	if h.Check(eng.Now()) != nil || h.PeakRSS() != nodes[0].Memory().PeakRSSBytes {
		t.Fatal("a lone node's host peak is not the node's")
	}
}
