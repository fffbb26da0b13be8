package redisnode

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillway-sim/spillway/sim/calibration"
)

// Behavior: a master's replicas (Config.Replicas) — Redis 7.0 asynchronous
// replication, the full sync of a replica that attaches, WAIT, and failover.
// The node is the master; its replicas are modelled by where the replication
// stream has reached, not by copies of the data.
//
//   - Asynchronous replication (replication.c replicationFeedSlaves): the
//     master acknowledges a write before any replica has it. A call's writes
//     leave the master when it has served them (the reply's departure) and reach
//     the replica half a round trip later (redis.rtt, the same network as the
//     clients), which replays them in ApplyFraction of the master's service time
//     (calibration.Replication, measured: 173 µs to replay a 1000-SET pipeline
//     the master served in 1.37 ms). Replay is serial per connection: a lane's
//     next batch is applied after its previous one; at an eighth of the
//     master's work the replica keeps up with the server, so calls of other
//     clients do not queue it (measured: the offset lag under a 43 MB/s load
//     stayed within one batch, max 2.1 ms). Until a write is applied on the
//     replica it is inside the replication lag.
//   - WAIT numreplicas timeout (replication.c waitCommand): blocks the client,
//     not the server, until numreplicas replicas acknowledged the client's last
//     write: the master asks (REPLCONF GETACK, half a round trip), the replica
//     answers once it has applied everything before the question (another
//     half). It answers the number of replicas that acknowledged: all online
//     replicas if that happened within the timeout, else none (the replicas are
//     alike); with no replica online it waits the whole timeout and answers 0.
//     The wait is charged to the caller's lane (its spill gets longer).
//     miniredis's WAIT answers 0 at once: the node replaces its reply.
//   - Failover (a timeline failover event, the master OOM-killed, or — decided
//     by the simulator — unreachable longer than the failover time) with a
//     replica online: the replica is promoted. Writes it had not applied at the
//     failure are lost: each such key gets back the value the replica had (the
//     value before the first write it missed; absent if there was none). The
//     removal is FailoverLost when the client had its acknowledgement before the
//     failure (the master's reply, or WAIT's when the client waits), else
//     FailoverUnacked (in reality the client would have had an error: the write
//     was in flight when the master died). Clients are refused for
//     Config.FailoverTime (failure detection and election), then the promoted
//     replica serves with the data it had; other replicas follow it (PSYNC2).
//     The old master comes back after Config.RestartDelay and attaches as a
//     replica. With no replica online (none configured — an LA cluster — or
//     the only one still in a full sync) the master's data is lost as an OOM kill
//     loses it (fork.go: restart from its own AOF/RDB, if any).
//   - Full sync (replication.c syncCommand, rdbSaveToSlavesSockets): Redis 7.0's
//     default diskless sync waits repl-diskless-sync-delay (5 s), forks (the
//     stall, copy-on-write: fork.go, cow.go) and the child streams the dataset
//     at the snapshot rate; the replica then loads it at the load rate and is
//     online. Writes meanwhile are buffered for it (its output buffer). Measured
//     on redis-server 7.0.15 (delay 0): 0.46 s for 19.6 MB of used memory, 1.85 s
//     for 77 MB, 6.0 s for 304 MB; the model gives 0.50 s, 1.95 s, 7.7 s.
//   - Memory (INFO memory): the replication backlog, min(stream written,
//     repl-backlog-size) plus 16 bytes once full (mem_replication_backlog
//     measured 1 048 592 for 1 MiB), 17 632 bytes per replica client
//     (mem_clients_slaves, idle), and the output buffer of a syncing replica
//     beyond the backlog (Redis 7's shared replication buffer), in used memory
//     and RSS.
//
// Not modelled: replicas serving reads; partial resync after a short
// disconnection (a replica only leaves by failover); the output-buffer limit
// (client-output-buffer-limit replica 256mb 64mb 60) that would restart a sync;
// a manual CLUSTER FAILOVER (which waits for the replica and loses nothing);
// the replica's own memory, forks and OOM kills; replication across a ring's
// resharding. The keys one action writes on two lanes at once share one
// before-image order (the call's arrival), which the core never does (a key is
// in one batch). A failure in the middle of an action (an OOM kill at one of
// its writes) rolls back the writes after it too: the simulator runs an action
// at one instant of engine time, so those calls were answered already; they are
// FailoverUnacked (cause redis_unavailable), as a real client would have seen
// them fail.
//
// Sources: Redis replication documentation (https://redis.io/docs/latest/operate/oss_and_stack/management/replication/:
// "Redis uses by default asynchronous replication ... WAIT ... does not make
// Redis a strongly consistent store: acknowledged writes can still be lost
// during a failover"); redis.conf 7.0 (repl-backlog-size 1mb,
// repl-diskless-sync yes, repl-diskless-sync-delay 5); the measurements in
// sim/calibration/replication.go.

// replNever is the replica time of a write no replica has (yet).
const replNever = time.Duration(math.MaxInt64)

// ReplStats are a master's replication counters.
type ReplStats struct {
	Failovers       int64 // replicas promoted
	FailoverKills   int64 // failures with no replica online: the data went as in an OOM kill
	FullSyncs       int64 // full syncs completed
	LostKeys        int64 // keys rolled back by failovers (FailoverLost + FailoverUnacked)
	LostAckedKeys   int64 // of which the client had its acknowledgement (FailoverLost)
	LostWaitAcked   int64 // of which WAIT had confirmed with enough replicas: must stay 0
	WaitCalls       int64 // WAIT commands answered
	WaitTimeouts    int64 // WAITs that ran into their timeout with fewer replicas than asked
	WaitNanos       int64 // virtual time clients spent blocked in WAIT
	LagMaxNanos     int64 // longest time from a write's reply to its replay on the replica
	BufferPeak      int64 // largest output buffer of a syncing replica, in bytes
	Online, Syncing int   // replicas online, replicas in a full sync (now)
}

// replica is the master's replication state.
type replica struct {
	cal calibration.Replication

	online  int  // replicas streaming and acknowledging
	syncing bool // the missing replicas are in a full sync
	// syncForkAt is when the sync's fork is due (syncing, before the fork);
	// syncLoadedAt when the replicas have loaded it (after the child ended).
	syncForkAt, syncLoadedAt time.Duration
	syncForked, syncLoaded   bool
	attachAt                 time.Duration // missing replicas attach (the old master is back)
	attachPending            bool

	stream       int64         // replication stream written since the backlog exists
	syncBuffered int64         // bytes written since the syncing replicas' fork
	downUntil    time.Duration // clients refused until then (a failover in progress)
	applying     time.Duration // virtual time of the call being applied (the failure instant of an OOM kill)

	undo  []*undoEntry
	seq   uint64
	stats ReplStats
}

// undoEntry is one write the replica may not have yet: the key's value before
// it (what the replica holds if this is the first write it misses).
type undoEntry struct {
	key       string
	had       bool
	before    snapItem
	seq       uint64
	masterAt  time.Duration // the master served it (its reply left)
	replicaAt time.Duration // the replica applied it (replNever: not yet known)
	ackAt     time.Duration // the client had its acknowledgement (replNever: never, a failed WAIT)
	waitAcked bool          // a WAIT with enough replicas confirmed it
}

// laneRepl is one lane's replication state within an action (meterNode.repl).
type laneRepl struct {
	last  time.Duration // replica time of the lane's latest write
	calls float64       // real calls its latest write call stood for (sampling)
	since []*undoEntry  // its writes since its last WAIT
	wrote bool
}

// replEnabled reports whether the node has replicas configured.
func (n *Node) replEnabled() bool { return n.cfg.Replicas > 0 }

// initRepl sets up replication at the node's start: its replicas are online.
func (n *Node) initRepl() {
	n.repl = replica{cal: calibration.DefaultReplication(), online: n.cfg.Replicas}
	n.mem.repl = n.replMemory()
}

// failingOver reports whether clients are refused because a failover is in progress.
func (n *Node) failingOver(now time.Duration) bool { return now < n.repl.downUntil }

// replMemory is the memory replication takes on the master.
func (n *Node) replMemory() int64 {
	r := &n.repl
	if !n.replEnabled() {
		return 0
	}
	size := n.cfg.ReplBacklogSize
	backlog := min(r.stream, size)
	if r.stream >= size {
		backlog += r.cal.BacklogOverheadBytes
	}
	clients := int64(r.online) * r.cal.ReplicaClientBytes
	if r.syncing {
		clients += int64(n.cfg.Replicas-r.online) * r.cal.ReplicaClientBytes
	}
	return backlog + clients + max(0, r.syncBuffered-size)
}

// replCall runs at a call's admission, after charge: it records the replica
// time of the call's writes and their before-images (undo entries), and
// answers its WAIT commands, charging the wait to the lane. It reports false
// when the wait passes the meter's budget.
func (n *Node) replCall(c *callState, cmds []redis.Cmder, a *admission) bool {
	hasWait := false
	for i, cmd := range cmds {
		hasWait = hasWait || (a.rejects[i] == nil && cmd.Name() == "wait")
	}
	if !n.replEnabled() && !hasWait {
		return true
	}
	lr := c.mn.replLane(c.lane)
	half := c.rtt / 2
	masterDone := c.start + c.lead + c.mn.laneAt[c.lane] - half
	var bytes int64
	var keys []string
	seen := map[string]bool{}
	for i := range cmds {
		ci := &a.infos[i]
		if a.rejects[i] != nil || !ci.write {
			continue
		}
		bytes += a.weight(i) * ci.aofBytes
		for _, k := range ci.writes {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	var rec replRec
	if n.replEnabled() && bytes > 0 {
		work := a.svc
		if a.calls > 1 {
			work = time.Duration(float64(work) / a.calls) // one real call's (weight.go)
		}
		replicaAt := replNever
		if n.repl.online > 0 {
			// The replica replays at ApplyFraction of the master's work, so it
			// keeps up with the server: only a connection's own batches queue
			// (replayed in order). Other actions' calls interleave with this one
			// on the server (their virtual times overlap), so the replica's
			// settled position is not a floor here.
			start := max(masterDone+half, lr.last)
			replicaAt = start + time.Duration(n.repl.cal.ApplyFraction*float64(work))
			lag := int64(replicaAt - masterDone)
			n.repl.stats.LagMaxNanos = max(n.repl.stats.LagMaxNanos, lag)
		}
		rec = replRec{masterAt: masterDone, replicaAt: replicaAt, bytes: bytes}
		lr.last, lr.calls, lr.wrote = replicaAt, max(a.calls, 1), true
		if n.repl.online > 0 || n.repl.syncing {
			lr.since = slices.DeleteFunc(lr.since, func(e *undoEntry) bool { return e.replicaAt <= n.at })
			for _, k := range keys {
				e := &undoEntry{key: k, seq: n.repl.seq, masterAt: masterDone, replicaAt: replicaAt, ackAt: masterDone + half}
				n.repl.seq++
				e.before, e.had = n.capture(k, c.now)
				n.repl.undo = append(n.repl.undo, e)
				lr.since = append(lr.since, e)
			}
		}
	}
	c.repl = rec
	if !hasWait {
		return true
	}
	for i, cmd := range cmds {
		if a.rejects[i] != nil || cmd.Name() != "wait" {
			continue
		}
		need, timeout := waitArgs(cmd)
		arrival := masterDone
		ackAt, online := replNever, n.repl.online
		if online > 0 {
			ackAt = arrival + c.rtt // nothing of this client's to wait for: one GETACK round
			if lr.wrote {
				ackAt = replNever
				if lr.last != replNever {
					ackAt = max(lr.last, arrival+half) + half
				}
			}
		}
		deadline := arrival + timeout
		if timeout == 0 {
			deadline = arrival + time.Hour // WAIT n 0 blocks: the meter's budget cuts it
		}
		inTime := ackAt != replNever && ackAt <= deadline
		acked := 0
		if inTime {
			acked = online
		}
		ok := inTime && acked >= need
		end := ackAt
		if !ok {
			end = deadline
			n.repl.stats.WaitTimeouts++
		}
		extra := time.Duration(float64(end-arrival) * max(lr.calls, 1))
		n.repl.stats.WaitCalls++
		n.repl.stats.WaitNanos += int64(extra)
		if c.m != nil && !c.m.charge(c.lane, extra) {
			return false
		}
		c.mn.laneAt[c.lane] += extra
		for _, e := range lr.since {
			if ok {
				e.ackAt, e.waitAcked = end+half, true
			} else {
				e.ackAt = replNever
			}
		}
		lr.since = lr.since[:0]
		c.waitReplies = append(c.waitReplies, waitReply{i: i, n: int64(acked)})
		masterDone = end
	}
	return true
}

// waitArgs reads WAIT numreplicas timeout-ms.
func waitArgs(cmd redis.Cmder) (int, time.Duration) {
	args := cmd.Args()
	num := func(i int) int64 {
		if i >= len(args) {
			return 0
		}
		switch v := args[i].(type) {
		case int:
			return int64(v)
		case int64:
			return v
		case string:
			x, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return x
		}
		return 0
	}
	return int(num(1)), time.Duration(num(2)) * time.Millisecond
}

// answerWaits replaces miniredis's WAIT replies with the modelled ones.
func answerWaits(cmds []redis.Cmder, replies []waitReply) {
	for _, w := range replies {
		if ic, ok := cmds[w.i].(*redis.IntCmd); ok && ic.Err() == nil {
			ic.SetVal(w.n)
		}
	}
}

// waitReply is the modelled reply of the WAIT at cmds[i].
type waitReply struct {
	i int
	n int64
}

// replRec is a call's place in the replication stream, settled with the call.
type replRec struct {
	masterAt, replicaAt time.Duration
	bytes               int64
}

// capture reads key's current value (the before-image of a write).
func (n *Node) capture(key string, now time.Duration) (snapItem, bool) {
	if !n.mr.Exists(key) {
		return snapItem{key: key}, false
	}
	s := n.snapshotKeys([]string{key}, now)
	return s.items[0], true
}

// replApply settles a call's replication: the stream, the backlog and buffers,
// the replay cursor. Called by apply before the call's effects.
func (n *Node) replApply(r *callRec) {
	if !n.replEnabled() {
		return
	}
	n.repl.applying = r.repl.masterAt
	if r.repl.bytes == 0 {
		return
	}
	n.repl.stream += r.repl.bytes
	if n.repl.syncing {
		n.repl.syncBuffered += r.repl.bytes
		n.repl.stats.BufferPeak = max(n.repl.stats.BufferPeak, n.repl.syncBuffered)
	}
	n.mem.repl = n.replMemory()
}

// replPrune forgets the writes every replica had by t: no failover at t or
// later can lose them.
func (n *Node) replPrune(t time.Duration) {
	if len(n.repl.undo) == 0 {
		return
	}
	n.repl.undo = slices.DeleteFunc(n.repl.undo, func(e *undoEntry) bool { return e.replicaAt <= t })
}

// Failover fails the master now, as the timeline's failover event: its replica
// is promoted, or, with none online, its data is lost. It reports whether a
// replica was promoted.
func (n *Node) Failover() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.settle()
	now := n.eng.Now()
	if n.p.dead {
		return false
	}
	n.h.killed(now, n.p.child != nil) // the master process ends, its fork child with it (host.go)
	if n.promote(now, now) {
		n.observe(now)
		return true
	}
	n.repl.stats.FailoverKills++
	n.kill(now)
	return false
}

// promote makes a replica the master after a failure at virtual time at (the
// engine's time is now): writes the replica had not applied by then are rolled
// back. It reports false, doing nothing, when no replica is online.
func (n *Node) promote(now, at time.Duration) bool {
	r := &n.repl
	if !n.replEnabled() || r.online == 0 {
		return false
	}
	at = max(at, now)
	n.rollback(at)
	r.stats.Failovers++
	r.online--
	r.syncing, r.syncForked, r.syncLoaded, r.syncBuffered = false, false, false, 0
	r.downUntil = at + n.cfg.FailoverTime
	r.attachPending = true
	r.attachAt = max(r.downUntil, at+n.cfg.RestartDelay)
	// The old master's fork child died with it.
	n.p.child, n.p.cow = nil, nil
	n.p.bgsaveScheduled, n.p.rewriteScheduled = false, false
	n.mem.repl = n.replMemory()
	return true
}

// rollback gives every key written after the replica's last applied write (by
// at) the value the replica holds, and reports the keys whose value changed.
func (n *Node) rollback(at time.Duration) {
	r := &n.repl
	var todo []*undoEntry
	for _, e := range r.undo {
		if e.replicaAt > at {
			todo = append(todo, e)
		}
	}
	r.undo = nil
	slices.SortFunc(todo, func(a, b *undoEntry) int {
		switch {
		case a.key != b.key:
			return strings.Compare(a.key, b.key)
		case a.masterAt != b.masterAt:
			return cmpU64(uint64(a.masterAt), uint64(b.masterAt))
		}
		return cmpU64(a.seq, b.seq)
	})
	for i := 0; i < len(todo); {
		j := i
		for j < len(todo) && todo[j].key == todo[i].key {
			j++
		}
		first, last := todo[i], todo[j-1]
		i = j
		cur, had := n.capture(first.key, at)
		if had == first.had && (!had || sameItem(cur, first.before)) {
			continue // the write did not change what the replica has
		}
		n.mr.Del(first.key)
		if first.had && (first.before.expireAt == 0 || first.before.expireAt > at) {
			it := first.before
			switch it.kind {
			case kindString:
				_ = n.mr.Set(it.key, it.value)
			case kindSet:
				_, _ = n.mr.SAdd(it.key, it.members...)
			}
			if it.expireAt > 0 {
				n.mr.SetTTL(it.key, it.expireAt-at)
			}
		}
		n.sync(first.key, at, false)
		w := n.weightOf(first.key)
		r.stats.LostKeys += w
		why := FailoverUnacked
		if last.ackAt <= at {
			why = FailoverLost
			r.stats.LostAckedKeys += w
			if last.waitAcked {
				r.stats.LostWaitAcked += w
			}
		}
		n.outbox = append(n.outbox, removal{first.key, why})
	}
}

// sameItem reports whether two captures hold the same value and deadline.
func sameItem(a, b snapItem) bool {
	return a.kind == b.kind && a.value == b.value && slices.Equal(a.members, b.members) && a.expireAt == b.expireAt
}

// replKilled resets replication after the master lost its data with no replica
// to promote: when it is back, its replicas sync from it again.
func (n *Node) replKilled() {
	r := &n.repl
	if !n.replEnabled() {
		return
	}
	r.undo = nil
	r.online = 0
	r.syncing, r.syncForked, r.syncLoaded, r.syncBuffered = false, false, false, 0
	r.attachPending = true
	r.attachAt = n.p.restartAt
	r.stream = 0
	n.mem.repl = n.replMemory()
}

// replNext is the replication's next internal event.
func (n *Node) replNext(consider func(time.Duration, eventKind)) {
	r := &n.repl
	if !n.replEnabled() {
		return
	}
	switch {
	case r.attachPending:
		consider(max(r.attachAt, n.at), evReplAttach)
	case r.syncing && !r.syncForked:
		consider(max(r.syncForkAt, n.at), evReplFork)
	case r.syncing && r.syncLoaded:
		consider(r.syncLoadedAt, evReplOnline)
	}
}

// replEvent runs a replication event due at at.
func (n *Node) replEvent(ev eventKind, at time.Duration) {
	r := &n.repl
	switch ev {
	case evReplAttach:
		if n.p.dead || n.p.loading || at < r.downUntil {
			r.attachAt = max(at+cronPeriod, n.p.loadedAt, r.downUntil) // after it is back
			return
		}
		r.attachPending = false
		if r.online >= n.cfg.Replicas {
			return
		}
		r.syncing = true
		r.syncForkAt = at + r.cal.DisklessSyncDelay
	case evReplFork:
		if n.p.child != nil {
			r.syncForkAt = n.p.child.end // one child at a time: after the running one
			return
		}
		if err := n.startChild(childSync, at); err != nil {
			r.syncForkAt = at + bgsaveRetryDelay
			return
		}
		r.syncForked = true
		r.syncBuffered = 0
	case evReplOnline:
		r.syncing, r.syncForked, r.syncLoaded = false, false, false
		r.online = n.cfg.Replicas
		r.syncBuffered = 0
		r.stats.FullSyncs++
		for _, e := range r.undo {
			if e.replicaAt == replNever {
				e.replicaAt = at // the buffered writes follow the RDB
			}
		}
		n.replPrune(at)
	}
	n.mem.repl = n.replMemory()
}

// replChildDone is the end of a sync's fork child: the replicas load the RDB.
func (n *Node) replChildDone(at time.Duration) {
	r := &n.repl
	if !r.syncing {
		return
	}
	r.syncLoaded = true
	r.syncLoadedAt = at + n.cfg.loadDuration(n.mem.used())
}

// ReplStats returns the node's replication counters.
func (n *Node) ReplStats() ReplStats {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.settle()
	s := n.repl.stats
	s.Online = n.repl.online
	if n.repl.syncing {
		s.Syncing = n.cfg.Replicas - n.repl.online
	}
	return s
}
