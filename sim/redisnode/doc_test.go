package redisnode_test

import (
	"context"
	"fmt"
	"time"

	"github.com/spillway-sim/spillway/sim/engine"
	"github.com/spillway-sim/spillway/sim/redisnode"
)

func Example() {
	eng := engine.New(1)
	n, err := redisnode.New(eng, redisnode.Config{Name: "redis-0", MaxMemory: 64 << 20,
		Policy: redisnode.AllKeysLRU, Rand: eng.NewRand()})
	if err != nil {
		panic(err)
	}
	defer n.Close()
	n.OnRemove(func(key string, why redisnode.Removal) { fmt.Println(why, key) })

	rdb := n.NewClient(1)
	m := &redisnode.Meter{Start: eng.Now()}
	rdb.Set(redisnode.WithMeter(context.Background(), m), "{spill:0}:dp:1", "context", time.Minute)
	ms := n.Memory()
	fmt.Println(ms.Keys, ms.VolatileKeys, m.Calls(), m.Elapsed() > 0)

	eng.RunUntil(2 * time.Minute)
	n.Advance()
	fmt.Println(n.Keys())
	// Output:
	// 1 1 1 true
	// expired {spill:0}:dp:1
	// 0
}
