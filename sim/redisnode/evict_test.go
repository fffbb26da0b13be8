package redisnode

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillway-sim/spillway/core"
)

// zipfTrace is an access trace over keys with Zipf popularity (s = 1.1), the
// independent-reference model under which LRU beats random replacement.
func zipfTrace(n, keys int, seed uint64) []int {
	r := rand.New(rand.NewPCG(seed, 1))
	z := rand.NewZipf(r, 1.1, 1, uint64(keys-1))
	out := make([]int, n)
	for i := range out {
		out[i] = int(z.Uint64())
	}
	return out
}

// sampledHitRatio replays trace (one access per second) through the keyspace of a
// cache of capacity keys under policy and samples.
func sampledHitRatio(trace []int, capacity int, policy Policy, samples int) float64 {
	ks := newKeyspace(policy, samples, DefaultLFULogFactor, DefaultLFUDecayTime, rand.New(rand.NewPCG(9, 9)))
	hits := 0
	for i, k := range trace {
		at := time.Duration(i) * time.Second
		key := fmt.Sprintf("k%05d", k)
		if e := ks.get(key); e != nil {
			hits++
			ks.touch(e, at)
			continue
		}
		for ks.len() >= capacity {
			v, ok := ks.victim(at)
			if !ok {
				panic("no victim")
			}
			ks.remove(v)
		}
		ks.insert(entry{key: key, bytes: 1, volPos: -1, lru: ks.fresh(at)})
	}
	return float64(hits) / float64(len(trace))
}

// exactLRUHitRatio replays trace through a true LRU cache (the oracle).
func exactLRUHitRatio(trace []int, capacity int) float64 {
	l := list.New()
	at := map[int]*list.Element{}
	hits := 0
	for _, k := range trace {
		if e, ok := at[k]; ok {
			hits++
			l.MoveToFront(e)
			continue
		}
		if l.Len() >= capacity {
			last := l.Back()
			delete(at, last.Value.(int))
			l.Remove(last)
		}
		at[k] = l.PushFront(k)
	}
	return float64(hits) / float64(len(trace))
}

func TestSampledLRUApproachesExactLRU(t *testing.T) {
	trace := zipfTrace(120_000, 20_000, 3)
	const capacity = 1000
	exact := exactLRUHitRatio(trace, capacity)
	s3 := sampledHitRatio(trace, capacity, AllKeysLRU, 3)
	s10 := sampledHitRatio(trace, capacity, AllKeysLRU, 10)
	random := sampledHitRatio(trace, capacity, AllKeysRandom, 5)
	t.Logf("hit ratio: exact LRU %.4f, sampled 10 %.4f, sampled 3 %.4f, random %.4f", exact, s10, s3, random)
	if !(exact > s10 && s10 > s3 && s3 > random) {
		t.Fatalf("want exact > samples=10 > samples=3 > random, got %.4f %.4f %.4f %.4f", exact, s10, s3, random)
	}
	if exact-s10 > 0.02 {
		t.Fatalf("samples=10 is %.4f below exact LRU: the pool does not work", exact-s10)
	}
}

func TestLFUKeepsHotKeysThroughAScan(t *testing.T) {
	survivors := func(policy Policy) int {
		ks := newKeyspace(policy, DefaultSamples, DefaultLFULogFactor, DefaultLFUDecayTime, rand.New(rand.NewPCG(4, 4)))
		at := time.Duration(0)
		access := func(key string) {
			at += 10 * time.Millisecond
			if e := ks.get(key); e != nil {
				ks.touch(e, at)
				return
			}
			for ks.len() >= 500 {
				v, _ := ks.victim(at)
				ks.remove(v)
			}
			ks.insert(entry{key: key, bytes: 1, volPos: -1, lru: ks.fresh(at)})
		}
		for round := 0; round < 30; round++ {
			for h := 0; h < 100; h++ {
				access(fmt.Sprintf("hot%03d", h))
			}
		}
		for c := 0; c < 2000; c++ { // a one-time scan, 4× the cache
			access(fmt.Sprintf("cold%04d", c))
		}
		n := 0
		for h := 0; h < 100; h++ {
			if ks.get(fmt.Sprintf("hot%03d", h)) != nil {
				n++
			}
		}
		return n
	}
	lfu, lru := survivors(AllKeysLFU), survivors(AllKeysLRU)
	t.Logf("hot keys surviving a scan: LFU %d, LRU %d (of 100)", lfu, lru)
	if lfu < 80 || lru > 20 {
		t.Fatalf("LFU kept %d, LRU kept %d hot keys", lfu, lru)
	}
}

func TestLFUCounter(t *testing.T) {
	ks := newKeyspace(AllKeysLFU, 5, 10, time.Minute, rand.New(rand.NewPCG(1, 1)))
	e := &entry{lru: ks.fresh(0)}
	if c := ks.lfuDecr(e, 0); c != lfuInitVal {
		t.Fatalf("new key counter %d, want %d", c, lfuInitVal)
	}
	for range 1000 {
		ks.touch(e, time.Second)
	}
	c := ks.lfuDecr(e, time.Second)
	// log factor 10: ~1000 hits reach about 10 + 5 (evict.c's table: 100 hits → 10, 1K → 18 for factor 10, from 0)
	if c < 12 || c > 25 {
		t.Fatalf("after 1000 hits counter %d", c)
	}
	if got := ks.lfuDecr(e, 3*time.Minute+time.Second); got != c-3 {
		t.Fatalf("after 3 decay periods %d, want %d", got, c-3)
	}
	if got := ks.lfuDecr(e, 300*time.Minute); got != 0 {
		t.Fatalf("long idle counter %d, want 0", got)
	}
}

func TestVolatilePolicies(t *testing.T) {
	tests := []struct {
		name       string
		policy     Policy
		onlyVol    bool
		earliestTh float64 // max mean rank (0..1) of evicted deadlines; 0: unchecked
	}{
		{name: "volatile-ttl evicts the nearest deadlines", policy: VolatileTTL, onlyVol: true, earliestTh: 0.25},
		{name: "volatile-lru evicts only keys with a TTL", policy: VolatileLRU, onlyVol: true},
		{name: "volatile-lfu evicts only keys with a TTL", policy: VolatileLFU, onlyVol: true},
		{name: "volatile-random evicts only keys with a TTL", policy: VolatileRandom, onlyVol: true},
		{name: "allkeys-random evicts both", policy: AllKeysRandom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks := newKeyspace(tt.policy, DefaultSamples, DefaultLFULogFactor, DefaultLFUDecayTime, rand.New(rand.NewPCG(5, 5)))
			r := rand.New(rand.NewPCG(6, 6))
			for _, i := range r.Perm(200) {
				e := entry{key: fmt.Sprintf("k%03d", i), bytes: 1, volPos: -1}
				if i%2 == 0 {
					e.volPos, e.expireAt = 0, time.Duration(i)*time.Second
				}
				ks.insert(e)
			}
			vol, rankSum := 0, 0.0
			for range 20 {
				k, ok := ks.victim(time.Hour)
				if !ok {
					t.Fatal("no victim")
				}
				e := ks.get(k)
				if e.volPos >= 0 {
					vol++
					rankSum += float64(e.expireAt/time.Second) / 200
				}
				ks.remove(k)
			}
			if tt.onlyVol && vol != 20 {
				t.Fatalf("%d of 20 victims had a TTL", vol)
			}
			if !tt.onlyVol && (vol == 0 || vol == 20) {
				t.Fatalf("%d of 20 victims had a TTL: not random over all keys", vol)
			}
			if tt.earliestTh > 0 && rankSum/20 > tt.earliestTh {
				t.Fatalf("mean deadline rank of victims %.2f > %.2f", rankSum/20, tt.earliestTh)
			}
		})
	}
}

func TestNoVictimWhenNothingEvictable(t *testing.T) {
	ks := newKeyspace(VolatileLRU, 5, 10, time.Minute, rand.New(rand.NewPCG(1, 1)))
	ks.insert(entry{key: "persistent", bytes: 10, volPos: -1})
	if _, ok := ks.victim(0); ok {
		t.Fatal("volatile-lru evicted a key without a TTL")
	}
	ks2 := newKeyspace(NoEviction, 5, 10, time.Minute, rand.New(rand.NewPCG(1, 1)))
	ks2.insert(entry{key: "x", bytes: 10, volPos: 0})
	if _, ok := ks2.victim(0); ok {
		t.Fatal("noeviction evicted")
	}
}

// TestKeyspaceIndexProperty checks the dense index against a map under random
// inserts, removes and TTL changes.
func TestKeyspaceIndexProperty(t *testing.T) {
	ks := newKeyspace(AllKeysLRU, 5, 10, time.Minute, rand.New(rand.NewPCG(1, 1)))
	r := rand.New(rand.NewPCG(2, 2))
	model := map[string]bool{} // key → volatile
	bytes := map[string]int64{}
	for step := 0; step < 20_000; step++ {
		key := fmt.Sprintf("k%03d", r.IntN(300))
		switch e := ks.get(key); {
		case e == nil:
			vol := r.IntN(2) == 0
			b := int64(1 + r.IntN(100))
			ne := entry{key: key, bytes: b, volPos: -1}
			if vol {
				ne.volPos = 0
			}
			ks.insert(ne)
			model[key], bytes[key] = vol, b
		case r.IntN(3) == 0:
			vol := r.IntN(2) == 0
			ks.setVolatile(ks.pos[key], vol)
			model[key] = vol
		default:
			ks.remove(key)
			delete(model, key)
		}
	}
	if ks.len() != len(model) {
		t.Fatalf("%d entries, model %d", ks.len(), len(model))
	}
	var volB int64
	nvol := 0
	for k, vol := range model {
		e := ks.get(k)
		if e == nil || e.key != k || (e.volPos >= 0) != vol {
			t.Fatalf("key %s: entry %+v, volatile %v", k, e, vol)
		}
		if vol {
			nvol++
			volB += bytes[k]
			if ks.vol[e.volPos] != ks.pos[k] {
				t.Fatalf("vol back-pointer of %s broken", k)
			}
		}
	}
	if len(ks.vol) != nvol || ks.volB != volB {
		t.Fatalf("vol %d/%d bytes %d/%d", len(ks.vol), nvol, ks.volB, volB)
	}
}

func TestEvictionPoolStaysSorted(t *testing.T) {
	ks := newKeyspace(AllKeysLRU, 7, 10, time.Minute, rand.New(rand.NewPCG(3, 3)))
	for i := 0; i < 500; i++ {
		ks.insert(entry{key: fmt.Sprintf("k%03d", i), volPos: -1, lru: lruClock(time.Duration(i) * time.Second)})
	}
	for round := 0; round < 50; round++ {
		ks.populate(1000 * time.Second)
		var idles []uint64
		for _, p := range ks.pool {
			if p.used {
				idles = append(idles, p.idle)
			}
		}
		if !slices.IsSorted(idles) || len(idles) > evpoolSize {
			t.Fatalf("round %d: pool %v", round, idles)
		}
	}
	// The best candidate is the oldest key the samples saw: among the 10 % oldest.
	k, _ := ks.victim(1000 * time.Second)
	if e := ks.get(k); e == nil || e.lru > 50 {
		t.Fatalf("victim %q with clock %d", k, e.lru)
	}
}

func TestNoEvictionRejectsWritesReadsWork(t *testing.T) {
	eng, n := newNode(t, Config{MaxMemory: 1_116_088 + 150_000, Policy: NoEviction})
	s := newStore(t, eng, n.NewClient(3), core.SpillParallelism(2))
	for i := 0; i < 3000; i++ {
		s.Put(int32(i%6), fmt.Sprintf("dp:%05d", i), make([]byte, 80))
	}
	rep, err := s.SpillAll(WithMeter(context.Background(), &Meter{Workers: 2}))
	oom := rep.Count(core.ReasonOOM)
	if err == nil || oom == 0 || rep.Written == 0 {
		t.Fatalf("spill over maxmemory: written %d, oom %d, err %v", rep.Written, oom, err)
	}
	ms := n.Memory()
	if ms.RejectedOOM == 0 || ms.RejectedWrites != ms.RejectedOOM || ms.Evicted != 0 {
		t.Fatalf("memory stats %+v", ms)
	}
	// Reads (GETDEL is a write, but not deny-oom) still work, and free memory.
	var refs []core.KeyRef
	for i := 0; i < 3000; i++ {
		refs = append(refs, core.KeyRef{Partition: int32(i % 6), Key: fmt.Sprintf("dp:%05d", i)})
	}
	s2 := newStore(t, eng, n.NewClient(3))
	rr, err := s2.Restore(context.Background(), refs)
	if err != nil || rr.Restored != rep.Written {
		t.Fatalf("restore: %+v, err %v; %d were written", rr, err, rep.Written)
	}
	if n.Memory().UsedBytes >= ms.UsedBytes {
		t.Fatal("restoring (GETDEL) did not free memory")
	}
}

func TestVolatileLRUWithoutVolatileKeysRejects(t *testing.T) {
	_, n := newNode(t, Config{MaxMemory: 1_116_088 + 50_000, Policy: VolatileLRU})
	for i := 0; i < 1000; i++ {
		directSet(t, n, fmt.Sprintf("p%04d", i), "value-without-ttl", 0)
	}
	rdb := n.NewClient(1)
	err := rdb.Set(context.Background(), "new", "v", time.Minute).Err()
	var rerr redis.Error
	if !errors.As(err, &rerr) || core.Classify(err) != core.ReasonOOM {
		t.Fatalf("SET over maxmemory with no volatile key: %v", err)
	}
	if v, err := rdb.Get(context.Background(), "p0001").Result(); err != nil || v != "value-without-ttl" {
		t.Fatalf("GET: %q %v", v, err)
	}
	n2 := newNodeOn(t, n.eng, Config{Name: "lru", MaxMemory: 1_116_088 + 50_000, Policy: AllKeysLRU})
	for i := 0; i < 1000; i++ {
		directSet(t, n2, fmt.Sprintf("p%04d", i), "value-without-ttl", 0)
	}
	if err := n2.NewClient(1).Set(context.Background(), "new", "v", 0).Err(); err != nil {
		t.Fatalf("allkeys-lru refused a write: %v", err)
	}
	// Redis evicts before a write: the last write may leave it over by its own size
	// and a doubling of the dict table (4 KiB at 512 keys).
	if ms := n2.Memory(); ms.Evicted == 0 || ms.UsedBytes > ms.MaxMemory+4096+200 {
		t.Fatalf("allkeys-lru did not evict: %+v", ms)
	}
}
