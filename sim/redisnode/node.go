package redisnode

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/spillway-sim/spillway/sim/engine"
)

// Removal says why a key left the node other than by a client's DEL/GETDEL.
type Removal uint8

// Removals reported to OnRemove.
const (
	Expired Removal = iota // its TTL passed (virtual time)
	Evicted                // maxmemory eviction
	Lost                   // the node lost its data (OOM kill, restart without a snapshot)
	Moved                  // a ring resharding made another node own it (the key stays, unreachable)
	// FailoverLost: a failover lost a write acknowledged to its client that the
	// promoted replica never received (replica.go).
	FailoverLost
	// FailoverUnacked: a failover lost a write the promoted replica never
	// received, whose client had not heard back when the master failed.
	FailoverUnacked
)

var removalNames = [...]string{"expired", "evicted", "lost", "moved", "failover_lost", "failover_unacked"}

// String is the removal's name ("expired", "evicted", "lost", "moved",
// "failover_lost", "failover_unacked").
func (r Removal) String() string { return removalNames[r] }

// Stats are a node's traffic counters since it was created.
type Stats struct {
	Ops             int64 // commands served (pipelined ones counted one by one)
	RoundTrips      int64
	BytesIn         int64 // argument bytes of commands
	BytesOut        int64 // bytes of string replies
	ExpiredKeys     int64
	RejectedDown    int64 // calls refused while the node was down or restarting
	RejectedLoading int64 // calls answered LOADING while a restarted node loads its data
}

// Node is one simulated Redis node. Its hook is safe for concurrent use by the
// go-redis clients of one pod action; the other methods must be called from the
// engine's goroutine between actions.
//
// Every model decision is made under the node's lock at a point that does not
// depend on goroutine order: admission (down, LOADING, MISCONF, OOM) from the state
// settled before the action's calls, and the effects of the calls (memory,
// eviction, expiry, copy-on-write, AOF growth) applied later, in the order of their
// virtual time within the action (lane time, lane, call number), never in arrival
// order. Effects of an action are settled by its own lane-0 calls, by the first
// call of the next action, and by every engine-side method. Callbacks to OnRemove
// are delivered only from Advance, on the engine's goroutine.
type Node struct {
	eng *engine.Engine
	cfg *settings
	mr  *miniredis.Miniredis

	mu       sync.Mutex
	down     bool
	ks       *keyspace
	mem      *memModel
	expiry   expiryIndex
	stats    Stats
	ms       MemoryStats // counters and peaks; the rest is computed
	onRemove func(key string, why Removal)
	outbox   []removal
	clients  []*redis.Client

	busyUntil time.Duration
	rtCarry   float64 // fraction of a round trip not yet counted (weight.go)
	opsCarry  float64 // fraction of a command not yet counted (weight.go shareOps)
	spikes    []spike
	at        time.Duration // the node's clock: the latest time it processed

	pending  []*callRec
	meterSeq uint64
	nilMeter *meterNode

	allocBuf, prevBuf []alloc

	p persist

	h    hostLink // the host it shares with other instances (host.go)
	cpu  cpuMeter // the main thread's busy time and ops per window (cpu.go)
	repl replica  // replication (replica.go)
	cl   *Cluster // the cluster this node is a master of (cluster.go); nil outside one
}

type removal struct {
	key string
	why Removal
}

// callRec is one round trip's effects, applied when the node settles.
type callRec struct {
	meter   *Meter
	seq     uint64        // the meter's order at this node
	laneAt  time.Duration // the lane's time at this node before the call
	lane    int
	laneSeq uint64
	at      time.Duration // engine time of the call
	start   time.Duration // the action's start
	work    time.Duration // service time the call added to the server
	ops     int64         // commands served (weighted: the real commands they stand for)
	cmds    []cmdEffect
	repl    replRec // its place in the replication stream (replica.go)
}

type cmdEffect struct {
	write    bool // a write that succeeded: dirty, AOF
	writes   []string
	reads    []string
	aofBytes int64
}

// New starts a node: a miniredis served over in-memory connections only (no TCP).
func New(eng *engine.Engine, cfg Config) (*Node, error) {
	s, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	mr := miniredis.NewMiniRedis()
	// Dial starts miniredis's connection server without a listener.
	c, err := mr.Dial()
	if err != nil {
		return nil, fmt.Errorf("redisnode %s: starting miniredis: %w", cfg.Name, err)
	}
	c.Close()
	mr.Seed(1) // RANDOMKEY and friends; the models never rely on them
	n := &Node{eng: eng, cfg: s, mr: mr}
	n.reset()
	n.initRepl()
	n.p.lastBGSaveOK = true
	n.at = eng.Now()
	n.p.lastSave = eng.Now()
	mr.SetTime(eng.Time())
	n.observe(n.at) // the empty server's own memory is its first peak
	return n, nil
}

// reset empties the models (a new or restarted server).
func (n *Node) reset() {
	n.ks = newKeyspace(n.cfg.Policy, n.cfg.Samples, n.cfg.LFULogFactor, n.cfg.LFUDecayTime, n.cfg.Rand)
	n.mem = newMemModel(&n.cfg.cal, n.cfg.BaselineUsed)
	n.mem.wt = n.weightOf
	n.expiry = newExpiryIndex()
}

// Close stops the node's clients and miniredis.
func (n *Node) Close() {
	for _, c := range n.clients {
		c.Close()
	}
	n.mr.Close()
}

// Name is the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Miniredis gives tests direct access to the store. Writes made through it
// bypass the models.
func (n *Node) Miniredis() *miniredis.Miniredis { return n.mr }

// OnRemove registers fn to hear of keys that expire, are evicted, lost or moved.
func (n *Node) OnRemove(fn func(key string, why Removal)) { n.onRemove = fn }

// Stats returns the node's traffic counters.
func (n *Node) Stats() Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.settle()
	return n.stats
}

// Keys is the number of keys stored.
func (n *Node) Keys() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.settle()
	return int(n.mem.nkeys) // with sampling, the keys they stand for (weight.go)
}

// Volatile is the number of keys with a TTL.
func (n *Node) Volatile() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.settle()
	return len(n.ks.vol)
}

// Memory returns the memory model's state and the persistence counters.
func (n *Node) Memory() MemoryStats {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.settle()
	ms := n.ms
	ms.UsedBytes = n.mem.used()
	ms.COWBytes = n.cowBytes()
	ms.RSSBytes = n.mem.rss() + ms.COWBytes
	if n.p.dead {
		ms.UsedBytes, ms.RSSBytes = 0, 0
	}
	ms.DatasetBytes = n.mem.dataset
	ms.BaselineBytes = n.mem.baseline
	ms.MaxMemory, ms.SystemMemory = n.cfg.MaxMemory, n.cfg.SystemMemory
	ms.Keys, ms.VolatileKeys = n.mem.nkeys, n.mem.nvol
	ms.RejectedWrites = ms.RejectedOOM + ms.RejectedMisconf
	ms.ChildActive = n.p.child != nil
	ms.Misconf = n.misconf()
	ms.Available = !n.down && !n.p.dead && !n.p.loading && !n.failingOver(n.eng.Now())
	ms.AOFBytes, ms.AOFBaseBytes = n.p.aofCurrent, n.p.aofBase
	ms.Dirty = n.p.dirty
	return ms
}

// SetDown makes the node refuse (down=true) or accept connections. Data is kept: a
// node that is unreachable for a while, not one that lost its memory.
func (n *Node) SetDown(down bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.settle()
	n.down = down
}

// Down reports whether the node refuses connections (SetDown, or restarting after
// an OOM kill).
func (n *Node) Down() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.settle()
	return n.down || n.p.dead || n.failingOver(n.eng.Now())
}

// AddLatency adds extra to every call that starts in the next d of virtual time
// (a network or host latency spike).
func (n *Node) AddLatency(extra, d time.Duration) {
	if extra <= 0 || d <= 0 {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.eng.Now()
	n.spikes = append(n.spikes, spike{from: now, until: now + d, extra: extra})
}

// Advance brings the node to the engine's time: the effects of earlier calls are
// settled, keys whose TTL has passed are deleted (from the expiry index, not by
// sorting every key as miniredis's FastForward would), persistence events that are
// due run, and OnRemove hears of every key that left since the last Advance.
func (n *Node) Advance() {
	n.mu.Lock()
	n.settle()
	n.mr.SetTime(n.eng.Time())
	n.mu.Unlock()
	n.DeliverRemovals()
}

// DeliverRemovals tells OnRemove now about the keys that left since the last
// delivery (Advance delivers too). A caller that is about to act on what a
// command found — a restore that found a key missing — calls it first: an
// eviction made room for another client's write a moment earlier, in the same
// tick, and the reason the key is missing must be known before the miss is
// judged.
func (n *Node) DeliverRemovals() {
	n.mu.Lock()
	out := n.outbox
	n.outbox = nil
	fn := n.onRemove
	n.mu.Unlock()
	if fn != nil {
		for _, r := range out {
			fn(r.key, r.why)
		}
	}
}

// NewClient returns a go-redis client for one pod: poolSize connections over
// in-memory pipes, every call observed by the node's hook. go-redis's own retries
// are off (MaxRetries -1): the core decides about retries. poolSize − 1 is taken as
// the pod's spill parallelism when a Meter does not say (Meter.Workers).
func (n *Node) NewClient(poolSize int) *redis.Client {
	c := redis.NewClient(n.ClientOptions(poolSize))
	c.AddHook(&hook{n: n, poolSize: max(poolSize, 1)})
	n.mu.Lock()
	n.clients = append(n.clients, c)
	n.mu.Unlock()
	return c
}

// ClientOptions are the options NewClient uses (without the hook).
func (n *Node) ClientOptions(poolSize int) *redis.Options {
	return &redis.Options{
		Addr:            n.cfg.Name, // never resolved: the Dialer below ignores it
		DisableIdentity: true,
		Protocol:        2, // no HELLO round trip per connection
		MaxRetries:      -1,
		PoolSize:        max(poolSize, 1),
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			cl, srv := memPipe(n.cfg.Name)
			n.mr.Server().ServeConn(srv)
			return cl, nil
		},
	}
}

// settle applies every pending effect and the internal events due by the
// engine's now. The caller holds n.mu.
func (n *Node) settle() {
	n.fold(nil, true)
	n.catchUp(n.eng.Now())
}

// fold applies the pending effects of every meter other than self (all of them
// when all is set), in the order of the meters' first calls, then of virtual time.
func (n *Node) fold(self *Meter, all bool) {
	if len(n.pending) == 0 {
		return
	}
	var todo, keep []*callRec
	for _, r := range n.pending {
		if all || r.meter != self {
			todo = append(todo, r)
		} else {
			keep = append(keep, r)
		}
	}
	if len(todo) == 0 {
		return
	}
	n.pending = keep
	slices.SortStableFunc(todo, func(a, b *callRec) int {
		switch {
		case a.seq != b.seq:
			return cmpU64(a.seq, b.seq)
		case a.laneAt != b.laneAt:
			return cmpU64(uint64(a.laneAt), uint64(b.laneAt))
		case a.lane != b.lane:
			return a.lane - b.lane
		}
		return cmpU64(a.laneSeq, b.laneSeq)
	})
	folded := map[*meterNode]bool{}
	for _, r := range todo {
		n.apply(r)
		folded[n.meterNodeOf(r.meter)] = true
	}
	for mn := range folded {
		clear(mn.laneDelta)
	}
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// meterNodeOf returns m's state at this node (the shared nil-meter state for nil).
func (n *Node) meterNodeOf(m *Meter) *meterNode {
	if m == nil {
		if n.nilMeter == nil {
			n.meterSeq++
			n.nilMeter = newMeterNode(n.meterSeq)
		}
		return n.nilMeter
	}
	return m.node(n, func() uint64 { n.meterSeq++; return n.meterSeq })
}

// apply runs one call's effects through the models at the call's time.
func (n *Node) apply(r *callRec) {
	n.catchUp(r.at)
	n.serve(max(n.busyUntil, r.start), r.work, r.ops)
	if n.p.dead {
		return // killed before these writes were settled: they went with the data
	}
	n.replApply(r)
	defer func() { n.repl.applying = 0 }()
	for _, c := range r.cmds {
		if c.write {
			n.evict(r.at, c.writes)
		}
		for _, k := range c.writes {
			n.sync(k, r.at, c.write)
		}
		for _, k := range c.reads {
			if e := n.ks.get(k); e != nil && n.p.child == nil {
				n.ks.touch(e, r.at)
			}
		}
		if c.write && n.cfg.AOF {
			n.p.aofCurrent += c.aofBytes
			n.maybeRewrite(r.at)
		}
		n.observe(r.at)
		if n.p.dead {
			return
		}
	}
}

// evict runs maxmemory eviction before a write at at (evict.c performEvictions).
// Keys the write itself rewrites are evicted without a callback: Redis would evict
// the old value and the command writes the key again.
func (n *Node) evict(at time.Duration, writing []string) {
	if n.cfg.MaxMemory == 0 || n.cfg.Policy == NoEviction {
		return
	}
	var rewriting map[string]bool
	for n.mem.used() > n.cfg.MaxMemory {
		key, ok := n.ks.victim(at)
		if !ok {
			return
		}
		n.ms.Evicted += n.weightOf(key)
		if rewriting == nil {
			rewriting = make(map[string]bool, len(writing))
			for _, k := range writing {
				rewriting[k] = true
			}
		}
		if rewriting[key] {
			n.dropEntry(key, at)
			continue
		}
		n.mr.Del(key)
		n.dropEntry(key, at)
		n.appendDel(key) // evictions propagate a DEL
		n.outbox = append(n.outbox, removal{key, Evicted})
	}
}

// sync re-reads key from miniredis after a command wrote it and updates the
// models: insert, overwrite or delete.
func (n *Node) sync(key string, at time.Duration, counted bool) {
	typ := n.mr.Type(key)
	old := n.ks.get(key)
	if typ == "" {
		if old != nil {
			n.dropEntry(key, at)
			if counted {
				n.p.dirty += n.weightOf(key)
			}
		}
		return
	}
	e := entry{key: key, volPos: -1}
	switch typ {
	case "string":
		v, _ := n.mr.Get(key)
		e.kind, e.valueLen = kindString, int32(len(v))
	case "set":
		ms, _ := n.mr.Members(key)
		e.kind, e.members = kindSet, int32(len(ms))
		for _, m := range ms {
			e.valueLen += int32(len(m))
		}
	default:
		e.kind, e.valueLen = kindOther, 64
	}
	// miniredis keeps a TTL as the duration last set (it counts down only in
	// FastForward). After each sync the node leaves the remaining time there
	// (ttlMark): a TTL equal to the mark was not changed by this command, so the
	// deadline stays; any other value was just set, from at.
	ttl := n.mr.TTL(key)
	if ttl > 0 {
		e.volPos = 0 // volatile; the keyspace assigns the slot
		e.expireAt = at + ttl
		if old != nil && old.volPos >= 0 && ttl == old.ttlMark {
			e.expireAt = old.expireAt
		}
		e.ttlMark = max(e.expireAt-at, time.Millisecond)
		if e.ttlMark != ttl {
			n.mr.SetTTL(key, e.ttlMark)
		}
	}
	if counted {
		n.p.dirty += n.weightOf(key)
	}
	if old == nil {
		e.lru = n.ks.fresh(at)
		e.bytes = n.mem.bytesOf(&e)
		n.mem.add(&e)
		n.place(&e, nil)
		n.ks.insert(e)
	} else {
		prev := *old
		if n.ks.policy.lfu() {
			e.lru = prev.lru // dbSetValue keeps the LFU counter of the old value
		} else {
			e.lru = n.ks.fresh(at)
		}
		if n.p.child == nil {
			n.ks.touch(&e, at) // lookupKeyWrite
		}
		n.mem.remove(&prev, false)
		e.bytes = n.mem.bytesOf(&e)
		n.mem.add(&e)
		n.place(&e, &prev)
		i := n.ks.pos[key]
		vol := e.volPos >= 0
		e.volPos = prev.volPos
		n.ks.setBytes(&n.ks.entries[i], e.bytes)
		ent := &n.ks.entries[i]
		ent.valueLen, ent.members, ent.kind, ent.expireAt, ent.lru, ent.ttlMark = e.valueLen, e.members, e.kind, e.expireAt, e.lru, e.ttlMark
		n.ks.setVolatile(i, vol)
	}
	if ttl > 0 {
		n.expiry.set(key, e.expireAt)
	} else {
		n.expiry.clear(key)
	}
}

// dropEntry removes key from the models (the caller deleted it from miniredis,
// or it is already gone).
func (n *Node) dropEntry(key string, at time.Duration) {
	e := n.ks.remove(key)
	n.mem.remove(&e, true)
	n.expiry.clear(key)
	if c := n.p.cow; c != nil {
		n.allocBuf = n.mem.allocs(&e, n.allocBuf[:0])
		for i, a := range n.allocBuf {
			if a.one {
				c.free(a.class, key, uint64(i+2))
			}
		}
		c.inPlace(regionMainTable, key, 0, n.cfg.cal.Memory.DictBucketBytes)
		if e.volPos >= 0 {
			c.inPlace(regionExpiresTable, key, 0, n.cfg.cal.Memory.DictBucketBytes)
		}
	}
}

// place puts e's new allocations (prev: the overwritten entry, nil for an
// insert) in slab holes or fresh memory and, while a fork child lives, dirties the
// pages the write touches (cow.go). It frees what an overwrite replaces.
func (n *Node) place(e, prev *entry) {
	c := n.p.cow
	bucket := n.cfg.cal.Memory.DictBucketBytes
	newAlloc := func(a alloc, count int64) {
		got := n.mem.reuse(a.class, count)
		if c != nil {
			for range min(got, 64*n.weightOf(e.key)) { // a huge set's members: the first pages suffice
				c.alloc(a.class, a.class)
			}
		}
	}
	n.allocBuf = n.mem.allocs(e, n.allocBuf[:0])
	cur := n.allocBuf
	switch {
	case prev == nil:
		for _, a := range cur {
			newAlloc(a, a.n)
		}
		if c != nil {
			c.inPlace(regionMainTable, e.key, 0, bucket)
			if e.volPos >= 0 {
				c.inPlace(regionExpiresTable, e.key, 0, bucket)
			}
		}
		return
	case prev.kind == kindSet && e.kind == kindSet:
		// SADD/SREM add or free members; the set's own allocations stay in place.
		grown := int64(e.members) - int64(prev.members)
		for i, a := range cur {
			switch {
			case a.inPlace:
				if c != nil {
					c.inPlace(a.class, e.key, uint64(i+2), a.class)
				}
			case a.n > 1 && grown > 0:
				newAlloc(a, grown)
			case a.n > 1 && grown < 0:
				n.mem.free(a.class, -grown)
			}
		}
		return
	}
	n.prevBuf = n.mem.allocs(prev, n.prevBuf[:0])
	for _, a := range n.prevBuf {
		if !a.keep && !a.inPlace {
			n.mem.free(a.class, a.n) // the old value
		}
	}
	for i, a := range cur {
		switch {
		case a.keep:
		case a.inPlace:
			if c != nil {
				// Salted by the allocation's position: a key's dictEntry and its
				// expires entry are different allocations of one size class.
				c.inPlace(a.class, e.key, uint64(i+2), a.class)
			}
		default:
			newAlloc(a, a.n)
		}
	}
	if c != nil {
		// The old value is freed after the new one is allocated (db.c dbSetValue).
		for i, a := range n.prevBuf {
			if !a.keep && !a.inPlace && a.one {
				c.free(a.class, e.key, uint64(i+2))
			}
		}
	}
	if c != nil && (prev.volPos >= 0) != (e.volPos >= 0) {
		c.inPlace(regionExpiresTable, e.key, 0, bucket)
	}
}

// appendDel appends the DEL an eviction or expiry propagates to the AOF.
func (n *Node) appendDel(key string) {
	if n.cfg.AOF {
		n.p.aofCurrent += respBytes([]any{"del", key})
	}
}

// observe updates the peaks and lets the OOM killer act.
func (n *Node) observe(at time.Duration) {
	used := n.mem.used()
	cow := n.cowBytes()
	rss := n.mem.rss() + cow
	n.ms.PeakUsedBytes = max(n.ms.PeakUsedBytes, used)
	if rss > n.ms.PeakRSSBytes {
		n.ms.PeakRSSBytes, n.ms.PeakRSSUsedBytes = rss, used
	}
	if cow > n.ms.PeakCOWBytes {
		n.ms.PeakCOWBytes, n.ms.PeakCOWUsedBytes = cow, used
	}
	n.ms.PeakKeys = max(n.ms.PeakKeys, n.mem.nkeys) // weighted: the real key count of a sampled node (weight.go)
	n.h.log(at, rss, n.p.dead)
	if sys := n.cfg.SystemMemory; sys > 0 && rss > sys && !n.p.dead && !n.h.managed {
		if n.ms.OOMUsedBytes == 0 || used < n.ms.OOMUsedBytes {
			n.ms.OOMUsedBytes, n.ms.OOMRSSBytes = used, rss
		}
		n.oomKill(at)
	}
}

// minPositive is the smaller of a and b, ignoring a when it is 0 (not set yet).
func minPositive(a, b int64) int64 {
	if a == 0 {
		return b
	}
	return min(a, b)
}

func (n *Node) cowBytes() int64 {
	if n.p.cow == nil {
		return 0
	}
	return n.p.cow.bytes()
}

// catchUp runs the node's internal events (expiries, the fork child's end, a
// restart, save points) that are due by t, in time order.
func (n *Node) catchUp(t time.Duration) {
	for {
		at, ev := n.nextEvent()
		if ev == evNone || at > t {
			break
		}
		n.at = max(n.at, at)
		switch ev {
		case evExpire:
			key, _ := n.expiry.popDue(at)
			if n.ks.get(key) != nil {
				n.mr.Del(key)
				n.dropEntry(key, at)
				n.appendDel(key) // expiries propagate a DEL
				n.stats.ExpiredKeys += n.weightOf(key)
				n.ms.Expired += n.weightOf(key)
				n.outbox = append(n.outbox, removal{key, Expired})
			}
		case evChildEnd:
			n.childDone(at)
		case evRestart:
			n.restart(at)
		case evLoaded:
			n.p.loading = false
		case evSavePoint:
			_ = n.startChild(childRDB, at)
		case evReplAttach, evReplFork, evReplOnline:
			n.replEvent(ev, at)
		}
		n.observe(at)
	}
	n.at = max(n.at, t)
	n.replPrune(t)
}

type eventKind uint8

const (
	evNone eventKind = iota
	evExpire
	evChildEnd
	evRestart
	evLoaded
	evSavePoint
	evReplAttach // replica.go: a replica attaches (full sync)
	evReplFork   // the sync's fork is due
	evReplOnline // the syncing replicas have loaded the RDB
)

// nextEvent is the earliest internal event; ties go in the order of eventKind.
func (n *Node) nextEvent() (time.Duration, eventKind) {
	best, kind := time.Duration(0), evNone
	consider := func(at time.Duration, k eventKind) {
		if kind == evNone || at < best {
			best, kind = at, k
		}
	}
	if at, ok := n.expiry.next(); ok {
		consider(at, evExpire)
	}
	if c := n.p.child; c != nil {
		consider(c.end, evChildEnd)
	}
	if n.p.dead {
		consider(n.p.restartAt, evRestart)
	}
	if n.p.loading {
		consider(n.p.loadedAt, evLoaded)
	}
	if at, ok := n.savePointDue(); ok {
		consider(max(at, n.at), evSavePoint)
	}
	n.replNext(consider)
	return best, kind
}
