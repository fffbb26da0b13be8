// Package redisnode is one simulated Redis node: an in-process miniredis, reached
// by go-redis clients over buffered in-memory connections, with a go-redis hook in
// front of it that sees every command and pipeline the real core sends.
//
// The hook is the observation seam (DESIGN.md): it charges modelled virtual time
// to the caller's Meter (RTT plus service time per op and per byte), ends a call
// whose virtual deadline has passed with context.DeadlineExceeded (the path a real
// deadline takes through the core), injects faults (a node that is down refuses
// connections), and keeps what miniredis does not: an expiry index in virtual time
// (miniredis's FastForward sorts every key; here due keys are deleted explicitly)
// and the node's counters.
//
// It must not read wall time or start work that outlives a call; everything it
// decides depends only on the commands' contents and the engine's clock, never on
// the order in which concurrent spill workers reach it.
//
//	n, _ := redisnode.New(eng, redisnode.Config{Name: "redis-0", RTT: 200 * time.Microsecond})
//	rdb := n.NewClient(8)                   // one pod's client
//	m := &redisnode.Meter{Budget: grace}    // virtual time of one pod action
//	rep, _ := store.SpillAll(redisnode.WithMeter(ctx, m))
//	took := m.Elapsed()                     // slowest spill worker's virtual time
package redisnode
