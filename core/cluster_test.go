package core

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

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
