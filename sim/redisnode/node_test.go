package redisnode

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillway-sim/spillway/core"
	"github.com/spillway-sim/spillway/sim/calibration"
	"github.com/spillway-sim/spillway/sim/engine"
)

func newNode(t *testing.T, cfg Config) (*engine.Engine, *Node) {
	t.Helper()
	eng := engine.New(1)
	return eng, newNodeOn(t, eng, cfg)
}

func newNodeOn(t *testing.T, eng *engine.Engine, cfg Config) *Node {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "redis-0"
	}
	n, err := New(eng, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

func newStore(t *testing.T, eng *engine.Engine, rdb redis.UniversalClient, opts ...core.Opt) *core.Store[[]byte] {
	t.Helper()
	s, err := core.New[[]byte](rdb, core.BytesCodec{},
		append([]core.Opt{core.Namespace("spill"), core.WithClock(core.ClockFunc(eng.Time)), core.TTL(time.Minute), core.SpillBatch(100)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// directSet writes key as a client's SET would, without a round trip or
// admission: for loading datasets quickly in tests.
func directSet(t *testing.T, n *Node, key, value string, ttl time.Duration) {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.settle()
	if err := n.mr.Set(key, value); err != nil {
		t.Fatal(err)
	}
	if ttl > 0 {
		n.mr.SetTTL(key, ttl)
	}
	now := n.eng.Now()
	args := []any{"set", key, value}
	n.apply(&callRec{at: now, start: now, cmds: []cmdEffect{{write: true, writes: []string{key}, aofBytes: respBytes(args)}}})
}

// load writes count keys "k:%06d" with valueLen-byte values through a client, in
// pipelines of 1000 SETs.
func load(t *testing.T, rdb *redis.Client, count, valueLen int, ttl time.Duration) {
	t.Helper()
	val := string(make([]byte, valueLen))
	ctx := context.Background()
	for lo := 0; lo < count; lo += 1000 {
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := lo; i < min(lo+1000, count); i++ {
				p.Set(ctx, fmt.Sprintf("k:%06d", i), val, ttl)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("load: %v", err)
		}
	}
}

type removed struct {
	key string
	why Removal
}

func recordRemovals(n *Node) *[]removed {
	var out []removed
	n.OnRemove(func(key string, why Removal) { out = append(out, removed{key, why}) })
	return &out
}

func TestExpiryInVirtualTime(t *testing.T) {
	eng, n := newNode(t, Config{RTT: 100 * time.Microsecond})
	rm := recordRemovals(n)
	s := newStore(t, eng, n.NewClient(8))
	for i := 0; i < 250; i++ {
		s.Put(0, fmt.Sprintf("k%03d", i), []byte("v"))
	}
	if _, err := s.SpillAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n.Keys() != 251 || n.Volatile() != 251 { // 250 entries + the fence
		t.Fatalf("keys=%d volatile=%d", n.Keys(), n.Volatile())
	}
	eng.RunUntil(59 * time.Second)
	n.Advance()
	if n.Keys() != 251 {
		t.Fatalf("expired early: %d keys", n.Keys())
	}
	eng.RunUntil(61 * time.Second)
	n.Advance()
	if n.Keys() != 1 || len(*rm) != 250 || (*rm)[0] != (removed{"{spill:0}:k000", Expired}) {
		t.Fatalf("after TTL: keys=%d removed=%d first=%v", n.Keys(), len(*rm), (*rm)[:1])
	}
	if st := n.Stats(); st.ExpiredKeys != 250 {
		t.Fatalf("stats %+v", st)
	}
}

func TestMeterChargesLanesAndCutsAtBudget(t *testing.T) {
	// A flat model with a negligible service time: every batch costs one RTT.
	eng, n := newNode(t, Config{RTT: time.Millisecond, OpTime: time.Nanosecond})
	s := newStore(t, eng, n.NewClient(8), core.SpillParallelism(4))
	for i := 0; i < 2000; i++ {
		s.Put(int32(i%2), fmt.Sprintf("k%04d", i), []byte("v"))
	}
	// A fenced worker's n batches are n+1 round trips (its first WATCH+GET, then
	// each MULTI..EXEC carries the next batch's WATCH+GET): 3 batches of ~1 ms per
	// worker fit in 4.5 ms, a fourth would end at 5 ms.
	m := &Meter{Budget: 4500 * time.Microsecond, Workers: 4}
	rep, err := s.SpillAll(WithMeter(context.Background(), m))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	// 20 batches, 4 workers × 3 batches = 12 written.
	if rep.Written != 1200 || rep.Count(core.ReasonDeadline) != 800 {
		t.Fatalf("written %d, deadline %d", rep.Written, rep.Count(core.ReasonDeadline))
	}
	if m.Elapsed() != 4500*time.Microsecond {
		t.Fatalf("elapsed %v, want the budget", m.Elapsed())
	}
}

func TestDownRefusesAndRestoreRoundTrips(t *testing.T) {
	eng, n := newNode(t, Config{RTT: 200 * time.Microsecond})
	s := newStore(t, eng, n.NewClient(8))
	s.Put(3, "a", []byte("1"))
	s.Put(3, "b", []byte("2"))
	if _, err := s.Spill(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	m := &Meter{}
	rr, err := s.Restore(WithMeter(context.Background(), m), []core.KeyRef{{Partition: 3, Key: "a"}, {Partition: 3, Key: "b"}, {Partition: 3, Key: "c"}})
	if err != nil || rr.Restored != 2 || rr.Missing != 1 || m.Calls() != 2 { // MGET, then UNLINK of what was taken
		t.Fatalf("restore %+v err %v calls %d", rr, err, m.Calls())
	}
	n.SetDown(true)
	if !n.Down() {
		t.Fatal("Down() false after SetDown(true)")
	}
	s.Put(4, "x", []byte("1"))
	rep, err := s.Spill(context.Background(), 4)
	if err == nil || rep.Count(core.ReasonUnavailable) != 1 {
		t.Fatalf("spill to a down node: %+v %v", rep, err)
	}
	n.SetDown(false)
	if _, err := s.Spill(context.Background(), 4); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	if n.Stats().RejectedDown == 0 {
		t.Fatal("RejectedDown not counted")
	}
}

// evictionRun spills 3000 keys with 8 parallel workers into a node whose
// maxmemory holds about half of them, and returns the evicted keys in order, the
// keys the node refused, and the final memory.
func evictionRun(t *testing.T, seed uint64, policy Policy) (evicted, refused []string, ms MemoryStats) {
	t.Helper()
	eng := engine.New(seed)
	n := newNodeOn(t, eng, Config{MaxMemory: 1_400_000, Policy: policy, Rand: eng.NewRand()})
	rm := recordRemovals(n)
	s := newStore(t, eng, n.NewClient(9), core.SpillParallelism(8))
	r := rand.New(rand.NewPCG(seed, 7))
	for i := 0; i < 3000; i++ {
		v := make([]byte, 200+r.IntN(200))
		for j := range v {
			v[j] = byte(r.IntN(256))
		}
		s.Put(int32(i%24), fmt.Sprintf("dp:%05d", i), v)
	}
	for p := int32(0); p < 24; p += 6 {
		eng.RunUntil(eng.Now() + time.Second)
		rep, _ := s.Spill(WithMeter(context.Background(), &Meter{Workers: 8}), p, p+1, p+2, p+3, p+4, p+5)
		for _, f := range rep.Failures {
			refused = append(refused, fmt.Sprintf("%d/%s/%v", f.Partition, f.Key, f.Reason))
		}
	}
	n.Advance()
	for _, x := range *rm {
		if x.why != Evicted {
			t.Fatalf("unexpected removal %v", x)
		}
		evicted = append(evicted, x.key)
	}
	return evicted, refused, n.Memory()
}

func TestEvictionIsDeterministic(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
	}{
		{name: "allkeys-lru evicts", policy: AllKeysLRU},
		{name: "allkeys-lfu evicts", policy: AllKeysLFU},
		{name: "noeviction refuses", policy: NoEviction},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, fa, ma := evictionRun(t, 1, tt.policy)
			b, fb, mb := evictionRun(t, 1, tt.policy)
			if len(a)+len(fa) < 500 {
				t.Fatalf("only %d evictions and %d refusals: the test does not exercise maxmemory", len(a), len(fa))
			}
			if !slices.Equal(a, b) || !slices.Equal(fa, fb) || ma != mb {
				t.Fatalf("same seed, different outcome: %d/%d evicted, %d/%d refused, %+v vs %+v", len(a), len(b), len(fa), len(fb), ma, mb)
			}
			// Redis evicts before each write, so a write may leave it above maxmemory by
			// that write (here: one batch of 100 keys, < 60 kB) until the next command.
			if ma.PeakUsedBytes > ma.MaxMemory+60_000 || ma.UsedBytes < ma.MaxMemory/2 {
				t.Fatalf("used %d peak %d, maxmemory %d", ma.UsedBytes, ma.PeakUsedBytes, ma.MaxMemory)
			}
			if tt.policy == NoEviction {
				return
			}
			c, _, _ := evictionRun(t, 2, tt.policy)
			if slices.Equal(a, c) {
				t.Fatal("a different seed evicted exactly the same keys")
			}
		})
	}
}

func TestAdvanceDeliversRemovalsOnlyThere(t *testing.T) {
	eng, n := newNode(t, Config{})
	rm := recordRemovals(n)
	directSet(t, n, "a", "1", time.Second)
	eng.RunUntil(2 * time.Second)
	if n.Keys() != 0 {
		t.Fatalf("expired key still counted: %d", n.Keys())
	}
	if len(*rm) != 0 {
		t.Fatalf("callback before Advance: %v", *rm)
	}
	n.Advance()
	if len(*rm) != 1 || (*rm)[0] != (removed{"a", Expired}) {
		t.Fatalf("removals %v", *rm)
	}
}

func TestWriteWithoutTTLChangeKeepsTheDeadline(t *testing.T) {
	eng, n := newNode(t, Config{})
	rdb := n.NewClient(1)
	ctx := context.Background()
	rdb.SAdd(ctx, "set", "a")
	rdb.PExpire(ctx, "set", 10*time.Second)
	eng.RunUntil(6 * time.Second)
	rdb.SAdd(ctx, "set", "b") // does not touch the TTL: still due at 10 s
	if ttl := rdb.PTTL(ctx, "set").Val(); ttl != 4*time.Second {
		t.Fatalf("PTTL after 6 s = %v, want the remaining 4 s", ttl)
	}
	rdb.Set(ctx, "str", "v", 10*time.Second)
	eng.RunUntil(8 * time.Second)
	rdb.Set(ctx, "str", "v", 10*time.Second) // the same TTL set again: due at 18 s
	eng.RunUntil(11 * time.Second)
	if n.Keys() != 1 {
		t.Fatalf("at 11 s: %d keys, want only str", n.Keys())
	}
	eng.RunUntil(18 * time.Second)
	if n.Keys() != 0 {
		t.Fatalf("at 18 s: %d keys", n.Keys())
	}
}

// TestDeliverRemovalsWithinATick: a key evicted to make room for a write is
// reported by DeliverRemovals at once, without waiting for the next Advance, so a
// client that finds it missing right after can know why.
func TestDeliverRemovalsWithinATick(t *testing.T) {
	eng, n := newNode(t, Config{MaxMemory: 1_300_000, Policy: AllKeysLRU}) // ~200 KB above the empty server
	rm := recordRemovals(n)
	c := n.NewClient(1)
	ctx := context.Background()
	big := strings.Repeat("x", 4000)
	for i := 0; len(*rm) == 0 && i < 2000; i++ {
		if err := c.Set(ctx, fmt.Sprint("k", i), big, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			n.DeliverRemovals()
		}
	}
	n.DeliverRemovals()
	if len(*rm) == 0 {
		t.Fatal("nothing evicted, or the eviction was not delivered without an Advance")
	}
	if eng.Now() != 0 {
		t.Fatalf("virtual time moved to %v: the test must stay within one instant", eng.Now())
	}
	for _, r := range *rm {
		if r.why != Evicted {
			t.Fatalf("removal %+v, want evictions only", r)
		}
		if n.Miniredis().Exists(r.key) {
			t.Fatalf("%s reported evicted but still in miniredis", r.key)
		}
	}
	before := len(*rm)
	n.Advance()
	if len(*rm) != before {
		t.Fatalf("Advance delivered %d removals again", len(*rm)-before)
	}
}

// TestPeaksAreTrackedAtEveryChange checks that the peaks do not depend on when
// Memory is read: keys written and deleted between two reads still count, an
// OOM-killed node's RSS peak is above its system memory, and the used memory of
// the kill and of a refused fork are kept.
func TestPeaksAreTrackedAtEveryChange(t *testing.T) {
	t.Run("keys and used memory between reads", func(t *testing.T) {
		_, n := newNode(t, Config{})
		rdb := n.NewClient(1)
		load(t, rdb, 3000, 100, 0)
		full := n.mem.used()
		keys := make([]string, 2000)
		for i := range keys {
			keys[i] = fmt.Sprintf("k:%06d", i)
		}
		if err := rdb.Del(context.Background(), keys...).Err(); err != nil {
			t.Fatal(err)
		}
		ms := n.Memory()
		if ms.Keys != 1000 || ms.PeakKeys != 3000 || ms.PeakUsedBytes != full || ms.UsedBytes >= full {
			t.Fatalf("keys %d (peak %d, want 3000), used %d (peak %d, want %d)", ms.Keys, ms.PeakKeys, ms.UsedBytes,
				ms.PeakUsedBytes, full)
		}
		if ms.PeakRSSUsedBytes != full || ms.PeakRSSBytes != n.cfg.cal.RSSBytes(full) {
			t.Fatalf("RSS peak %d at used %d, want %d at %d", ms.PeakRSSBytes, ms.PeakRSSUsedBytes,
				n.cfg.cal.RSSBytes(full), full)
		}
	})
	t.Run("OOM kill", func(t *testing.T) {
		cal := calibration.Default()
		system := int64(float64(cal.RSSBytes(cal.UsedMemory(8000, 8, 2500, false))) / 0.8)
		_, n, _ := forkUnderLoad(t, Config{SystemMemory: system, OvercommitMemory: 1})
		ms := n.Memory()
		if ms.OOMKills != 1 || ms.RSSBytes != 0 {
			t.Fatalf("kills %d, RSS after the kill %d", ms.OOMKills, ms.RSSBytes)
		}
		if ms.OOMRSSBytes <= system || ms.PeakRSSBytes < ms.OOMRSSBytes || ms.PeakRSSBytes <= system {
			t.Fatalf("RSS at the kill %d, peak %d, system %d", ms.OOMRSSBytes, ms.PeakRSSBytes, system)
		}
		if ms.OOMUsedBytes < cal.UsedMemory(8000, 8, 2500, false) || ms.OOMUsedBytes > ms.PeakUsedBytes ||
			ms.PeakKeys != 8000 || ms.PeakRSSUsedBytes != ms.OOMUsedBytes {
			t.Fatalf("used at the kill %d, used peak %d, keys peak %d, used at the RSS peak %d", ms.OOMUsedBytes,
				ms.PeakUsedBytes, ms.PeakKeys, ms.PeakRSSUsedBytes)
		}
	})
	t.Run("refused fork", func(t *testing.T) {
		cal := calibration.Default()
		rss := cal.RSSBytes(cal.UsedMemory(3000, 8, 1000, false))
		_, n := newNode(t, Config{SystemMemory: rss * 3 / 2, OvercommitMemory: 2})
		load(t, n.NewClient(1), 3000, 1000, 0)
		used := n.Memory().UsedBytes
		if err := n.BGSave(); !errors.Is(err, ErrForkFailed) {
			t.Fatalf("BGSAVE: %v, want a refused fork", err)
		}
		if ms := n.Memory(); ms.ForkFailedUsedBytes != used || ms.OOMUsedBytes != 0 {
			t.Fatalf("used at the refused fork %d, want %d; at an OOM kill %d, want 0", ms.ForkFailedUsedBytes, used,
				ms.OOMUsedBytes)
		}
	})
}
