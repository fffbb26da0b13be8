package redisnode

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestWeightedCallCostsTheRealCalls: a pipeline of a sampled node's keys (weight
// W) keeps the server as busy as the real pipeline of W times the keys, for
// single-key commands (GET, GETRANGE, SET: each stands for W commands) and
// multi-key ones (MGET, DEL: each stands for one per real call). A sampled revoke
// spill's GETRANGE check once cost a fifth of the real one, because a single-key
// GETRANGE was charged once per real call instead of W times; the syncs queued
// behind it then waited half as long as in the exact run.
func TestWeightedCallCostsTheRealCalls(t *testing.T) {
	const w, keys, batch = 10, 100, 500 // 1,000 real keys in 2 real calls
	value := string(make([]byte, 1024))
	shapes := []struct {
		name string
		cmds func(p redis.Pipeliner, ctx context.Context, keys []string)
	}{
		{"GET", func(p redis.Pipeliner, ctx context.Context, keys []string) {
			for _, k := range keys {
				p.Get(ctx, k)
			}
		}},
		{"GETRANGE", func(p redis.Pipeliner, ctx context.Context, keys []string) {
			for _, k := range keys {
				p.GetRange(ctx, k, -4, -1)
			}
		}},
		{"SET", func(p redis.Pipeliner, ctx context.Context, keys []string) {
			for _, k := range keys {
				p.Set(ctx, k, value, 0)
			}
		}},
		{"MGET", func(p redis.Pipeliner, ctx context.Context, keys []string) {
			half := len(keys) / 2 // one MGET per real call of batch keys
			p.MGet(ctx, keys[:half]...)
			p.MGet(ctx, keys[half:]...)
		}},
		{"DEL", func(p redis.Pipeliner, ctx context.Context, keys []string) {
			half := len(keys) / 2
			p.Del(ctx, keys[:half]...)
			p.Del(ctx, keys[half:]...)
		}},
	}
	busy := func(t *testing.T, weight int64, n int, shape func(redis.Pipeliner, context.Context, []string)) float64 {
		_, node := newNode(t, Config{Weight: weight})
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("k%d", i)
			directSet(t, node, names[i], value, 0)
		}
		m := &Meter{Batch: batch}
		ctx := WithMeter(context.Background(), m)
		rdb := node.NewClient(1)
		before := node.cpu.total
		p := rdb.Pipeline()
		shape(p, ctx, names)
		if _, err := p.Exec(ctx); err != nil && err != redis.Nil {
			t.Fatal(err)
		}
		node.mu.Lock()
		node.settle()
		node.mu.Unlock()
		return float64(node.cpu.total - before)
	}
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			exact := busy(t, 1, w*keys, s.cmds)
			sampled := busy(t, w, keys, s.cmds)
			if exact == 0 || math.Abs(sampled-exact) > 0.02*exact {
				t.Fatalf("server busy %v sampled (W=%d, %d keys), %v exact (%d keys)", sampled, w, keys, exact, w*keys)
			}
		})
	}
}

// TestSampledActionCountsRealTrips: a sampled action that stands for several
// real ones (a sampled poll's restore or Sync standing for the real consumer's
// in that time: Meter.KeyedTrips, BareTrips, KeyedOps, Keys, PerAction) counts
// their round trips and commands, and takes the time it took before. Without
// them, a call carrying less than a real batch still counts one round trip (a
// partial batch is sent on its own). Write-through runs once read their round
// trips 77–100 % low: a sampled Sync's SETs counted as 2 % of one round trip.
func TestSampledActionCountsRealTrips(t *testing.T) {
	const w = 10
	sampled := func(k string) bool { return strings.HasPrefix(k, "ctx:") }
	run := func(t *testing.T, m *Meter) (Stats, time.Duration) {
		_, node := newNode(t, Config{Weight: w, Weighted: sampled})
		ctx := WithMeter(context.Background(), m)
		rdb := node.NewClient(1)
		// A fence read: no sampled key.
		p := rdb.Pipeline()
		p.Get(ctx, "fence:1")
		p.Get(ctx, "fence:2")
		if _, err := p.Exec(ctx); err != nil && err != redis.Nil {
			t.Fatal(err)
		}
		// A transaction of two sampled keys: 20 real keys, far less than a batch.
		if _, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "ctx:1", "v", 0)
			p.Set(ctx, "ctx:2", "v", 0)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		// One of the two keys read back with its fence, as a restore reads a
		// partition: an MGET and a GET.
		p = rdb.Pipeline()
		p.MGet(ctx, "ctx:1")
		p.Get(ctx, "fence:1")
		if _, err := p.Exec(ctx); err != nil && err != redis.Nil {
			t.Fatal(err)
		}
		return node.Stats(), m.Elapsed()
	}
	plain, plainTook := run(t, &Meter{Batch: 1000})
	if want := int64(2 + 2 + 2*w + 1 + 1); plain.RoundTrips != 3 || plain.Ops != want {
		t.Errorf("without real actions: %d round trips, %d commands; want 3 and %d", plain.RoundTrips, plain.Ops, want)
	}
	// 6.5 real actions carrying 4 real keys each: of them, 1 − (1/2)^4 carry
	// one of the 10 real keys ctx:1 stands for; 10 real MGETs per such share.
	many, manyTook := run(t, &Meter{Batch: 1000, KeyedTrips: 6.5, BareTrips: 6.5, KeyedOps: 10, Keys: 2, PerAction: 4})
	read := 1 - math.Pow(0.5, 4)
	// Round trips: 6.5 fence reads, 6.5 transactions, 6.5 × read restores.
	if want := int64(6.5 + 6.5 + 6.5*read); many.RoundTrips != want {
		t.Errorf("standing for 6.5 real actions: %d round trips, want %d", many.RoundTrips, want)
	}
	// Commands: 2 × 6.5 GETs; 2 × 6.5 of MULTI and EXEC and 20 SETs; 10 × read
	// MGETs and as many fence GETs.
	if want := int64(13 + 13 + 2*w + 2*10*read); many.Ops != want {
		t.Errorf("standing for 6.5 real actions: %d commands, want %d", many.Ops, want)
	}
	if manyTook != plainTook {
		t.Errorf("the action took %v standing for 6.5 real ones, %v alone: its time must not change", manyTook, plainTook)
	}
}
