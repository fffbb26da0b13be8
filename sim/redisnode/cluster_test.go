package redisnode

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillway-sim/spillway/sim/engine"
)

func newCluster(t *testing.T, eng *engine.Engine, count int) (*Cluster, []*Node) {
	t.Helper()
	nodes := newRingNodes(t, eng, count)
	c, err := NewCluster(eng, nodes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, nodes
}

func TestSlotMatchesRedis(t *testing.T) {
	// Values from the Redis Cluster specification and redis-cli CLUSTER KEYSLOT.
	tests := []struct {
		name string
		key  string
		want int
	}{
		{name: "spec example", key: "123456789", want: 0x31C3 & 16383},
		{name: "foo", key: "foo", want: 12182},
		{name: "hash tag", key: "{user1000}.following", want: Slot("user1000")},
		{name: "empty tag hashes the whole key", key: "foo{}{bar}", want: int(crc16("foo{}{bar}")) & 16383},
		{name: "first tag only", key: "foo{{bar}}zap", want: Slot("{bar")},
		{name: "core key", key: "{spill:5}:dp:1", want: 7325}, // probed on redis-server 7.0.15
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Slot(tt.key); got != tt.want {
				t.Fatalf("Slot(%q) = %d, want %d", tt.key, got, tt.want)
			}
		})
	}
}

func TestClusterSlotOwnership(t *testing.T) {
	eng := engine.New(1)
	c, nodes := newCluster(t, eng, 3)
	counts := c.SlotCounts()
	if counts[0]+counts[1]+counts[2] != ClusterSlots || counts[0] != 5461 || counts[1] != 5461 || counts[2] != 5462 {
		t.Fatalf("slot counts %v", counts)
	}
	if c.Owner(0) != nodes[0] || c.Owner(ClusterSlots-1) != nodes[2] {
		t.Fatal("ranges are not contiguous from node 0")
	}
	if got := c.Slots(); len(got) != 3 || got[1].Start != 5461 || got[1].Nodes[0].Addr != "redis-1:6379" {
		t.Fatalf("CLUSTER SLOTS %+v", got)
	}
	// Through a real ClusterClient, every key lands on its slot's owner only.
	cc := c.NewClient(4)
	ctx := context.Background()
	for p := range 64 {
		key := fmt.Sprintf("{spill:%d}:dp", p)
		if err := cc.Set(ctx, key, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		owner := c.Owner(Slot(key))
		for _, n := range nodes {
			if got := n.Miniredis().Exists(key); got != (n == owner) {
				t.Fatalf("%s on %s: %v (owner %s)", key, n.Name(), got, owner.Name())
			}
		}
	}
	if s := c.Stats(); s.Moved != 0 || s.Ask != 0 {
		t.Fatalf("a client with a current map was redirected: %+v", s)
	}
}

// TestClusterRedirects: a node answers MOVED for a slot it does not own and
// CROSSSLOT for keys of two slots; a ClusterClient follows MOVED from a node
// it was sent to by hand, and CLUSTER SLOTS over the wire gives the map.
func TestClusterRedirects(t *testing.T) {
	eng := engine.New(1)
	c, nodes := newCluster(t, eng, 3)
	ctx := context.Background()
	key := "{spill:5}:dp" // slot 7325: node 1
	if c.Owner(Slot(key)) != nodes[1] {
		t.Fatalf("slot 7325 owned by %s", c.Owner(Slot(key)).Name())
	}
	plain := nodes[0].NewClient(1)
	err := plain.Get(ctx, key).Err()
	if err == nil || err.Error() != "MOVED 7325 redis-1:6379" {
		t.Fatalf("GET on a non-owner: %v", err)
	}
	if err := nodes[1].NewClient(1).MGet(ctx, key, "{spill:6}:x").Err(); !errors.Is(err, ErrCrossSlot) && (err == nil || !strings.HasPrefix(err.Error(), "CROSSSLOT")) {
		t.Fatalf("MGET over two slots: %v", err)
	}
	// A ClusterClient that loads the map over the wire (CLUSTER SLOTS) and
	// follows MOVED.
	opt := c.clientOptions(2)
	opt.ClusterSlots = nil
	opt.Addrs = []string{"redis-0:6379"}
	wire := redis.NewClusterClient(opt)
	defer wire.Close()
	if err := wire.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if !nodes[1].Miniredis().Exists(key) {
		t.Fatal("the wire-loaded client wrote to the wrong node")
	}
	slots, err := nodes[2].NewClient(1).ClusterSlots(ctx).Result()
	if err != nil || len(slots) != 3 || slots[2].Start != 10922 || slots[2].Nodes[0].Addr != "redis-2:6379" {
		t.Fatalf("CLUSTER SLOTS: %+v, %v", slots, err)
	}
}

// TestClusterMigrationThroughClusterClient drives one slot's migration by hand
// and checks what a go-redis ClusterClient sees: keys still on the source are
// served there, moved keys are followed through ASK to the target, an MGET over
// both answers TRYAGAIN, new keys go to the target; after SETSLOT NODE
// everything is on the target and a hand-routed GET on the source gets MOVED.
func TestClusterMigrationThroughClusterClient(t *testing.T) {
	eng := engine.New(1)
	c, nodes := newCluster(t, eng, 3)
	ctx := context.Background()
	cc := c.NewClient(4)
	tag := "{spill:5}"
	k := func(i int) string { return fmt.Sprintf("%s:k%d", tag, i) }
	for i := range 4 {
		if err := cc.Set(ctx, k(i), fmt.Sprint("v", i), time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	}
	src, dst := nodes[1], nodes[2]
	r := &resharding{c: c, opt: ReshardOptions{Batch: 10, RTT: 100 * time.Microsecond, Cost: DefaultMigrateCost}}
	c.migrating[7325] = dst
	r.migrate(src, dst, []string{k(2), k(3)})
	if !dst.Miniredis().Exists(k(2)) || src.Miniredis().Exists(k(2)) || dst.Miniredis().TTL(k(2)) != time.Minute {
		t.Fatal("MIGRATE did not move the key with its TTL")
	}
	if got := cc.Get(ctx, k(0)).Val(); got != "v0" {
		t.Fatalf("key still on the source: %q", got)
	}
	if got, err := cc.Get(ctx, k(2)).Result(); got != "v2" || err != nil {
		t.Fatalf("moved key through ASK: %q, %v", got, err)
	}
	if err := cc.MGet(ctx, k(0), k(2)).Err(); err == nil || err.Error() != ErrTryAgain.Error() {
		t.Fatalf("MGET over both nodes: %v", err)
	}
	if got, err := cc.MGet(ctx, k(2), k(3)).Result(); err != nil || got[0] != "v2" || got[1] != "v3" {
		t.Fatalf("MGET of moved keys: %v, %v", got, err)
	}
	if err := cc.Set(ctx, k(9), "new", 0).Err(); err != nil || !dst.Miniredis().Exists(k(9)) {
		t.Fatalf("a new key during the migration goes to the target: %v", err)
	}
	// A pipeline through the ClusterClient follows ASK too.
	var g0, g2 *redis.StringCmd
	if _, err := cc.Pipelined(ctx, func(p redis.Pipeliner) error {
		g0, g2 = p.Get(ctx, k(0)), p.Get(ctx, k(2))
		return nil
	}); err != nil || g0.Val() != "v0" || g2.Val() != "v2" {
		t.Fatalf("pipeline: %v %q %q", err, g0.Val(), g2.Val())
	}
	// A transaction on the source's connection that writes a moved key: the
	// queued SET answers ASK and EXEC EXECABORT; nothing runs.
	conn, _ := cc.MasterForKey(ctx, tag)
	var set0, set2 *redis.StatusCmd
	exec := redis.NewSliceCmd(ctx, "exec")
	_, _ = conn.Pipelined(ctx, func(p redis.Pipeliner) error {
		_ = p.Process(ctx, redis.NewStatusCmd(ctx, "multi"))
		set0 = redis.NewStatusCmd(ctx, "set", k(0), "tx")
		set2 = redis.NewStatusCmd(ctx, "set", k(2), "tx")
		_ = p.Process(ctx, set0)
		_ = p.Process(ctx, set2)
		return p.Process(ctx, exec)
	})
	if set0.Val() != "QUEUED" || set2.Err() == nil || !strings.HasPrefix(set2.Err().Error(), "ASK 7325 redis-2:6379") ||
		exec.Err() == nil || exec.Err().Error() != ErrExecAbort.Error() {
		t.Fatalf("transaction: %q %v / %v / %v", set0.Val(), set0.Err(), set2.Err(), exec.Err())
	}
	if v, _ := src.Miniredis().Get(k(0)); v != "v0" {
		t.Fatal("a refused transaction ran")
	}
	r.migrate(src, dst, []string{k(0), k(1)})
	r.own(slotMove{slot: 7325, from: src, to: dst})
	c.ReloadClients()
	for i := range 4 {
		if got := cc.Get(ctx, k(i)).Val(); got != fmt.Sprint("v", i) {
			t.Fatalf("after the migration %s = %q", k(i), got)
		}
	}
	if err := conn.Get(ctx, k(0)).Err(); err == nil || err.Error() != "MOVED 7325 redis-2:6379" {
		t.Fatalf("hand-routed GET on the old owner: %v", err)
	}
	if s := c.Stats(); s.Ask == 0 || s.TryAgain == 0 || s.ExecAbort != 0 && s.ExecAbort > 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestReshardPlan: going from 3 to 4 masters moves a quarter of the slots to the
// new one, from each old master equally, lowest slots first; back to 3 drains it.
func TestReshardPlan(t *testing.T) {
	eng := engine.New(1)
	c, nodes := newCluster(t, eng, 3)
	extra := newNodeOn(t, eng, Config{Name: "redis-3", RTT: 100 * time.Microsecond})
	n, err := c.Reshard(append(nodes, extra), ReshardOptions{RTT: 100 * time.Microsecond})
	if err != nil || n != 4096 {
		t.Fatalf("moves %d, %v", n, err)
	}
	eng.RunUntil(time.Hour)
	if got := c.SlotCounts(); got[0] != 4096 || got[1] != 4096 || got[2] != 4096 || got[3] != 4096 {
		t.Fatalf("after 3 -> 4: %v", got)
	}
	if c.Owner(0) != extra || c.Owner(5461) != extra || c.Owner(5460) != nodes[0] {
		t.Fatal("the new master did not take the lowest slots of each")
	}
	if _, err := c.Reshard(nodes, ReshardOptions{RTT: 100 * time.Microsecond}); err != nil {
		t.Fatal(err)
	}
	eng.RunUntil(2 * time.Hour)
	if got := c.SlotCounts(); len(got) != 3 || got[0]+got[1]+got[2] != ClusterSlots || len(c.Masters()) != 3 {
		t.Fatalf("after 4 -> 3: %v", got)
	}
}

// TestReshardLosesNothing writes keys in many slots through a ClusterClient,
// reshards 3 -> 4 -> 2 masters while a client keeps writing and reading, and
// checks every key is readable with its last value afterwards, on its owner.
func TestReshardLosesNothing(t *testing.T) {
	eng := engine.New(1)
	c, nodes := newCluster(t, eng, 3)
	extra := newNodeOn(t, eng, Config{Name: "redis-3", RTT: 100 * time.Microsecond})
	cc := c.NewClient(4)
	ctx := context.Background()
	want := map[string]string{}
	write := func(round int, parts ...int) {
		for _, p := range parts {
			for i := range 20 {
				key := fmt.Sprintf("{spill:%d}:dp-%d", p, i)
				if (p+i+round)%3 != 0 {
					continue
				}
				v := fmt.Sprintf("r%d", round)
				if err := cc.Set(ctx, key, v, time.Hour).Err(); err != nil {
					t.Fatalf("round %d: SET %s: %v", round, key, err)
				}
				want[key] = v
			}
		}
	}
	all := make([]int, 48)
	for p := range all {
		all[p] = p
	}
	write(0, all...)
	write(1, all...)
	write(2, all...)
	done := false
	if _, err := c.Reshard(append(nodes, extra), ReshardOptions{Batch: 3, RTT: 200 * time.Microsecond,
		OnDone: func(ReshardReport) { done = true }}); err != nil {
		t.Fatal(err)
	}
	// While the slots move, every 100 µs: rewrite the partition whose slot is
	// migrating (or, every 50th tick, the next one) and read it back (MGET of its
	// 20 keys, and GET one by one).
	round := 3
	var tick func()
	tick = func() {
		p := -1
		for q := range 48 {
			if c.Migrating(Slot(fmt.Sprintf("{spill:%d}", q))) != nil {
				p = q
			}
		}
		if p < 0 && round%50 != 0 {
			round++
			eng.After(100*time.Microsecond, tick)
			return
		}
		if p < 0 {
			p = round / 50 % 48
		}
		write(round, p)
		round++
		keys := make([]string, 20)
		for i := range keys {
			keys[i] = fmt.Sprintf("{spill:%d}:dp-%d", p, i)
		}
		vals, err := cc.MGet(ctx, keys...).Result()
		if err != nil && err.Error() != ErrTryAgain.Error() {
			t.Fatalf("mid-reshard MGET: %v", err)
		}
		for i, key := range keys {
			if err == nil && want[key] != "" && vals[i] != want[key] {
				t.Fatalf("mid-reshard MGET %s = %v, want %q", key, vals[i], want[key])
			}
			if got, gerr := cc.Get(ctx, key).Result(); want[key] != "" && (gerr != nil || got != want[key]) {
				t.Fatalf("mid-reshard GET %s = %q, %v; want %q", key, got, gerr, want[key])
			}
		}
		if !done {
			eng.After(100*time.Microsecond, tick)
		}
	}
	eng.After(time.Millisecond, tick)
	eng.RunUntil(time.Minute)
	if _, err := c.Reshard([]*Node{nodes[0], extra}, ReshardOptions{RTT: 200 * time.Microsecond}); err != nil {
		t.Fatal(err)
	}
	eng.RunUntil(2 * time.Minute)
	total := 0
	for _, n := range append(nodes, extra) {
		total += n.Keys()
		for _, key := range n.Miniredis().Keys() {
			if c.Owner(Slot(key)) != n {
				t.Fatalf("%s left on %s, owned by %s", key, n.Name(), c.Owner(Slot(key)).Name())
			}
		}
	}
	if total != len(want) {
		t.Fatalf("%d keys in the cluster, %d written", total, len(want))
	}
	for key, v := range want {
		if got, err := cc.Get(ctx, key).Result(); err != nil || got != v {
			t.Fatalf("GET %s = %q, %v; want %q", key, got, err, v)
		}
	}
	if s := c.Stats(); s.MigratedKeys == 0 || s.Ask == 0 || s.TryAgain == 0 || s.MigrateViolations != 0 {
		t.Fatalf("the reshard migrated nothing or no client met a migration: %+v", s)
	}
}

// TestReshardWhileResharding: a second reshard waits for the first and then
// starts from the ownership it left.
func TestReshardWhileResharding(t *testing.T) {
	eng := engine.New(1)
	c, nodes := newCluster(t, eng, 2)
	extra := newNodeOn(t, eng, Config{Name: "redis-2", RTT: 100 * time.Microsecond})
	var done []int
	opt := func(i int) ReshardOptions {
		return ReshardOptions{RTT: 100 * time.Microsecond, OnDone: func(ReshardReport) { done = append(done, i) }}
	}
	if n, err := c.Reshard(append(nodes, extra), opt(1)); err != nil || n != 5461 {
		t.Fatalf("first: %d, %v", n, err)
	}
	if n, err := c.Reshard(nodes[:1], opt(2)); err != nil || n != -1 {
		t.Fatalf("second while the first runs: %d, %v", n, err)
	}
	eng.RunUntil(time.Hour)
	if len(done) != 2 || done[0] != 1 || done[1] != 2 {
		t.Fatalf("done %v", done)
	}
	if got := c.SlotCounts(); len(got) != 1 || got[0] != ClusterSlots || c.Owner(0) != nodes[0] {
		t.Fatalf("after both: %v", got)
	}
}
