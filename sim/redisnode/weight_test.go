package redisnode

import (
	"context"
	"fmt"
	"math"
	"testing"

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
