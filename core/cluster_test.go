package core

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
			// Two pipelines (take mode: the MGETs, then the UNLINKs), each one round
			// trip per node: the cluster client splits a pipeline by node and sends
			// the parts in parallel.
			if n := pipelines.Load(); n != 2 {
				t.Fatalf("%d pipelines for one batch restore over 3 nodes, want 2", n)
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

// TestRefreshTopologyNotCluster: for a plain client or a Ring there is no slot
// map: refreshTopology sends nothing and records no reload.
func TestRefreshTopologyNotCluster(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client func(t *testing.T) redis.UniversalClient
	}{
		{name: "client", client: func(t *testing.T) redis.UniversalClient {
			t.Helper()
			return backends(t)[0].client(t)
		}},
		{name: "ring", client: func(t *testing.T) redis.UniversalClient {
			t.Helper()
			a, b := miniredis.RunT(t), miniredis.RunT(t)
			ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": a.Addr(), "b": b.Addr()},
				NewClient: func(opt *redis.Options) *redis.Client {
					opt.DisableIdentity, opt.MaintNotificationsConfig = true, noMaint
					return redis.NewClient(opt)
				}})
			t.Cleanup(func() { ring.Close() })
			return ring
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rdb := tc.client(t)
			var cmds atomic.Int64
			rdb.AddHook(hookFunc{
				process: func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
					if !isInit(cmd) {
						cmds.Add(1)
					}
					return next(ctx, cmd)
				},
				pipeline: func(ctx context.Context, c []redis.Cmder, next redis.ProcessPipelineHook) error {
					cmds.Add(int64(len(c)))
					return next(ctx, c)
				},
			})
			s, clk := newStore(t, rdb)
			for range 3 {
				s.refreshTopology(context.Background())
				clk.Advance(time.Second)
			}
			if n, last := cmds.Load(), s.topo.last.Load(); n != 0 || last != 0 {
				t.Fatalf("refreshTopology on a %T: %d commands sent, last reload at %d; want none", rdb, n, last)
			}
		})
	}
}

// TestRefreshTopologyCluster: on a ClusterClient, refreshTopology reloads the slot
// map before it returns (a CLUSTER SLOTS reaches a node), at most once per
// topologyRefreshEvery of the store's clock; Spill and Restore call it after a
// failure that may mean a master moved, not after a success.
func TestRefreshTopologyCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	addrs := redistest.StartCluster(t, 3)
	ctx := context.Background()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, DisableIdentity: true, MaintNotificationsConfig: noMaint})
	defer cc.Close()
	var loads atomic.Int64 // slot-map loads: CLUSTER SLOTS (go-redis v9.23) or CLUSTER SHARDS
	cc.OnNewNode(func(c *redis.Client) {
		c.AddHook(hookFunc{process: func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
			if args := cmd.Args(); len(args) > 1 && cmd.Name() == "cluster" {
				if sub, _ := args[1].(string); strings.EqualFold(sub, "slots") || strings.EqualFold(sub, "shards") {
					loads.Add(1)
				}
			}
			return next(ctx, cmd)
		}})
	})
	var failing atomic.Bool // every read and write of the store times out
	failHook := hookFunc{
		process: func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
			if n := cmd.Name(); failing.Load() && (n == "evalsha" || n == "eval" || n == "set" || n == "mget" || n == "watch") {
				cmd.SetErr(timeoutErr{})
				return timeoutErr{}
			}
			return next(ctx, cmd)
		},
		pipeline: func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
			if !failing.Load() {
				return next(ctx, cmds)
			}
			for _, c := range cmds {
				c.SetErr(timeoutErr{})
			}
			return timeoutErr{}
		},
	}
	cc.AddHook(failHook)
	// A fenced batch is a transaction on the partition's master's own client.
	cc.OnNewNode(func(c *redis.Client) { c.AddHook(failHook) })
	if err := cc.FlushAll(ctx).Err(); err != nil { // first use: the initial slot-map load
		t.Fatal(err)
	}
	if n := loads.Load(); n != 1 {
		t.Fatalf("%d slot-map loads on first use, want 1: the hook does not see them", n)
	}
	s, clk := newStore(t, cc)
	refs := fillParts(s, 3, 10)
	if rep, err := s.SpillAll(ctx); err != nil || rep.Written != len(refs) { // loads the script on every master
		t.Fatalf("spill: %+v, %v", rep, err)
	}
	refresh := func() error { s.refreshTopology(ctx); return nil }
	restore := func() error {
		rep, err := s.Restore(ctx, refs)
		if want := map[bool]int{false: len(refs)}[failing.Load()]; rep.Restored != want {
			return fmt.Errorf("restore: %+v, %v; want %d restored", rep, err, want)
		}
		return nil
	}
	spill := func() error {
		s.Put(0, "dp:000000", ctxValue(0, 0))
		rep, err := s.SpillAll(ctx)
		if want := map[bool]int{false: rep.Keys}[failing.Load()]; rep.Written != want || rep.Keys == 0 {
			return fmt.Errorf("spill: %+v, %v; want %d written", rep, err, want)
		}
		if failing.Load() && (rep.Keys != 1 || rep.Batches != 3) { // the default Retries: 3 attempts
			return fmt.Errorf("failing spill: %d keys in %d sends, want 1 key sent 3 times", rep.Keys, rep.Batches)
		}
		return nil
	}
	for _, step := range []struct {
		name    string
		advance time.Duration // of the store's clock, before the step
		fail    bool
		do      func() error
		loads   int64 // slot-map loads the step causes
	}{
		{name: "first refresh", advance: time.Second, do: refresh, loads: 1},
		{name: "same instant", do: refresh},
		{name: "99ms later", advance: 99 * time.Millisecond, do: refresh},
		{name: "100ms after the last reload", advance: time.Millisecond, do: refresh, loads: 1},
		{name: "again at once", do: refresh},
		{name: "restore that succeeds", advance: time.Second, do: restore},
		{name: "spill that succeeds", advance: time.Second, do: spill},
		{name: "restore that fails", advance: time.Second, fail: true, do: restore, loads: 1},
		{name: "restore that fails 50ms later", advance: 50 * time.Millisecond, fail: true, do: restore},
		// three attempts, each failing and asking for a reload; the clock does not
		// move between them (a fake clock has no Sleep: no back-off), so one reload
		{name: "spill that fails 3 times", advance: time.Second, fail: true, do: spill, loads: 1},
		{name: "spill that succeeds after failures", advance: time.Second, do: spill},
		{name: "restore that succeeds after failures", do: restore},
	} {
		clk.Advance(step.advance)
		failing.Store(step.fail)
		before := loads.Load()
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if n := loads.Load() - before; n != step.loads {
			t.Fatalf("%s: %d slot-map loads, want %d", step.name, n, step.loads)
		}
	}
	failing.Store(false)
}
