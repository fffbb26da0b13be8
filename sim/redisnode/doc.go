// Package redisnode is one simulated Redis node: an in-process miniredis, reached
// by go-redis clients over buffered in-memory connections, with a go-redis hook in
// front of it that sees every command and pipeline the real core sends, and the
// models of what miniredis does not do, calibrated against a real redis-server
// (package sim/calibration):
//
//   - memory.go: used_memory per key (jemalloc size classes, dict tables) and RSS;
//   - evict.go: maxmemory and every maxmemory-policy, Redis's sampled LRU/LFU pool;
//   - fork.go, cow.go: save points, BGSAVE, AOF rewrites, the fork stall,
//     page-level copy-on-write, the OOM killer, fork failures, MISCONF, restarts;
//   - latency.go: RTT + service time on a single-threaded server that queues;
//   - expiry.go: expiry in virtual time from the node's own index;
//   - ring.go: several nodes behind go-redis's client-side consistent hashing;
//   - hook.go: the seam — admission (down, LOADING, MISCONF, OOM), the virtual-time
//     charge to the caller's Meter (meter.go), the deadline cut.
//
// It must not read wall time or start work that outlives a call; everything it
// decides depends only on the commands' contents, the engine's clock and the
// node's seeded generator, never on the order in which concurrent spill workers
// reach it: admission uses state settled before the action, and the effects of an
// action's calls are applied in virtual-time order when the node settles (see
// Node). It does not import the scenario schema: the simulator maps scenario fields
// onto Config.
//
//	n, _ := redisnode.New(eng, redisnode.Config{Name: "redis-0", MaxMemory: 1 << 30,
//		Policy: redisnode.AllKeysLRU, SystemMemory: 8 << 30, RDBSave: []string{"900 1"},
//		Rand: eng.NewRand()})
//	n.OnRemove(func(key string, why redisnode.Removal) { /* expired, evicted, lost */ })
//	rdb := n.NewClient(9)                                   // one pod: 8 spill workers + 1
//	m := &redisnode.Meter{Budget: grace, Start: cursor}     // virtual time of one pod action
//	rep, _ := store.SpillAll(redisnode.WithMeter(ctx, m))
//	took := m.Elapsed()                                     // slowest spill worker's virtual time
//	n.Advance()                                             // every tick: expiry, saves, callbacks
//	mem := n.Memory()                                       // used, RSS, COW, peaks, kills
package redisnode
