package redisnode

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Behavior: resharding a Cluster the way redis-cli does it (redis-cli.c
// clusterManagerCommandRebalance / clusterManagerMoveSlot, Redis 7.0): to go to
// N masters, new masters join empty, every master's share is 16384/N slots (the
// first ones one more), and masters above their share give their lowest slots to
// those below it, in master order (a removed master gives all its slots; it leaves
// the map when it owns none). Slots move one at a time:
//
//  1. CLUSTER SETSLOT <slot> IMPORTING on the target, MIGRATING on the source;
//  2. CLUSTER GETKEYSINSLOT and MIGRATE ... KEYS of up to Batch keys
//     (--cluster-pipeline, 10 by default), until the slot is empty on the source;
//  3. CLUSTER SETSLOT <slot> NODE <target> on every master.
//
// Clients see the slot's keys answered ASK (moved already) or served (not yet)
// while it migrates, TRYAGAIN for a multi-key command that spans both, and the new
// owner after step 3 (cluster.go). MIGRATE moves a key with its remaining TTL; the
// data keys of a slot go first and the core's meta keys ("#fence", "#keys") last,
// so a batch never finds its fence on the other node while its data keys are
// split (go-redis v9.23's cluster pipeline races on that mix: core
// cluster_migrate_test.go).
//
// Time: redis-cli's round trips to the nodes (redis.rtt each) and MIGRATE,
// which blocks the source for a node-to-node round trip plus, per key, its own
// DUMP-and-delete and the target's RESTORE (the target is busy for the RESTOREs):
// MigrateCost, measured on redis-server 7.0.15 (cluster_real_test.go). A node busy
// with MIGRATE delays the clients' commands (the hook's queueing). Empty slots are
// moved in runs of up to reshardQuantum of modelled time per engine step.
// Memory: the key leaves the source and is added to the target with the models'
// per-key accounting; MIGRATE's serialization buffer (one batch) is not counted.
// Not modelled: a node that is down or loading pauses the migration (retried
// every second) instead of failing it as redis-cli would.

// MigrateCost is the modelled cost of MIGRATE (see Behavior).
type MigrateCost struct {
	SourcePerKey  time.Duration // DUMP payload, send, delete, per key
	SourcePerByte float64       // ns per value byte on the source
	TargetPerKey  time.Duration // RESTORE-ASKING per key
	TargetPerByte float64       // ns per value byte on the target
}

// DefaultMigrateCost is MIGRATE ... KEYS on redis-server 7.0.15 on this VM,
// batches of 1, 10 and 100 keys of 64 B, 1000 B and 8000 B (INFO commandstats
// usec of migrate on the source and restore-asking on the target;
// cluster_real_test.go TestRealClusterMigrateCost): source 10.7 µs + 0.8 ns/B
// per key beyond the target's RESTORE, target 2.0 µs + 5.6 ns/B per key.
var DefaultMigrateCost = MigrateCost{
	SourcePerKey: 10700 * time.Nanosecond, SourcePerByte: 0.8,
	TargetPerKey: 2000 * time.Nanosecond, TargetPerByte: 5.6,
}

// reshardQuantum bounds the modelled time one engine step covers when it moves
// a run of empty slots.
const reshardQuantum = 20 * time.Millisecond

// ReshardOptions configure Reshard.
type ReshardOptions struct {
	Batch int           // keys per MIGRATE (redis-cli --cluster-pipeline; 10 when 0)
	RTT   time.Duration // redis-cli to a node, and node to node
	Cost  MigrateCost   // DefaultMigrateCost when zero
	// OnDone hears the report when the last slot has moved.
	OnDone func(ReshardReport)
}

// ReshardReport summarizes a finished reshard.
type ReshardReport struct {
	Slots         int   // slots moved
	SlotsWithKeys int   // of which held keys on their source
	Keys          int64 // keys moved (standing for, with sampling)
	Bytes         int64 // value bytes moved
	Took          time.Duration
	Masters       int
}

type queuedReshard struct {
	masters []*Node
	opt     ReshardOptions
}

type slotMove struct {
	slot     int
	from, to *Node
}

type resharding struct {
	c     *Cluster
	opt   ReshardOptions
	moves []slotMove
	i     int
	keys  []string // the current slot's keys on its source (migrating when non-nil)
	start time.Duration
	rep   ReshardReport
}

// Reshard changes the masters to masters (existing ones keep their order; new
// ones join empty; missing ones are drained) and moves slots as redis-cli does,
// one engine step at a time. It returns the number of slots to move. While a
// reshard runs, a new one waits for it to finish (redis-cli refuses to start on
// a cluster with open slots) and then starts from the ownership it left: it
// returns -1 then.
func (c *Cluster) Reshard(masters []*Node, opt ReshardOptions) (int, error) {
	if len(masters) == 0 || len(masters) > ClusterSlots {
		return 0, fmt.Errorf("redisnode: a cluster needs 1..%d masters, got %d", ClusterSlots, len(masters))
	}
	c.mu.Lock()
	if c.running {
		c.queued = append(c.queued, queuedReshard{masters: slices.Clone(masters), opt: opt})
		c.mu.Unlock()
		return -1, nil
	}
	c.running = true
	c.mu.Unlock()
	if opt.Batch <= 0 {
		opt.Batch = 10
	}
	if opt.Cost == (MigrateCost{}) {
		opt.Cost = DefaultMigrateCost
	}
	for _, n := range masters {
		if err := c.join(n); err != nil {
			return 0, err
		}
	}
	c.mu.Lock()
	for _, n := range masters {
		if !slices.Contains(c.masters, n) {
			c.masters = append(c.masters, n)
		}
	}
	moves := c.plan(masters)
	c.slotMap = nil
	c.mu.Unlock()
	r := &resharding{c: c, opt: opt, moves: moves, start: c.eng.Now()}
	r.rep.Masters = len(masters)
	c.eng.After(0, r.step)
	return len(moves), nil
}

// plan lists the slot moves to give each of masters its share (see Behavior).
func (c *Cluster) plan(masters []*Node) []slotMove {
	want := map[*Node]int{}
	for i, n := range masters {
		want[n] = ClusterSlots / len(masters)
		if i < ClusterSlots%len(masters) {
			want[n]++
		}
	}
	owned := map[*Node][]int{}
	for s := range ClusterSlots {
		owned[c.owner[s]] = append(owned[c.owner[s]], s)
	}
	var moves []slotMove
	for _, to := range masters {
		need := want[to] - len(owned[to])
		for _, from := range c.masters {
			if need <= 0 {
				break
			}
			excess := len(owned[from]) - want[from]
			if from == to || excess <= 0 {
				continue
			}
			give := min(need, excess)
			for _, s := range owned[from][:give] {
				moves = append(moves, slotMove{slot: s, from: from, to: to})
			}
			owned[from] = owned[from][give:]
			owned[to] = append(owned[to], make([]int, give)...) // counted; the slots are in moves
			need -= give
		}
	}
	return moves
}

// step is one engine step of the migration.
func (r *resharding) step() {
	c := r.c
	var cost time.Duration
	changed := false
	defer func() {
		if changed {
			c.ReloadClients()
		}
		if r.i < len(r.moves) {
			c.eng.After(max(cost, time.Microsecond), r.step)
			return
		}
		r.finish()
	}()
	rtt := r.opt.RTT
	if r.keys != nil {
		mv := r.moves[r.i]
		if !mv.from.available() || !mv.to.available() {
			cost = time.Second
			return
		}
		batch := r.keys[:min(r.opt.Batch, len(r.keys))]
		r.keys = r.keys[len(batch):]
		cost = r.migrate(mv.from, mv.to, batch)
		if len(r.keys) == 0 {
			cost += rtt * time.Duration(len(c.Masters())) // SETSLOT NODE on every master
			r.keys = nil
			r.own(mv)
			changed = true
			r.i++
		}
		return
	}
	// Empty slots move at once; the first slot with keys starts migrating.
	var bySlot map[int][]string
	var scanned *Node
	for r.i < len(r.moves) && cost < reshardQuantum {
		mv := r.moves[r.i]
		if scanned != mv.from {
			bySlot, scanned = mv.from.keysBySlot(), mv.from
		}
		// IMPORTING, MIGRATING, GETKEYSINSLOT: three round trips.
		cost += 3 * rtt
		if keys := bySlot[mv.slot]; len(keys) > 0 {
			r.keys = keys
			r.rep.SlotsWithKeys++
			c.mu.Lock()
			c.migrating[mv.slot] = mv.to
			c.mu.Unlock()
			return
		}
		cost += rtt * time.Duration(len(c.Masters()))
		r.own(mv)
		changed = true
		r.i++
	}
}

// own is SETSLOT NODE: the target owns the slot on every master.
func (r *resharding) own(mv slotMove) {
	c := r.c
	c.mu.Lock()
	c.owner[mv.slot] = mv.to
	c.migrating[mv.slot] = nil
	c.slotMap = nil
	c.stats.SlotsMoved++
	c.mu.Unlock()
	r.rep.Slots++
}

// finish drops the masters that own no slot and reports.
func (r *resharding) finish() {
	c := r.c
	c.mu.Lock()
	counts := map[*Node]int{}
	for s := range ClusterSlots {
		counts[c.owner[s]]++
	}
	c.masters = slices.DeleteFunc(c.masters, func(n *Node) bool { return counts[n] == 0 })
	c.slotMap = nil
	c.running = false
	var next *queuedReshard
	if len(c.queued) > 0 {
		next = &c.queued[0]
		c.queued = c.queued[1:]
	}
	c.mu.Unlock()
	c.ReloadClients()
	r.rep.Took = c.eng.Now() - r.start
	if r.opt.OnDone != nil {
		r.opt.OnDone(r.rep)
	}
	if next != nil {
		_, _ = c.Reshard(next.masters, next.opt)
	}
}

// migrate is one MIGRATE ... KEYS from src to dst: the keys still on src move
// with their remaining TTL; both nodes are busy for their share. It returns how
// long redis-cli spends on the batch: per MIGRATE call (one per Batch real keys),
// a GETKEYSINSLOT and the MIGRATE round trip, plus the time MIGRATE blocks.
func (r *resharding) migrate(src, dst *Node, keys []string) time.Duration {
	c, cost := r.c, r.opt.Cost
	now := c.eng.Now()
	src.mu.Lock()
	defer src.mu.Unlock()
	dst.mu.Lock()
	defer dst.mu.Unlock()
	src.settle()
	dst.settle()
	var srcWork, dstWork time.Duration
	var real, bytes int64
	for _, k := range keys {
		e := src.ks.get(k)
		if e == nil {
			continue // deleted or expired since GETKEYSINSLOT
		}
		w := src.weightOf(k)
		switch e.kind {
		case kindString:
			v, _ := src.mr.Get(k)
			dst.mr.Set(k, v)
		case kindSet:
			ms, _ := src.mr.Members(k)
			dst.mr.SetAdd(k, ms...)
		default:
			continue // the core writes strings and sets only
		}
		if e.volPos >= 0 {
			dst.mr.SetTTL(k, max(e.expireAt-now, time.Millisecond))
		}
		vb := int64(e.valueLen)
		var val string
		if e.kind == kindString {
			val, _ = src.mr.Get(k)
		}
		deadline, volatile := e.expireAt, e.volPos >= 0
		dst.sync(k, now, true)
		if dst.cfg.AOF {
			dst.p.aofCurrent += w * respBytes([]any{"restore-asking", k, "0", make([]byte, vb)})
		}
		src.mr.Del(k)
		src.dropEntry(k, now)
		src.p.dirty += w
		src.appendDel(k)
		// The audit: the key is on the target only, with its value and its
		// expiry deadline (to the millisecond TTLs are kept in).
		got := dst.ks.get(k)
		switch {
		case got == nil || src.mr.Exists(k) || src.ks.get(k) != nil:
			r.c.countViolation()
		case e.kind == kindString && func() bool { v, _ := dst.mr.Get(k); return v != val }():
			r.c.countViolation()
		case volatile != (got.volPos >= 0) || volatile && (got.expireAt-deadline > time.Millisecond || deadline-got.expireAt > time.Millisecond):
			r.c.countViolation()
		}
		srcWork += time.Duration(w) * (cost.SourcePerKey + time.Duration(cost.SourcePerByte*float64(vb)))
		dstWork += time.Duration(w) * (cost.TargetPerKey + time.Duration(cost.TargetPerByte*float64(vb)))
		real += w
		r.rep.Keys += w
		r.rep.Bytes += w * vb
		bytes += w * vb
		dst.stats.Ops += w
		dst.stats.BytesIn += w * vb
	}
	calls := (real + int64(r.opt.Batch) - 1) / int64(r.opt.Batch)
	src.stats.Ops += calls
	src.observe(now)
	dst.observe(now)
	// MIGRATE blocks the source for the node-to-node round trip and the target's
	// RESTOREs as well as its own work.
	took := time.Duration(calls)*r.opt.RTT + srcWork + dstWork
	src.busyUntil = max(src.busyUntil, now) + took
	dst.busyUntil = max(dst.busyUntil, now+time.Duration(calls)*r.opt.RTT/2) + dstWork
	c.mu.Lock()
	c.stats.MigratedKeys += real
	c.stats.MigratedBytes += bytes
	c.mu.Unlock()
	return 2*time.Duration(calls)*r.opt.RTT + took
}

func (c *Cluster) countViolation() {
	c.mu.Lock()
	c.stats.MigrateViolations++
	c.mu.Unlock()
}

// available reports whether the node accepts commands now.
func (n *Node) available() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.settle()
	return !n.down && !n.p.dead && !n.p.loading
}

// keysBySlot lists the node's keys per slot: data keys sorted, then the
// partition's meta keys ('#' after the tag) sorted.
func (n *Node) keysBySlot() map[int][]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.settle()
	tags := map[string]int{}
	out := map[int][]string{}
	for i := range n.ks.entries {
		k := n.ks.entries[i].key
		tag := k
		if a := strings.IndexByte(k, '{'); a >= 0 {
			if b := strings.IndexByte(k[a+1:], '}'); b > 0 {
				tag = k[a+1 : a+1+b]
			}
		}
		s, ok := tags[tag]
		if !ok {
			s = Slot(tag)
			tags[tag] = s
		}
		out[s] = append(out[s], k)
	}
	for s, keys := range out {
		slices.SortFunc(keys, func(a, b string) int {
			if ma, mb := isMetaKey(a), isMetaKey(b); ma != mb {
				if ma {
					return 1
				}
				return -1
			}
			return strings.Compare(a, b)
		})
		out[s] = keys
	}
	return out
}

// isMetaKey reports whether key is one of the core's partition meta keys
// ("{tag}#fence", "{tag}#keys").
func isMetaKey(key string) bool {
	i := strings.IndexByte(key, '}')
	return i >= 0 && i+1 < len(key) && key[i+1] == '#'
}
