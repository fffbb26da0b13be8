package core

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/spillway-sim/spillway/internal/redistest"
)

func TestRedisCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	addrs := redistest.StartCluster(t, 3)
	ctx := context.Background()
	var pipelines atomic.Int64
	counter := hookFunc{pipeline: func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
		pipelines.Add(1)
		return next(ctx, cmds)
	}}
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, DisableIdentity: true, MaintNotificationsConfig: noMaint})
	defer rdb.Close()
	rdb.AddHook(counter)
	for _, fenced := range []bool{true, false} {
		t.Run(fmt.Sprintf("fencing=%v", fenced), func(t *testing.T) {
			rdb.FlushAll(ctx)
			rdb.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return c.FlushAll(ctx).Err() })
			s, _ := newStore(t, rdb, Fencing(fenced), Manifest(true), SpillParallelism(4))
			parts := make([]int32, 24)
			var refs []KeyRef
			for p := range parts {
				parts[p] = int32(p)
				for _, k := range fill(s, int32(p), 200, ctxValue) {
					refs = append(refs, KeyRef{int32(p), k})
				}
			}
			if err := s.Assigned(ctx, 9, parts...); err != nil {
				t.Fatalf("claim across slots: %v", err)
			}
			rep, err := s.SpillAll(ctx)
			if err != nil || rep.Written != 4800 {
				t.Fatalf("spill: %+v %v", rep, err)
			}
			// The partitions landed on more than one node.
			var nodes atomic.Int64
			rdb.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
				if c.DBSize(ctx).Val() > 0 {
					nodes.Add(1)
				}
				return nil
			})
			if nodes.Load() < 2 {
				t.Fatalf("all partitions on %d node(s): the test does not cross slots", nodes.Load())
			}
			pipelines.Store(0)
			rr, err := s.Restore(ctx, refs[:2400])
			if err != nil || rr.Restored != 2400 {
				t.Fatalf("restore across slots: %+v %v", rr, err)
			}
			// One round trip per node: the cluster client splits the batch's pipeline
			// by node and sends the parts in parallel.
			if n := pipelines.Load(); n < 1 || n > 3 {
				t.Fatalf("%d pipelines for one batch restore over 3 nodes", n)
			}
			if v, _ := s.Get(11, "dp:000042"); string(v) != string(ctxValue(11, 42)) {
				t.Fatalf("restored value %q", v)
			}
			wr, err := s.Warm(ctx, 20, 21, 22, 23)
			if err != nil || wr.Restored != 800 {
				t.Fatalf("warm across slots: %+v %v", wr, err)
			}
		})
	}
}

// TestScriptsLoadedOnEveryRingShard: a plain SCRIPT LOAD through a Ring reaches
// one random shard; the store loads its script on all of them.
func TestScriptsLoadedOnEveryRingShard(t *testing.T) {
	a, b := miniredis.RunT(t), miniredis.RunT(t)
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": a.Addr(), "b": b.Addr()},
		NewClient: func(opt *redis.Options) *redis.Client {
			opt.DisableIdentity, opt.MaintNotificationsConfig = true, noMaint
			return redis.NewClient(opt)
		}})
	defer ring.Close()
	s, _ := newStore(t, ring)
	fill(s, 0, 5, ctxValue)
	if _, err := s.Spill(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	sha := Scripts()[0].SHA1
	for name, m := range map[string]*miniredis.Miniredis{"a": a, "b": b} {
		c := redis.NewClient(&redis.Options{Addr: m.Addr(), DisableIdentity: true, MaintNotificationsConfig: noMaint})
		ok, err := c.ScriptExists(context.Background(), sha).Result()
		c.Close()
		if err != nil || len(ok) != 1 || !ok[0] {
			t.Fatalf("shard %s: spill script loaded = %v, %v", name, ok, err)
		}
	}
}
