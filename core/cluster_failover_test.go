package core

// Behavior: a Redis Cluster master (3 masters, 1 replica each, real redis-server
// processes) fails over while the store spills or restores across partitions.
//
// Two failovers, both against real processes:
//   - graceful: CLUSTER FAILOVER on the master's replica. The master stops
//     accepting writes, the replica waits to reach the master's replication offset,
//     then takes over; commands the old master held back are answered with MOVED
//     once it is a replica, and go-redis follows MOVED to the new master. "No data
//     is lost" (CLUSTER FAILOVER command documentation), so every key the store
//     reports written must be readable after it.
//   - kill: SIGKILL of the master. After cluster-node-timeout the others flag it
//     PFAIL, then FAIL, and its replica is elected (Redis Cluster specification,
//     "Replica election and promotion"). Replication is asynchronous: "Redis
//     Cluster is not able to guarantee strong consistency ... the cluster can lose
//     writes that were acknowledged by the system to the client" (specification,
//     "Write safety"), so a write the killed master acknowledged but had not yet sent
//     to its replica is lost: the test allows it only for keys that master
//     acknowledged before it was killed, and requires every other acknowledged
//     write. The same holds for restores: an UNLINK the killed master executed
//     may not reach the replica, and the key comes back (a copy of an entry
//     already restored, left to its TTL).
//
// After a kill, go-redis keeps sending the dead master's slots to its address
// (it reloads its slot map on MOVED, ASK and READONLY, not on connection errors:
// redis/go-redis#3979); the store reloads the map itself after a failed spill
// batch or restore (core/cluster.go refreshTopology), so the tests do nothing
// for the client: the store's own retries and next calls reach the new master.
//
// Not modelled: network partitions (a master cut off but alive keeps accepting
// writes for node-timeout: more lost writes of the same kind), replica migration,
// several failures at once.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillway-sim/spillway/internal/redistest"
)

// failoverCases are run in this order on one cluster: the graceful failover
// leaves 3 masters with a replica each, which the kill then needs.
var failoverCases = []struct {
	name string
	kill bool
}{
	{name: "graceful"},
	{name: "kill", kill: true},
}

// failoverRig is a cluster, a cluster client, and a fault to trigger once.
type failoverRig struct {
	t        *testing.T
	c        *redistest.Cluster
	rdb      *redis.ClusterClient
	kill     bool
	victim   string          // the master that fails over
	heir     string          // its replica
	onVictim map[int32]bool  // partitions whose slot the victim serves
	fired    atomic.Bool     // the fault has been triggered
	done     atomic.Bool     // the fault has happened: the victim is dead or was asked to fail over
	mu       sync.Mutex      // guards acked
	acked    map[string]bool // data keys the victim acknowledged (written or taken) before the fault
	fault    time.Time
	moved    atomic.Int64 // MOVED replies the node clients saw
}

func newFailoverRig(t *testing.T, c *redistest.Cluster, kill bool, parts int32) *failoverRig {
	t.Helper()
	ctx := context.Background()
	r := &failoverRig{t: t, c: c, kill: kill, onVictim: map[int32]bool{}, acked: map[string]bool{}}
	if err := c.WaitHealthy(3, 1, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	masters, err := c.Masters(ctx)
	if err != nil || len(masters) != 3 {
		t.Fatalf("masters %v, %v", masters, err)
	}
	for _, m := range masters {
		cl := redistest.Client(m)
		if err := cl.FlushAll(ctx).Err(); err != nil {
			t.Fatalf("FLUSHALL %s: %v", m, err)
		}
		cl.Close()
	}
	// The victim serves the last partition: spills reach it after the fault. With
	// redis-cli's slot split it serves partitions 3, 7, 10 and 11 (slots 1584, 1716,
	// 247, 4310): some before the fault, some after.
	if r.victim, err = c.MasterOf(ctx, fmt.Sprintf("{spill:%d}:", parts-1)); err != nil {
		t.Fatal(err)
	}
	reps, err := c.ReplicasOf(ctx, r.victim)
	if err != nil || len(reps) != 1 {
		t.Fatalf("replicas of %s: %v, %v", r.victim, reps, err)
	}
	r.heir = reps[0]
	others := 0
	for p := range parts {
		m, err := c.MasterOf(ctx, fmt.Sprintf("{spill:%d}:", p))
		if err != nil {
			t.Fatal(err)
		}
		r.onVictim[p] = m == r.victim
		if m != r.victim {
			others++
		}
	}
	if others == 0 || others == int(parts) {
		t.Fatalf("%d of %d partitions off the victim: the test does not cross nodes", others, parts)
	}
	// One dial attempt per connection (go-redis default: 5, 100 ms apart), so that
	// each command to the dead master fails in milliseconds, not half a second.
	r.rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), DisableIdentity: true,
		MaintNotificationsConfig: noMaint, DialTimeout: 250 * time.Millisecond, DialerRetries: 1})
	t.Cleanup(func() { r.rdb.Close() })
	isMoved := func(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "MOVED ") }
	r.rdb.OnNewNode(func(nc *redis.Client) {
		nc.AddHook(hookFunc{
			process: func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
				err := next(ctx, cmd)
				if isMoved(err) {
					r.moved.Add(1)
				}
				return err
			},
			pipeline: func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
				err := next(ctx, cmds)
				for _, cmd := range cmds {
					if isMoved(cmd.Err()) {
						r.moved.Add(1)
					}
				}
				return err
			},
		})
	})
	return r
}

// trigger fails the victim over, once.
func (r *failoverRig) trigger() {
	if r.fired.Swap(true) {
		return
	}
	defer r.done.Store(true)
	r.fault = time.Now()
	if r.kill {
		r.c.Kill(r.victim)
		return
	}
	if err := r.c.Failover(context.Background(), r.heir); err != nil {
		r.t.Errorf("CLUSTER FAILOVER on %s: %v", r.heir, err)
	}
}

// ack records the data keys of a command acknowledged by the victim's slots'
// server: the victim itself when the command was sent before the fault had
// happened (sentAfter false), the replica that took over otherwise.
func (r *failoverRig) ack(keys []string, sentAfter bool) {
	if sentAfter {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range keys {
		if p, ok := partitionOf(k); ok && r.onVictim[p] {
			r.acked[k] = true
		}
	}
}

// waitFailover waits until the replica serves the victim's slots and every live
// node agrees, and returns the time since the fault.
func (r *failoverRig) waitFailover() time.Duration {
	r.t.Helper()
	if err := r.c.WaitMaster(context.Background(), r.heir, 15*time.Second); err != nil {
		r.t.Fatal(err)
	}
	return time.Since(r.fault)
}

// partitionOf parses the partition of "{spill:p}:key".
func partitionOf(k string) (int32, bool) {
	kp, ok := ParseRedisKey(k)
	return kp.Partition, ok && kp.Meta == ""
}

// inRedis reports which refs' data keys exist, through the cluster client.
func inRedis(t *testing.T, rdb *redis.ClusterClient, refs []KeyRef) map[KeyRef]bool {
	t.Helper()
	ctx := context.Background()
	cmds := make([]*redis.IntCmd, len(refs))
	if _, err := rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, r := range refs {
			cmds[i] = pipe.Exists(ctx, fmt.Sprintf("{spill:%d}:%s", r.Partition, r.Key))
		}
		return nil
	}); err != nil {
		t.Fatalf("EXISTS after failover: %v", err)
	}
	out := map[KeyRef]bool{}
	for i, r := range refs {
		if cmds[i].Val() == 1 {
			out[r] = true
		}
	}
	return out
}

func fillParts(s *Store[[]byte], parts int32, perPart int) []KeyRef {
	var refs []KeyRef
	for p := range parts {
		for _, k := range fill(s, p, perPart, ctxValue) {
			refs = append(refs, KeyRef{p, k})
		}
	}
	return refs
}

func allParts(n int32) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(i)
	}
	return out
}

// TestClusterFailoverDuringSpill: a master fails over in the middle of a spill of
// 12 partitions over 3 masters. The report accounts for every key, the keys not
// written stay in memory, the written ones are readable after the failover (but
// for writes the killed master acknowledged before it died and may not have
// replicated), and a second spill after the failover writes the rest: after a
// kill, its first attempt at the dead master's partitions fails, the store reloads
// the slot map, and its retry reaches the new master.
func TestClusterFailoverDuringSpill(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	c := redistest.StartClusterWithReplicas(t, 3, 1)
	const parts, perPart = int32(12), 200
	const total = int(parts) * perPart
	for _, tc := range failoverCases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			r := newFailoverRig(t, c, tc.kill, parts)
			var batches atomic.Int64
			// A fenced batch is a transaction on the partition's master's own client,
			// so the hook goes on every node client.
			r.rdb.OnNewNode(func(nc *redis.Client) {
				nc.AddHook(hookFunc{pipeline: func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
					if _, ok := SpillWorker(ctx); !ok || !isTx(cmds) {
						return next(ctx, cmds)
					}
					if n := batches.Add(1); n == 24 { // 24 of 48 batches: partitions 0-5 are written
						r.trigger()
					} else if n > 24 {
						time.Sleep(pace) // a spill of bigger values: it outlasts the failover
					}
					after := r.done.Load()
					err := next(ctx, cmds)
					if err == nil {
						r.ack(setKeys(cmds), after)
					}
					return err
				}})
			})
			s, _ := newStore(t, r.rdb, WithClock(SystemClock{}), SpillBatch(50), SpillParallelism(2), Retries(3, 100*time.Millisecond))
			refs := fillParts(s, parts, perPart)
			if err := s.Assigned(ctx, 7, allParts(parts)...); err != nil {
				t.Fatal(err)
			}
			sctx, cancel := context.WithTimeout(ctx, 4*time.Second) // the rebalance deadline
			start := time.Now()
			rep, err := s.Spill(sctx, allParts(parts)...)
			cancel()
			t.Logf("spill: %v, written %d, not written %d %v, batches %d, %d MOVED, err %v",
				time.Since(start).Round(time.Millisecond), rep.Written, rep.NotWritten, reasons(rep), rep.Batches, r.moved.Load(), err)
			if !r.fired.Load() {
				t.Fatal("the failover was never triggered")
			}
			if rep.Keys != total || rep.Written+rep.NotWritten != total || (err == nil) != (rep.NotWritten == 0) {
				t.Fatalf("report: keys %d, written %d, not written %d, err %v", rep.Keys, rep.Written, rep.NotWritten, err)
			}
			if !tc.kill && r.moved.Load() == 0 {
				t.Fatal("no MOVED reply: the spill did not cross the failover")
			}
			if !tc.kill && rep.NotWritten != 0 {
				t.Fatalf("graceful failover: %d not written (%v): MOVED should carry every write to the new master",
					rep.NotWritten, reasons(rep))
			}
			// The keys not written, and only they, stay in memory. A key of a healthy
			// master fails only for the deadline or while the cluster is down: from the
			// moment the killed master is flagged FAIL until its replica takes over, every
			// node refuses every key with CLUSTERDOWN (cluster-require-full-coverage yes,
			// the default: redis.conf, "By default Redis Cluster nodes stop accepting
			// queries if they detect there is at least a hash slot uncovered").
			kept := map[KeyRef]bool{}
			for _, f := range rep.Failures {
				kept[KeyRef{f.Partition, f.Key}] = true
				switch {
				case f.Reason == ReasonDeadline:
				case r.onVictim[f.Partition] && (f.Reason == ReasonUnavailable || f.Reason == ReasonTimeout):
				case f.Reason == ReasonUnavailable && strings.Contains(f.Err.Error(), "CLUSTERDOWN"):
				default:
					t.Fatalf("%s of partition %d (on the victim: %v) not written: %v (%v)",
						f.Key, f.Partition, r.onVictim[f.Partition], f.Reason, f.Err)
				}
			}
			if s.Len() != len(kept) {
				t.Fatalf("%d entries in memory, want the %d not written", s.Len(), len(kept))
			}
			for _, ref := range refs {
				if _, ok := s.Get(ref.Partition, ref.Key); ok != kept[ref] {
					t.Fatalf("%v: in memory %v, reported not written %v", ref, ok, kept[ref])
				}
			}

			t.Logf("failover complete %v after the fault", r.waitFailover().Round(time.Millisecond))
			// A second spill after the failover writes the rest, through the store's
			// own slot-map reload and retries.
			sctx, cancel = context.WithTimeout(ctx, 4*time.Second)
			start = time.Now()
			rep2, err := s.Spill(sctx, allParts(parts)...)
			cancel()
			t.Logf("second spill: %v, written %d, not written %d %v", time.Since(start).Round(time.Millisecond),
				rep2.Written, rep2.NotWritten, reasons(rep2))
			if err != nil || rep2.Written != rep.NotWritten || s.Len() != 0 {
				t.Fatalf("second spill after the failover: written %d of %d, %d left in memory, err %v",
					rep2.Written, rep.NotWritten, s.Len(), err)
			}

			// Everything is readable, with its value, but for writes the killed master
			// acknowledged before it died (graceful: nothing may be missing).
			check, _ := newStore(t, r.rdb, KeepOnRestore(true), Fencing(false)) // a reader, not an owner
			rr, err := check.Restore(ctx, refs)
			if err != nil || rr.Failed+rr.Corrupt+rr.Stale != 0 {
				t.Fatalf("reading back: %+v, %v", rr, err)
			}
			checkRestored(t, check, refs, rr)
			lost := 0
			for i, ref := range refs {
				if rr.Outcomes[i] != OutcomeMissing {
					continue
				}
				lost++
				key := fmt.Sprintf("{spill:%d}:%s", ref.Partition, ref.Key)
				if !tc.kill || !r.acked[key] {
					t.Fatalf("%s reported written is missing, and no failover rule allows it (killed %v, acknowledged before the kill %v)",
						key, tc.kill, r.acked[key])
				}
			}
			t.Logf("%d of %d writes the killed master acknowledged before the kill were lost", lost, len(r.acked))
		})
	}
}

// TestClusterFailoverDuringRestore: a master fails over while a new owner restores
// 12 partitions poll batch by poll batch (take mode, the default). Every key of a
// batch is restored or reported failed (never missing), restored values are right,
// a retry after the failover restores the rest, and no key is taken twice: the
// union is the spilled set. After a kill, the first retry may still go to the dead
// master (the slot map the store last reloaded predates the failover); that
// failure makes the store reload it, and the next retry restores everything.
// After a graceful failover nothing is left in Redis; after a kill, keys the
// killed master UNLINKed before it died may reappear, and keys whose UNLINK failed
// (counted in RestoreReport.Undeleted) stay until their TTL.
func TestClusterFailoverDuringRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	c := redistest.StartClusterWithReplicas(t, 3, 1)
	const parts, perPart, polls = int32(12), 120, 12
	const total = int(parts) * perPart
	for _, tc := range failoverCases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			r := newFailoverRig(t, c, tc.kill, parts)
			s1, _ := newStore(t, r.rdb)
			refs := fillParts(s1, parts, perPart)
			if rep, err := s1.SpillAll(ctx); err != nil || rep.Written != total {
				t.Fatalf("spill before the failover: %+v, %v", rep, err)
			}
			var reads atomic.Int64 // restore read pipelines
			var mu sync.Mutex
			undeleted := map[string]bool{} // data keys whose UNLINK failed
			r.rdb.AddHook(hookFunc{pipeline: func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
				read, del := isRestorePipe(cmds), isDeletePipe(cmds)
				if !read && !del {
					return next(ctx, cmds)
				}
				if read && reads.Add(1) == 4 { // the fourth of 12 poll batches
					r.trigger()
				}
				after := r.done.Load()
				err := next(ctx, cmds)
				if del {
					var deleted []string
					mu.Lock()
					for _, cmd := range cmds {
						if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
							continue // not run: the store sends it again as EVAL (a promoted replica has no script cache)
						}
						for _, k := range takeKeys(cmd) {
							if cmd.Err() == nil {
								deleted = append(deleted, k)
							} else {
								undeleted[k] = true
							}
						}
					}
					mu.Unlock()
					r.ack(deleted, after)
				}
				return err
			}})

			// Poll batches: each takes perPart/polls keys of every partition. The
			// store reads the wall clock: it rate-limits its slot-map reloads by it.
			s2, _ := newStore(t, r.rdb, WithClock(SystemClock{}))
			got := map[KeyRef]Outcome{}
			var failed []KeyRef
			healthyFailed, undeletedKeys := 0, 0 // healthy masters fail only while the cluster is down (CLUSTERDOWN)
			start := time.Now()
			for j := range polls {
				var batch []KeyRef
				for _, ref := range refs {
					if n, _ := strconv.Atoi(ref.Key[len("dp:"):]); n%polls == j {
						batch = append(batch, ref)
					}
				}
				if j > 0 {
					time.Sleep(pace) // the consumer processes the previous poll
				}
				rep, err := s2.Restore(ctx, batch)
				if rep.Restored+rep.Failed != len(batch) || rep.Missing+rep.Corrupt+rep.Stale != 0 ||
					(err != nil) != (rep.Failed+rep.Undeleted > 0) {
					t.Fatalf("poll %d: %+v of %d, err %v: want every key restored or failed, an error iff a failure",
						j, rep, len(batch), err)
				}
				checkRestored(t, s2, batch, rep)
				undeletedKeys += rep.Undeleted
				for i, ref := range batch {
					got[ref] = rep.Outcomes[i]
					if rep.Outcomes[i] == OutcomeFailed {
						failed = append(failed, ref)
						if !r.onVictim[ref.Partition] {
							healthyFailed++
						}
					}
				}
			}
			t.Logf("%d polls in %v: %d failed (%d of healthy masters), %d undeleted, %d MOVED", polls,
				time.Since(start).Round(time.Millisecond), len(failed), healthyFailed, undeletedKeys, r.moved.Load())
			if !tc.kill && r.moved.Load() == 0 {
				t.Fatal("no MOVED reply: the restore did not cross the failover")
			}
			if !tc.kill && len(failed)+undeletedKeys > 0 {
				t.Fatalf("graceful failover: %d keys failed, %d undeleted: MOVED should carry every MGET and UNLINK "+
					"to the new master", len(failed), undeletedKeys)
			}
			if tc.kill && len(failed) == 0 {
				t.Fatal("kill: no key failed: the restore did not cross the failover")
			}
			if len(got) != total {
				t.Fatalf("%d keys asked for, want %d", len(got), total)
			}
			if undeletedKeys != len(undeleted) {
				t.Fatalf("reports count %d undeleted keys, %d UNLINKs of keys failed", undeletedKeys, len(undeleted))
			}

			t.Logf("failover complete %v after the fault", r.waitFailover().Round(time.Millisecond))
			// The retries after the failover restore every key that failed: the first
			// fails at most the dead master's keys (and reloads the slot map), the
			// second none.
			again := failed
			for attempt := 1; len(again) > 0; attempt++ {
				rep, err := s2.Restore(ctx, again)
				t.Logf("retry %d after the failover: restored %d of %d, failed %d, undeleted %d, err %v",
					attempt, rep.Restored, len(again), rep.Failed, rep.Undeleted, err)
				if rep.Restored+rep.Failed != len(again) || (err != nil) != (rep.Failed+rep.Undeleted > 0) {
					t.Fatalf("retry %d after the failover: %+v of %d, err %v", attempt, rep, len(again), err)
				}
				checkRestored(t, s2, again, rep)
				undeletedKeys += rep.Undeleted
				var next []KeyRef
				for i, ref := range again {
					if rep.Outcomes[i] != OutcomeFailed {
						continue
					}
					if attempt > 1 || !tc.kill || !r.onVictim[ref.Partition] {
						t.Fatalf("retry %d after the failover: %v (partition on the victim %v) failed: the store "+
							"should have reloaded the slot map", attempt, ref, r.onVictim[ref.Partition])
					}
					next = append(next, ref)
				}
				again = next
			}
			if s2.Len() != total {
				t.Fatalf("%d keys in memory, want the %d spilled", s2.Len(), total)
			}
			// Nothing is left in Redis, but keys whose UNLINK failed and (kill) keys
			// the dead master deleted and did not replicate.
			left := inRedis(t, r.rdb, refs)
			undone := 0
			for ref := range left {
				key := fmt.Sprintf("{spill:%d}:%s", ref.Partition, ref.Key)
				switch {
				case undeleted[key]:
				case tc.kill && r.acked[key]:
					undone++
				default:
					t.Fatalf("%s restored yet still in Redis (killed %v, deleted by the victim before the kill %v, "+
						"undeleted %v)", key, tc.kill, r.acked[key], undeleted[key])
				}
			}
			t.Logf("%d of %d UNLINKs the killed master acknowledged before the kill were undone", undone, len(r.acked))
		})
	}

	// No failover needed: the connection to one node breaks after the node executed
	// its part of a restore's reads (a crash with replies in flight, a network cut,
	// a read timeout). go-redis' ClusterClient re-sends that node's commands on a new
	// connection whatever MaxRetries says (osscluster.go pipelineReadCmds: a
	// retryable read error maps the node's commands to failedCmds, retried up to
	// MaxRedirects times). The MGETs read the same values again, so every key is
	// restored, then deleted: nothing is lost and nothing is left.
	t.Run("take/reply-lost", func(t *testing.T) {
		ctx := context.Background()
		if err := c.WaitHealthy(3, -1, 15*time.Second); err != nil {
			t.Fatal(err)
		}
		masters, err := c.Masters(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range masters {
			cl := redistest.Client(m)
			cl.FlushAll(ctx)
			cl.Close()
		}
		const perPart = 20
		rc := &replyCutter{}
		rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Live(), DisableIdentity: true,
			MaintNotificationsConfig: noMaint, Dialer: rc.dial})
		defer rdb.Close()
		s1, _ := newStore(t, rdb)
		refs := fillParts(s1, parts, perPart)
		if rep, err := s1.SpillAll(ctx); err != nil || rep.Written != len(refs) {
			t.Fatalf("spill: %+v, %v", rep, err)
		}
		rc.arm(-1, 0, func() {}) // the first node to receive its MGETs: all its replies are lost
		s2, _ := newStore(t, rdb)
		rep, err := s2.Restore(ctx, refs)
		if !rc.cutDone() {
			t.Fatal("no MGET reply was cut")
		}
		checkRestored(t, s2, refs, rep)
		left := inRedis(t, rdb, refs)
		lost := 0
		for i, ref := range refs {
			if rep.Outcomes[i] != OutcomeRestored && !left[ref] {
				lost++
			}
		}
		t.Logf("restore: restored %d, missing %d, failed %d, undeleted %d, err %v; %d keys lost, %d left in Redis",
			rep.Restored, rep.Missing, rep.Failed, rep.Undeleted, err, lost, len(left))
		if lost > 0 {
			t.Fatalf("%d of %d keys lost: neither restored nor in Redis", lost, len(refs))
		}
		if err != nil || rep.Restored != len(refs) || rep.Undeleted != 0 || len(left) != 0 {
			t.Fatalf("restored %d of %d, undeleted %d, %d left in Redis, err %v: want all restored and deleted",
				rep.Restored, len(refs), rep.Undeleted, len(left), err)
		}
	})
}

// pace is the time a spill batch (after the fault) or a poll's processing takes,
// so that the operation outlasts a graceful failover (~100-200 ms on loopback).
const pace = 25 * time.Millisecond

// reasons lists a report's non-zero reasons.
func reasons(rep *SpillReport) map[string]int {
	out := map[string]int{}
	for _, r := range Reasons() {
		if n := rep.Count(r); n > 0 {
			out[r.String()] = n
		}
	}
	return out
}

// takeKeys lists the data keys of a take script call (EVALSHA sha numkeys fence keys... args...).
func takeKeys(cmd redis.Cmder) []string {
	args := cmd.Args()
	if len(args) < 4 {
		return nil
	}
	n, _ := args[2].(int)
	var out []string
	for i := 4; i < 3+n && i < len(args); i++ {
		k, _ := args[i].(string)
		out = append(out, k)
	}
	return out
}
