// Package redistest starts real redis-server processes for tests and benchmarks:
// a shared single node on a free loopback port, and Redis Clusters, with or without
// replicas (for failover tests: Kill a master, or Failover to its replica, and wait
// for the switch). Callers skip (with a message saying so) when the binaries are
// not on PATH; CI installs them. It must not be imported by non-test code.
//
//	func TestMain(m *testing.M) { code := m.Run(); redistest.Shutdown(); os.Exit(code) }
//	addr, ok := redistest.Shared(t) // ok false: redis-server missing, already logged
//
//	c := redistest.StartClusterWithReplicas(t, 3, 1) // 6 nodes, cluster-node-timeout 1 s
//	m, _ := c.MasterOf(ctx, "{spill:0}:k")
//	reps, _ := c.ReplicasOf(ctx, m)
//	c.Kill(m)                                   // or c.Failover(ctx, reps[0])
//	err := c.WaitMaster(ctx, reps[0], 15*time.Second)
package redistest
