// Package core is Spillway's state store for stateful stream consumers: per-key
// context kept in memory, partitioned as the log is, handed over through Redis when
// a partition moves or the process stops.
//
//   - Put/Get are local (a map lookup under a per-partition lock; no I/O, no allocation).
//   - Spill (partitions revoked) and SpillAll (SIGTERM) encode, compress (lz4 by
//     default) and write the context with a TTL, in parallel pipelines or fenced
//     script calls, then drop what Redis acknowledged. The context's deadline is the
//     time the consumer has (rebalance timeout, termination grace); what does not
//     fit is reported per key and kept in memory.
//   - Restore brings a poll batch's missing keys back in one round trip (MGET per
//     partition) and deletes what it took in a second (UNLINK; none with
//     KeepOnRestore), discarding entries older than MaxAge and bytes that do not
//     decode. Both commands are safe to repeat, so a lost reply never loses a key.
//   - Assigned claims partitions for the owner's consumer-group generation, so a
//     zombie owner's late spill is refused (see fence.go).
//   - Strategies: SpillOnRevoke (default), MemoryOnly, WriteThrough, Checkpoint.
//
// The package talks to Redis only through a go-redis UniversalClient, so the same
// code runs against a single node, Sentinel, Redis Cluster, a client-side Ring or
// miniredis (the simulator). It reads time only through its Clock and never starts
// a goroutine that outlives a call. It must not import the simulator or any metrics
// library (adapters live in their own packages).
//
// # Redis keys
//
// Data: "<ns>:{<partition>}:<key>", value = envelope (envelope.go). Per partition:
// "<ns>:{<partition>}#fence" (generation fence) and "<ns>:{<partition>}#keys"
// (manifest, with the Manifest option). The hash tag keeps a partition in one
// Cluster slot (and on one Ring shard).
//
// # Wiring into a consumer (franz-go)
//
//	store, err := core.New[Ctx](rdb, myCodec{},
//		core.Namespace("rates"), core.TTLFunc(func(p int32, k string) time.Duration { return 3 * intervalOf(k) }),
//		core.MaxAge(5*time.Minute), core.SpillParallelism(8))
//
//	cl, err := kgo.NewClient(
//		kgo.ConsumerGroup("rates"), kgo.ConsumeTopics("metrics"),
//		kgo.Balancers(kgo.CooperativeStickyBalancer()),
//		kgo.OnPartitionsAssigned(func(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
//			gen := generationOf(cl) // e.g. from kgo.Client.GroupMetadata()
//			if err := store.Assigned(ctx, int64(gen), m["metrics"]...); errors.Is(err, core.ErrFenced) {
//				log.Print("zombie: ", err)
//			}
//		}),
//		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
//			ctx, cancel := context.WithTimeout(ctx, 4*time.Minute) // under max.poll.interval.ms
//			defer cancel()
//			rep, err := store.Spill(ctx, m["metrics"]...)
//			logSpill(rep, err)                 // keys not written stay listed in rep.Failures
//			cl.CommitMarkedOffsets(ctx)        // commit after the spill
//		}),
//		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
//			store.Drop(m["metrics"]...) // no chance to spill: a newer owner has them
//		}),
//	)
//
//	// Processing loop: one batched lookup and one batched restore per poll.
//	fetches := cl.PollFetches(ctx)
//	refs := keysOf(fetches)                       // a KeyRef per record
//	store.GetBatch(refs, vals, found)             // one lock per partition for the whole batch
//	store.Restore(ctx, missing(refs, found))      // errors are logged, never fatal
//	fetches.EachRecord(func(r *kgo.Record) { v, ok := store.Get(r.Partition, string(r.Key)); ... store.Put(...) })
//	store.Sync(ctx)                               // write-through / checkpoint strategies
//
//	// SIGTERM: spill everything inside the grace period, with a margin.
//	sig := make(chan os.Signal, 1)
//	signal.Notify(sig, syscall.SIGTERM)
//	<-sig
//	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second) // terminationGracePeriodSeconds 30
//	defer cancel()
//	rep, err := store.SpillAll(ctx)
//
// With sarama the same calls go in ConsumerGroupHandler: Setup (Assigned with the
// session's GenerationID), Cleanup (Spill of the session's claims), ConsumeClaim
// (Restore/Get/Put).
//
// Set ContextTimeoutEnabled on the go-redis client so that the deadline also cuts
// a command in flight.
package core
