// Package core is Spillway's state store for stateful stream consumers: per-key
// context kept in memory, partitioned as the log is, handed over through Redis when
// a partition moves or the process stops.
//
//   - Put/Get are local (a map lookup under a per-partition lock; no I/O, no allocation).
//   - Assigned claims partitions for the owner's consumer-group generation; every
//     write of a partition carries the generation it was claimed with, and a
//     zombie's write is refused by the partition's fence (fence.go).
//   - Revoked (partitions revoked) and SpillAll (SIGTERM) encode, compress (lz4 by
//     default) and write the context with a TTL in parallel batches, then drop
//     what Redis acknowledged in that exact version. The context's deadline is the
//     time the consumer has (rebalance timeout, termination grace). Revoked then
//     discards what it could not write (reported per key) and releases the
//     partitions; SpillAll and Spill keep it. Lost drops without writing.
//   - Restore brings a poll batch's missing keys back in one round trip (MGET per
//     partition) and, with SpillOnRevoke, takes them in a second (a script that
//     deletes only the bytes it read, only while no newer owner holds the
//     partition), discarding entries older than MaxAge. What it cannot decode it
//     leaves in Redis unless it is corrupt. Both round trips are safe to repeat.
//   - Strategies: SpillOnRevoke (default), MemoryOnly, WriteThrough, Checkpoint.
//     Sync writes what is due and counts an entry written only when Redis
//     acknowledged that exact version; in back-off it returns ErrSyncDeferred.
//
// The package talks to Redis only through a go-redis UniversalClient, so the same
// code runs against a single node, Sentinel, Redis Cluster, a client-side Ring or
// miniredis (the simulator). It reads time only through its Clock and never starts
// a goroutine that outlives a call. It must not import the simulator or any metrics
// library (adapters live in their own packages).
//
// # What it promises, and what it does not
//
//   - Nothing leaves memory that Redis did not acknowledge in that exact version,
//     except what Revoked discards and Lost drops (reported: SpillReport.Failures,
//     Discarded) — the partition is no longer this consumer's, and a copy kept
//     would be served stale if it came back.
//   - A value updated during a spill is reported (ReasonChanged) and kept.
//   - A zombie (an older generation) cannot overwrite a newer owner's context:
//     not in Spill, Revoked, SpillAll, Sync or a take. Not covered: a zombie with
//     the same generation (static membership), and a fence lost with the Redis
//     that held it (until the next claim).
//   - A master's acknowledgement is not durable: a failover can lose what its
//     replicas had not received. WaitReplicas makes the store wait for them.
//   - A restored value is never older than MaxAge; with take mode, a crashed
//     owner leaves nothing behind that the next owner could use as stale.
//
// # Redis keys, slots, commands
//
// Data: "{<ns>:<p>}:<key>", value = envelope (envelope.go). Per partition:
// "{<ns>:<p>}#fence" (generation fence) and "{<ns>:<p>}#keys" (manifest, with the
// Manifest option). keys.go owns the format. The hash tag is namespace and
// partition: one partition's keys share a Cluster slot (CRC16 of "<ns>:<p>" mod
// 16384) and a Ring shard, and partition p of two namespaces lands on different
// slots. The namespace is required: derive it from group and topic
// (GroupNamespace), so two groups on one Redis never fence each other out.
//
// Commands the store sends: SET (PX), GET, MGET, GETRANGE, WATCH, UNWATCH, MULTI,
// EXEC, EVALSHA and EVAL (two scripts: Scripts()), SCRIPT LOAD, SADD, SMEMBERS,
// PEXPIRE, DEL (manifests), WAIT (WaitReplicas), and on a Cluster CLUSTER SLOTS/
// SHARDS (go-redis's slot map). An ACL for a store of namespace "rates/metrics":
//
//	ACL SETUSER spill on >secret ~{rates/metrics:* +set +get +mget +getrange +watch +unwatch +unlink
//	    +multi +exec +evalsha +eval +script|load +sadd +smembers +pexpire +del +wait +ping +hello
//
// (On Redis 7.2 and later add +client|setinfo, which go-redis sends on connect
// unless DisableIdentity is set. TestDocACLIsEnough runs the store under exactly
// this ACL.)
//
// A fenced batch is a transaction on one connection of the partition's node:
// give the client a pool of at least SpillParallelism connections, and on a
// ClusterClient or Ring add hooks (tracing, metrics) to the node clients too
// (OnNewNode / NewClient): go-redis runs transactions on them.
//
// # Wiring into a consumer (franz-go)
//
// examples/franzgo is the reference: a real kgo consumer with this store, tested
// against kfake (an in-process Kafka with real group rebalances) for a scale-in, a
// crash and a zombie. In short:
//
//	store, err := core.New[Ctx](rdb, myCodec{},
//		core.Namespace(core.GroupNamespace("rates", "metrics")),
//		core.TTLFunc(func(p int32, k string) time.Duration { return 3 * intervalOf(k) }),
//		core.MaxAge(5*time.Minute), core.SpillParallelism(8))
//
//	cl, err := kgo.NewClient(
//		kgo.ConsumerGroup("rates"), kgo.ConsumeTopics("metrics"),
//		kgo.Balancers(kgo.CooperativeStickyBalancer()),
//		kgo.BlockRebalanceOnPoll(), // no revoke while a poll batch is applied; AllowRebalance after it
//		kgo.DisableAutoCommit(),
//		kgo.OnPartitionsAssigned(func(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
//			_, gen := cl.GroupMetadata() // the generation of this assignment
//			if err := store.Assigned(ctx, int64(gen), m["metrics"]...); errors.Is(err, core.ErrFenced) {
//				log.Print("zombie: ", err)
//			}
//		}),
//		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
//			ctx, cancel := context.WithTimeout(ctx, 4*time.Minute) // under the rebalance timeout
//			defer cancel()
//			rep, err := store.Revoked(ctx, m["metrics"]...) // spill, drop, release
//			logSpill(rep, err)                              // what was not written is listed, and lost
//			commitProcessed(ctx, cl, m["metrics"])          // then commit (not if rep says fenced)
//		}),
//		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
//			store.Lost(m["metrics"]...) // no write: a newer owner has them
//		}),
//	)
//
//	// Each poll: one batched lookup, one batched restore, process, commit, allow rebalance.
//	fetches := cl.PollRecords(ctx, 500)
//	store.GetBatch(refs, vals, found)         // a KeyRef per record
//	store.Restore(ctx, missing(refs, found)) // errors are logged, never fatal
//	// per record: v, ok := store.Get(p, key); ...; store.PutAt(p, key, v, r.Timestamp)
//	cl.CommitRecords(ctx, records...)
//	cl.AllowRebalance()
//
//	// SIGTERM: leave the group (the final revoke spills), then spill what is left
//	// inside the grace period, with a margin.
//	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second) // terminationGracePeriodSeconds 30
//	defer cancel()
//	cl.LeaveGroupContext(ctx)
//	rep, err := store.SpillAll(ctx)
//
// With sarama the same calls go in ConsumerGroupHandler: Setup (Assigned with the
// session's GenerationID), Cleanup (Revoked of the session's claims), ConsumeClaim
// (Restore/Get/Put).
//
// Set ContextTimeoutEnabled on the go-redis client so that the deadline also cuts
// a command in flight.
package core
