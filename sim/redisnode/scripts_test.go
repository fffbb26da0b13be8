package redisnode

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/spillway-sim/spillway/core"
	"github.com/spillway-sim/spillway/sim/engine"
)

// dumpKeys is every key of a node with its value and TTL.
func dumpKeys(n *Node) []string {
	mr := n.Miniredis()
	var out []string
	for _, k := range mr.Keys() {
		v, err := mr.Get(k)
		if err != nil {
			members, _ := mr.Members(k)
			slices.Sort(members)
			v = fmt.Sprint(members)
		}
		out = append(out, fmt.Sprintf("%s=%q ttl=%v", k, v, mr.TTL(k)))
	}
	return out
}

// TestNativeScriptsMatchLua: the same spills, claims and fenced zombie spill,
// with the core's scripts run by miniredis's Lua and natively, leave identical
// data, TTLs and reports.
func TestNativeScriptsMatchLua(t *testing.T) {
	run := func(lua bool) ([]string, []string) {
		eng := engine.New(1)
		n, err := New(eng, Config{Name: "r", RTT: time.Millisecond, RunLua: lua, OvercommitMemory: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		newStore := func(opts ...core.Opt) *core.Store[[]byte] {
			s, err := core.New[[]byte](n.NewClient(4), core.BytesCodec{}, append([]core.Opt{core.Namespace("spill"),
				core.WithClock(core.ClockFunc(eng.Time)), core.SpillBatch(7), core.SpillParallelism(3),
				core.Manifest(true), core.TTLFunc(func(p int32, k string) time.Duration {
					if k == "k003" {
						return core.Persist
					}
					return time.Duration(len(k)) * time.Minute
				})}, opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		var reports []string
		ctx := context.Background()
		zombie, owner := newStore(), newStore()
		zombie.Assigned(ctx, 3, 0, 1)
		for i := 0; i < 40; i++ {
			zombie.Put(int32(i%2), fmt.Sprintf("k%03d", i), []byte(fmt.Sprint("old-", i)))
		}
		rep, err := zombie.Spill(ctx, 0)
		reports = append(reports, fmt.Sprintf("spill %d %d %v", rep.Written, rep.NotWritten, err))
		err = owner.Assigned(ctx, 4, 1)
		reports = append(reports, fmt.Sprintf("claim %v", err))
		rep, err = zombie.Spill(ctx, 1)
		reports = append(reports, fmt.Sprintf("zombie %d %d %v", rep.Written, rep.Count(core.ReasonFenced), errors.Is(err, core.ErrFenced)))
		err = zombie.Assigned(ctx, 3, 1)
		reports = append(reports, fmt.Sprintf("stale claim %v", errors.Is(err, core.ErrFenced)))
		return dumpKeys(n), reports
	}
	luaData, luaRep := run(true)
	nativeData, nativeRep := run(false)
	if !slices.Equal(luaRep, nativeRep) {
		t.Fatalf("reports differ:\nlua    %v\nnative %v", luaRep, nativeRep)
	}
	if !slices.Equal(luaData, nativeData) {
		t.Fatalf("data differ:\nlua    %v\nnative %v", luaData, nativeData)
	}
	if len(luaData) < 20 || luaRep[2] != "zombie 0 20 true" {
		t.Fatalf("the test did not exercise the scripts: %v %v", luaRep, len(luaData))
	}
}
