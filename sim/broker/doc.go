// Package broker is the simulator's fake Kafka: one topic as a partitioned
// log with absolute offsets and retention (Log), and one consumer group with
// Kafka's membership and rebalance protocols (Group) running on the engine's
// virtual clock.
//
// It owns: records, offsets, high watermarks and trimming; committed offsets
// and the coordinator's commit checks; group membership (dynamic and static,
// KIP-345), session and rebalance timeouts (KIP-62), the initial rebalance
// delay (KIP-134), eager rebalances (range, round-robin, sticky) and the
// two-round cooperative rebalance (KIP-429), with assignments computed by
// franz-go's exported balancers — the code real Go consumers run.
//
// It must not: read wall time or global randomness (it uses no randomness at
// all), let map order decide anything (members are iterated sorted by ID),
// interpret records, or know about pods, spills or Redis. Members are the
// fleet's business: the group only calls the Member interface and waits for
// the done of each Revoke. Every protocol-step file (log.go, join.go, sync.go,
// session.go, leave.go, commit.go, member.go, assign.go) opens with a
// "Behavior:" comment saying what it models, what it does not, and the source.
//
// Usage:
//
//	eng := engine.New(seed)
//	log, _ := broker.NewLog(24)
//	cfg := broker.DefaultGroupConfig()
//	cfg.Assignor = broker.AssignorCooperativeSticky
//	g, _ := broker.NewGroup(eng, cfg, log)
//	g.OnRebalance(func(ev broker.RebalanceEvent) { fmt.Println(ev) })
//	_ = g.Join("pod-0#1", "pod-0", pod0) // pod0 implements broker.Member
//	eng.RunUntil(time.Minute)            // pod0.Assign(1, [0..23], [0..23]) at 6s
//	log.Append(3, broker.Record{Key: 7, Seq: 1, At: eng.Now()})
//	recs := log.Fetch(3, g.Committed(3), 500)
//	_ = g.Commit("pod-0#1", g.Generation(), 3, g.Committed(3)+int64(len(recs)))
//	_ = g.Stop("pod-0#1")                // SIGKILL: removed 45s later
package broker
