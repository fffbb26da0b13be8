// Package franzgo is the reference wiring of Spillway's core store into a
// franz-go (kgo) consumer-group consumer: a small, real consumer of counter
// samples (key = series, value = the counter) that keeps per series the last
// sample it applied (Last: value and offset) to compute each sample's delta.
//
//	c, err := franzgo.New(franzgo.Config{
//		Brokers: brokers, Group: "rates", Topic: "samples", Redis: rdb,
//		ClientOpts: []kgo.Opt{kgo.SessionTimeout(45 * time.Second), kgo.RebalanceTimeout(60 * time.Second)},
//		HandoffTimeout: 30 * time.Second, // under the rebalance timeout
//	})
//	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
//	c.Run(ctx) // returns at SIGTERM, between two polls
//	stop()
//	grace, cancel := context.WithTimeout(context.Background(), 25*time.Second) // terminationGracePeriodSeconds 30
//	defer cancel()
//	c.Close(grace) // leave the group: the revoke spills everything, then commits
//
// # The wiring (consumer.go)
//
// Store: core.New[Last](rdb, LastCodec{}, core.Namespace(core.GroupNamespace(group, topic))).
// Client: kgo.ConsumerGroup, kgo.ConsumeTopics, kgo.Balancers(kgo.CooperativeStickyBalancer()),
// kgo.BlockRebalanceOnPoll, kgo.DisableAutoCommit, and the three callbacks:
//
//	OnPartitionsAssigned: _, gen := cl.GroupMetadata()
//	                      store.Assigned(ctx, int64(gen), parts...)  // claim: raise the fences before processing
//	OnPartitionsRevoked:  rep, err := store.Revoked(ctx, parts...)   // spill, drop, release
//	                      commit the processed offsets of parts, except those rep says were fenced
//	OnPartitionsLost:     store.Lost(parts...)                       // drop unwritten: a newer owner has them
//
// Each poll (Run): PollRecords; one GetBatch for the batch's keys; one Restore
// of the misses (never fatal: what it cannot bring back is a miss); then each
// record in order: Get, compute, PutAt (as of the record's timestamp); then one
// synchronous commit of the batch's offsets; then AllowRebalance. Shutdown
// (Close): stop Run, leave the group (its final revoke spills and commits
// everything), SpillAll whatever is still held, close the client.
//
// # Why each piece is there
//
//   - BlockRebalanceOnPoll: no callback runs while a batch is being applied, so a
//     revoke spills exactly what was processed, and the commit that follows
//     names exactly the records the spilled context reflects. Without it a
//     revoke could spill between a record's Put and its commit, or a commit
//     could land after the revoke: the next owner would re-read records the
//     context already contains. Run calls AllowRebalance after every poll, and
//     MaxPollRecords bounds how long a rebalance waits for it.
//   - Spill, then commit. Committed offsets tell the next owner where to start;
//     the context in Redis must already reflect everything before them. A
//     partition is committed even when some of its entries could not be written
//     (they are lost, not stale: the next owner starts them afresh).
//   - The generation is read from GroupMetadata in OnPartitionsAssigned, where
//     it is the generation of the assignment being claimed, and the store writes
//     each partition under the generation it was claimed with. Never refresh it
//     at revoke time: an evicted member rejoins with a new member ID and a newer
//     generation before kgo calls its revoke, and that generation would pass the
//     fences its successors raised.
//   - A fenced revoke is not committed. kgo (v1.22) does not call
//     OnPartitionsLost for a member evicted while its revoke callback ran past
//     the rebalance timeout: the UNKNOWN_MEMBER_ID its heartbeats get meanwhile
//     is overwritten by the rejoin the revoke asks for, JoinGroup answers
//     UNKNOWN_MEMBER_ID, the client joins again as a new member and calls
//     OnPartitionsRevoked for the rest of its old partitions, from the new
//     session. The store refuses those spills (the new owners raised the
//     fences), and a commit from the new session would be accepted by the
//     broker and rewind the new owners' offsets. TestFranzGoZombie/late-revoke
//     runs exactly this.
//   - The batch commit is skipped when the member ID changed since the poll, for
//     the same reason: the records belong to a session that is over.
//   - Manual commits, not AutoCommitMarks: an autocommit can fire from the new
//     session too, and cannot be told which partitions to leave out.
//   - The context carries its record's offset, so a replay (records re-read from
//     an older committed offset than the context's) is detected and skipped
//     instead of counted twice (Result.Replayed). The tests assert it never
//     happens with this wiring; it is the guard for commits lost after a spill.
//
// # What the tests prove (consumer_test.go, against kfake and Redis)
//
//   - TestFranzGoScaleIn: a graceful scale-in loses nothing, uses nothing stale,
//     processes nothing twice; every series of the closed member's partitions is
//     restored from Redis exactly once.
//   - TestFranzGoCrash: a member that dies without a revoke loses exactly the
//     series that lived only in its memory; the ones still in Redis from an
//     earlier handoff are restored.
//   - TestFranzGoZombie: a member frozen past its session timeout drops its
//     partitions unwritten when it thaws (OnPartitionsLost); a member whose
//     revoke reaches Redis after the group evicted it is refused by the fence,
//     commits nothing, and rejoins cleanly. No one ever uses a stale context.
package franzgo
