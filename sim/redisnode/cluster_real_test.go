package redisnode

// Behavior: the simulated cluster against a real one. TestClusterAgainstRealCluster
// sends the same commands, mid-migration and after, to three redis-server 7.0.15
// cluster nodes (internal/redistest.StartCluster) and to three simulated masters,
// and requires the same replies (addresses replaced by their role).
// TestRealClusterMigrateCost measures MIGRATE on the real nodes and logs the
// numbers DefaultMigrateCost is taken from (SPILLWAY_MEASURE_MIGRATE=1). Both
// skip under -short and without redis-server and redis-cli.

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillway-sim/spillway/internal/redistest"
	"github.com/spillway-sim/spillway/sim/engine"
)

// probe is one pipeline sent to one node (by role).
type probe struct {
	name string
	node string // src, dst, other
	cmds [][]any
}

func clusterProbes(tag string) (before, after []probe) {
	k := func(i int) string { return fmt.Sprintf("%s:k%d", tag, i) }
	fence := tag + "#fence"
	before = []probe{
		{"source serves a key it still has", "src", [][]any{{"GET", k(0)}}},
		{"source: moved key", "src", [][]any{{"GET", k(2)}}},
		{"source: key that never existed", "src", [][]any{{"GET", k(9)}}},
		{"source: MGET present+moved", "src", [][]any{{"MGET", k(0), k(2)}}},
		{"source: MGET moved+moved", "src", [][]any{{"MGET", k(2), k(3)}}},
		{"source: MGET present+present", "src", [][]any{{"MGET", k(0), k(1)}}},
		{"source: SET of a new key", "src", [][]any{{"SET", k(8), "x"}}},
		{"source: SET of a present key", "src", [][]any{{"SET", k(1), "y"}}},
		{"source: EXISTS moved", "src", [][]any{{"EXISTS", k(2)}}},
		{"target without ASKING", "dst", [][]any{{"GET", k(2)}}},
		{"target: ASKING GET moved", "dst", [][]any{{"ASKING"}, {"GET", k(2)}}},
		{"target: ASKING GET still on source", "dst", [][]any{{"ASKING"}, {"GET", k(0)}}},
		{"target: ASKING MGET moved+moved", "dst", [][]any{{"ASKING"}, {"MGET", k(2), k(3)}}},
		{"target: ASKING MGET moved+on source", "dst", [][]any{{"ASKING"}, {"MGET", k(2), k(0)}}},
		{"target: ASKING SET new", "dst", [][]any{{"ASKING"}, {"SET", k(7), "z"}}},
		{"target: ASKING covers one command", "dst", [][]any{{"ASKING"}, {"PING"}, {"GET", k(2)}}},
		{"source: transaction writing a moved key", "src", [][]any{{"MULTI"}, {"SET", k(2), "a"}, {"SET", k(0), "b"}, {"EXEC"}}},
		{"source: WATCH and GET of the fence", "src", [][]any{{"UNWATCH"}, {"WATCH", fence}, {"GET", fence}}},
		{"source: transaction on present keys", "src", [][]any{{"MULTI"}, {"SET", k(0), "c"}, {"EXEC"}}},
		{"target: ASKING transaction moved+new", "dst", [][]any{{"ASKING"}, {"MULTI"}, {"SET", k(2), "a"}, {"SET", k(6), "b"}, {"EXEC"}}},
		{"other master", "other", [][]any{{"GET", k(0)}}},
		{"source: script over present+moved", "src", [][]any{{"EVAL", "return 1", 2, k(0), k(2)}}},
		{"source: DEL moved", "src", [][]any{{"DEL", k(2)}}},
		{"source: UNLINK present+moved", "src", [][]any{{"UNLINK", k(1), k(3)}}},
		{"source: PTTL moved", "src", [][]any{{"PTTL", k(3)}}},
		{"CROSSSLOT", "src", [][]any{{"MGET", k(0), "{other}:x"}}},
	}
	after = []probe{
		{"after: old owner", "src", [][]any{{"GET", k(0)}}},
		{"after: new owner", "dst", [][]any{{"GET", k(0)}}},
		{"after: new owner, moved key", "dst", [][]any{{"GET", k(3)}}},
		{"after: new owner, fence", "dst", [][]any{{"GET", tag + "#fence"}}},
		{"after: other master", "other", [][]any{{"GET", k(0)}}},
	}
	return before, after
}

// runProbes sends each probe as one pipeline and renders the replies, with the
// addresses in redirects replaced by their role.
func runProbes(ctx context.Context, probes []probe, clients map[string]*redis.Client, roles map[string]string) []string {
	var out []string
	for _, p := range probes {
		pipe := clients[p.node].Pipeline()
		var cmds []*redis.Cmd
		for _, c := range p.cmds {
			cmds = append(cmds, pipe.Do(ctx, c...))
		}
		_, _ = pipe.Exec(ctx)
		var rs []string
		for _, c := range cmds {
			if err := c.Err(); err != nil {
				s := err.Error()
				for addr, role := range roles {
					s = strings.ReplaceAll(s, addr, role)
				}
				rs = append(rs, "ERR "+s)
			} else {
				rs = append(rs, fmt.Sprint(c.Val()))
			}
		}
		out = append(out, fmt.Sprintf("%-40s %q", p.name, rs))
	}
	return out
}

func TestClusterAgainstRealCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const tag = "{spill:5}" // slot 7325
	before, after := clusterProbes(tag)
	ctx := context.Background()
	fill := func(c *redis.Client) {
		for i := range 4 {
			c.Set(ctx, fmt.Sprintf("%s:k%d", tag, i), "v", 0)
		}
		c.Set(ctx, tag+"#fence", "3", 0)
	}

	// The real cluster.
	addrs := redistest.StartCluster(t, 3)
	real := map[string]*redis.Client{}
	ids := map[string]string{}
	realRoles := map[string]string{}
	var srcAddr string
	for _, a := range addrs {
		c := redistest.Client(a)
		defer c.Close()
		if err := c.Get(ctx, tag).Err(); err == nil || !strings.HasPrefix(err.Error(), "MOVED") {
			srcAddr = a
		}
	}
	for _, a := range addrs {
		role := "other"
		switch {
		case a == srcAddr:
			role = "src"
		case real["dst"] == nil:
			role = "dst"
		}
		real[role] = redistest.Client(a)
		defer real[role].Close()
		ids[role] = real[role].ClusterMyID(ctx).Val()
		realRoles[a] = role
	}
	fill(real["src"])
	real["dst"].Do(ctx, "CLUSTER", "SETSLOT", 7325, "IMPORTING", ids["src"])
	real["src"].Do(ctx, "CLUSTER", "SETSLOT", 7325, "MIGRATING", ids["dst"])
	for a, role := range realRoles {
		if role == "dst" {
			host, port, _ := strings.Cut(a, ":")
			if err := real["src"].Do(ctx, "MIGRATE", host, port, "", 0, 5000, "KEYS", tag+":k2", tag+":k3").Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	realBefore := runProbes(ctx, before, real, realRoles)
	// Complete the migration as redis-cli does: the rest of the slot's keys, then
	// SETSLOT NODE on the target, the source and the other master.
	if rest := real["src"].ClusterGetKeysInSlot(ctx, 7325, 100).Val(); len(rest) > 0 {
		for a, role := range realRoles {
			if role == "dst" {
				host, port, _ := strings.Cut(a, ":")
				args := []any{"MIGRATE", host, port, "", 0, 5000, "KEYS"}
				for _, k := range rest {
					args = append(args, k)
				}
				if err := real["src"].Do(ctx, args...).Err(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, role := range []string{"dst", "src", "other"} {
		if err := real[role].Do(ctx, "CLUSTER", "SETSLOT", 7325, "NODE", ids["dst"]).Err(); err != nil {
			t.Fatalf("SETSLOT NODE on %s: %v", role, err)
		}
	}
	realAfter := runProbes(ctx, after, real, realRoles)

	// The simulated one: node 1 owns slot 7325, node 2 is the target.
	eng := engine.New(1)
	c, nodes := newCluster(t, eng, 3)
	sim := map[string]*redis.Client{"other": nodes[0].NewClient(1), "src": nodes[1].NewClient(1), "dst": nodes[2].NewClient(1)}
	simRoles := map[string]string{Addr(nodes[0]): "other", Addr(nodes[1]): "src", Addr(nodes[2]): "dst"}
	fill(sim["src"])
	r := &resharding{c: c, opt: ReshardOptions{Batch: 10, RTT: 100 * time.Microsecond, Cost: DefaultMigrateCost}}
	c.migrating[7325] = nodes[2]
	r.migrate(nodes[1], nodes[2], []string{tag + ":k2", tag + ":k3"})
	simBefore := runProbes(ctx, before, sim, simRoles)
	r.migrate(nodes[1], nodes[2], nodes[1].keysBySlot()[7325])
	r.own(slotMove{slot: 7325, from: nodes[1], to: nodes[2]})
	simAfter := runProbes(ctx, after, sim, simRoles)

	for i := range realBefore {
		t.Logf("real %s", realBefore[i])
		if simBefore[i] != realBefore[i] {
			t.Errorf("mid-migration differs:\nreal %s\nsim  %s", realBefore[i], simBefore[i])
		}
	}
	for i := range realAfter {
		t.Logf("real %s", realAfter[i])
		if simAfter[i] != realAfter[i] {
			t.Errorf("after the migration differs:\nreal %s\nsim  %s", realAfter[i], simAfter[i])
		}
	}
}

// TestRealClusterMigrateCost measures MIGRATE ... KEYS between two real cluster
// nodes: the source's usec per call (INFO commandstats migrate, which includes
// waiting for the target) and the target's per key (restore-asking), for values
// of 64, 1000 and 8000 bytes in batches of 10 and 100, and logs them beside
// DefaultMigrateCost's. A measurement, not a check (timings on a shared VM):
// run it with SPILLWAY_MEASURE_MIGRATE=1.
func TestRealClusterMigrateCost(t *testing.T) {
	if os.Getenv("SPILLWAY_MEASURE_MIGRATE") == "" {
		t.Skip("a measurement: set SPILLWAY_MEASURE_MIGRATE=1")
	}
	addrs := redistest.StartCluster(t, 3) // redis-cli --cluster create needs three masters
	ctx := context.Background()
	var cs []*redis.Client
	var ids []string
	for _, a := range addrs {
		c := redistest.Client(a)
		defer c.Close()
		cs = append(cs, c)
		ids = append(ids, c.ClusterMyID(ctx).Val())
	}
	stat := func(c *redis.Client, name string) (calls, usec float64) {
		for _, l := range strings.Split(c.Info(ctx, "commandstats").Val(), "\n") {
			if strings.HasPrefix(l, "cmdstat_"+name+":") {
				_, _ = fmt.Sscanf(strings.Split(strings.Split(l, "calls=")[1], ",")[0], "%g", &calls)
				_, _ = fmt.Sscanf(strings.Split(strings.Split(l, "usec=")[1], ",")[0], "%g", &usec)
			}
		}
		return calls, usec
	}
	for round, vsize := range []int{64, 1000, 8000} {
		tag := fmt.Sprintf("{spill:%d}", 10+round)
		slot := redistest.Slot(tag)
		src := 0
		for i, c := range cs {
			if err := c.Get(ctx, tag).Err(); err == nil || !strings.HasPrefix(err.Error(), "MOVED") {
				src = i
			}
		}
		dst := (src + 1) % len(cs)
		val := strings.Repeat("x", vsize)
		pipe := cs[src].Pipeline()
		for i := range 1200 {
			pipe.Set(ctx, fmt.Sprintf("%s:key-%06d", tag, i), val, time.Hour)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		cs[dst].Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", ids[src])
		cs[src].Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", ids[dst])
		host, port, _ := strings.Cut(addrs[dst], ":")
		for _, batch := range []int{10, 100} {
			cs[src].Do(ctx, "CONFIG", "RESETSTAT")
			cs[dst].Do(ctx, "CONFIG", "RESETSTAT")
			for moved := 0; moved < 500; {
				keys := cs[src].ClusterGetKeysInSlot(ctx, slot, batch).Val()
				args := []any{"MIGRATE", host, port, "", 0, 5000, "KEYS"}
				for _, k := range keys {
					args = append(args, k)
				}
				if err := cs[src].Do(ctx, args...).Err(); err != nil {
					t.Fatal(err)
				}
				moved += len(keys)
			}
			mc, mu := stat(cs[src], "migrate")
			rc, ru := stat(cs[dst], "restore-asking")
			srcPerKey := (mu - ru) / (mc * float64(batch)) // the source's own work per key, the target's excluded
			dstPerKey := ru / rc
			simSrc := float64(DefaultMigrateCost.SourcePerKey)/1e3 + DefaultMigrateCost.SourcePerByte*float64(vsize)/1e3
			simDst := float64(DefaultMigrateCost.TargetPerKey)/1e3 + DefaultMigrateCost.TargetPerByte*float64(vsize)/1e3
			t.Logf("value %5d B, batch %3d: migrate %.1f us/call; source %.2f us/key (model %.2f), target restore %.2f us/key (model %.2f)",
				vsize, batch, mu/mc, srcPerKey, simSrc, dstPerKey, simDst)
		}
	}
}
