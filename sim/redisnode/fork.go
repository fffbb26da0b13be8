package redisnode

import (
	"errors"
	"slices"
	"sort"
	"time"
)

// Behavior: Redis 7.0 persistence that forks — BGSAVE (save points and explicit
// requests) and AOF rewrites (automatic and explicit) — and what a fork costs: the
// stall, copy-on-write memory, the OOM killer, fork failures and MISCONF.
//
//   - Save points (server.c serverCron): with "save <seconds> <changes>", a BGSAVE
//     starts when dirty ≥ changes and more than seconds passed since the last
//     successful save, checked by a 10 Hz cron; after a failed BGSAVE the next try
//     waits CONFIG_BGSAVE_RETRY_DELAY (5 s). dirty counts written keys; a successful
//     save subtracts the dirty count it started with.
//   - AOF (appendonly yes): every successful write command is appended in RESP
//     (scripts as their EVALSHA, close to the effects Redis 7 propagates); when
//     aof_current_size > auto-aof-rewrite-min-size and has grown by
//     auto-aof-rewrite-percentage over the size after the last rewrite (the same
//     growth formula as serverCron), a rewrite forks. Its result is the dataset's
//     serialized size (RDB preamble) plus what was appended meanwhile (7.0's
//     incremental file).
//   - Only one child at a time (hasActiveChildProcess): an explicit BGSAVE during a
//     rewrite, or a rewrite during a BGSAVE, is scheduled and starts when the child
//     ends (rdb_bgsave_scheduled / aof_rewrite_scheduled).
//   - Fork: the parent is blocked for the calibrated fork time of its used memory
//     (calibration.ForkTime, or Config.ForkTimeBase and ForkTimePerGiB); every command waits behind it
//     (latency.go). The child lives used / snapshot_rate (calibration.SnapshotDuration).
//     While it lives every parent write copies pages (cow.go) and RSS = parent RSS +
//     copied pages; LRU/LFU fields are not touched (db.c lookupKey).
//   - vm.overcommit_memory (Linux mm/util.c __vm_enough_memory, which fork's
//     dup_mmap (kernel/fork.c) calls for each private writable mapping it copies;
//     Documentation/mm/overcommit-accounting.rst; Redis's startup warning
//     "Background save may fail under low memory condition"): 1 always succeeds;
//     0 (heuristic) as Linux does it since 5.2 (commit 8c7829b04c52, 2019: the
//     OVERCOMMIT_GUESS branch is "if (pages > totalram_pages() + total_swap_pages)
//     goto error"), refusing only a single mapping larger than RAM + swap — the
//     heap, at most the parent's RSS, so a fork fails only when RSS > system memory
//     (no swap) and otherwise succeeds, leaving the OOM killer to act when the
//     copies outgrow the machine; with Config.OvercommitPre52, 0 is the older
//     heuristic the public write-ups describe, which compared each mapping with the
//     free memory (page cache and free pages), so a fork fails when the parent's
//     RSS > system − parent RSS; 2 (never overcommit) refuses it when parent +
//     child commit (2 × RSS) exceed CommitLimit = 50 % of RAM (overcommit_ratio,
//     no swap).
//     A failed BGSAVE sets lastbgsave_status = err: with save points configured and
//     stop-writes-on-bgsave-error yes, writes get MISCONF until a save succeeds
//     (server.c writeCommandsDeniedByDiskError — only with save points, as in Redis).
//   - OOM killer: when RSS (+ copied pages) passes system_memory the kernel kills the
//     largest process, the parent (Instaclustr's and UrbanClap's write-ups (docs/design.md): nodes at 70–80 % of
//     memory crash in BGSAVE / AOF rewrite). Every key is lost; the node refuses
//     connections for Config.RestartDelay, then answers LOADING while it loads (at
//     Config.LoadRate) from the AOF when appendonly is on (everything acknowledged
//     before the kill), else from the last completed RDB snapshot (the dataset at
//     that snapshot's fork, deleted keys resurrected, newer writes gone), else empty.
//     OnRemove hears Lost for every key that does not come back with its value, at the
//     kill; keys that come back but expired during the restart are Expired.
//
// Events (the child's end, a restart, a due save point) are processed lazily, at
// their own virtual times, whenever the node is touched (a call, Advance, any
// method), so no engine timers are needed and nothing depends on when they are
// observed. Not modelled: disk errors and disk speed (saving is CPU-bound here,
// field notes), fsync policies (appendfsync everysec loses up to a second: ignored),
// rdb-key-save-delay, diskless replication, and the child being killed instead of
// the parent.

// Errors of the explicit persistence requests.
var (
	ErrSaveInProgress    = errors.New("redisnode: background save already in progress")
	ErrRewriteInProgress = errors.New("redisnode: background AOF rewrite already in progress")
	ErrForkFailed        = errors.New("redisnode: fork: cannot allocate memory (vm.overcommit_memory)")
	ErrServerDown        = errors.New("redisnode: server is not running (restarting or loading)")
)

type childKind uint8

const (
	childRDB childKind = iota
	childAOF
	childSync // a replica's full sync (replica.go)
)

type child struct {
	kind        childKind
	start, end  time.Duration
	dirtyAtFork int64
	serialized  int64
	aofAtFork   int64
	snap        *snapshot
}

// snapshot is a point-in-time copy of the dataset (an RDB file, or the AOF's
// content at a kill), sorted by key.
type snapshot struct {
	items []snapItem
}

type snapItem struct {
	key      string
	value    string
	members  []string
	kind     uint8
	expireAt time.Duration // 0: no TTL
}

func (s *snapshot) find(key string) (*snapItem, bool) {
	if s == nil {
		return nil, false
	}
	i := sort.Search(len(s.items), func(i int) bool { return s.items[i].key >= key })
	if i < len(s.items) && s.items[i].key == key {
		return &s.items[i], true
	}
	return nil, false
}

// persist is the node's persistence and process state.
type persist struct {
	dirty        int64
	lastSave     time.Duration
	lastTry      time.Duration
	lastBGSaveOK bool
	lastAOFTry   time.Duration
	aofFailed    bool

	child            *child
	cow              *cowTracker
	bgsaveScheduled  bool
	rewriteScheduled bool

	aofCurrent, aofBase int64
	lastRDB             *snapshot

	dead        bool
	restartAt   time.Duration
	restartFrom *snapshot
	lostAtKill  map[string]bool
	loading     bool
	loadedAt    time.Duration
}

// BGSave starts a background save now, as the BGSAVE command. During an AOF
// rewrite it is scheduled for the rewrite's end (nil error). It returns
// ErrSaveInProgress, ErrForkFailed or ErrServerDown otherwise.
func (n *Node) BGSave() error {
	return n.request(childRDB)
}

// AOFRewrite starts a background AOF rewrite now, as BGREWRITEAOF. During a
// BGSAVE it is scheduled for the save's end (nil error).
func (n *Node) AOFRewrite() error {
	return n.request(childAOF)
}

func (n *Node) request(kind childKind) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.settle()
	now := n.eng.Now()
	if c := n.p.child; c != nil {
		switch {
		case c.kind == kind && kind == childRDB:
			return ErrSaveInProgress
		case c.kind == kind:
			return ErrRewriteInProgress
		case kind == childRDB:
			n.p.bgsaveScheduled = true
		default:
			n.p.rewriteScheduled = true
		}
		return nil
	}
	if w := n.h.wait; w.set {
		// Waiting for its host's turn (host.go): the same request is already
		// scheduled; the other kind runs after it, as during a child.
		if w.kind != kind {
			n.p.bgsaveScheduled = n.p.bgsaveScheduled || kind == childRDB
			n.p.rewriteScheduled = n.p.rewriteScheduled || kind == childAOF
		}
		return nil
	}
	err := n.startChild(kind, now)
	n.observe(now)
	return err
}

// misconf reports whether writes are refused with MISCONF.
func (n *Node) misconf() bool {
	return !n.cfg.AllowWritesOnBGSaveError && len(n.cfg.savePoints) > 0 && !n.p.lastBGSaveOK
}

// forkAllowed applies vm.overcommit_memory to a fork of a parent of rss bytes.
func (n *Node) forkAllowed(rss int64) bool {
	sys := n.cfg.SystemMemory
	if sys == 0 {
		return true
	}
	others := n.h.others // the other instances of its host (host.go; 0 alone)
	switch {
	case n.cfg.OvercommitMemory == 1:
		return true
	case n.cfg.OvercommitMemory == 2:
		return 2*rss+others <= sys/2
	case n.cfg.OvercommitPre52:
		return rss <= sys-rss-others
	}
	return rss <= sys
}

// startChild forks a BGSAVE or AOF-rewrite child at at; on a host with a
// staggered schedule it waits for the host's turn instead (host.go).
func (n *Node) startChild(kind childKind, at time.Duration) error {
	if n.p.dead || n.p.loading {
		return ErrServerDown
	}
	if n.h.gate {
		n.h.enqueue(kind, at)
		return nil
	}
	return n.forkNow(kind, at)
}

// forkNow forks a BGSAVE or AOF-rewrite child at at.
func (n *Node) forkNow(kind childKind, at time.Duration) error {
	if n.p.child != nil {
		panic("redisnode: fork while a child is running")
	}
	used, rss := n.mem.used(), n.mem.rss()
	switch kind {
	case childRDB:
		n.p.lastTry = at
	case childAOF:
		n.p.lastAOFTry = at
	}
	if !n.forkAllowed(rss) {
		n.ms.ForkFailures++
		n.ms.ForkFailedUsedBytes = minPositive(n.ms.ForkFailedUsedBytes, used)
		switch kind {
		case childRDB:
			n.p.lastBGSaveOK = false
		case childAOF:
			n.p.aofFailed = true
		}
		return ErrForkFailed
	}
	stall := n.cfg.forkStall(used)
	n.serve(max(n.busyUntil, at), stall, 0)
	c := &child{
		kind: kind, start: at, end: at + stall + n.cfg.snapshotDuration(used),
		dirtyAtFork: n.p.dirty, serialized: n.mem.serializedBytes(), aofAtFork: n.p.aofCurrent,
	}
	if kind == childRDB && !n.cfg.AOF {
		c.snap = n.snapshotIndex()
	}
	n.p.child = c
	n.p.cow = newCOWTracker(n.cfg.PageSize, n.mem.classBytes,
		n.cfg.cal.DictBytes(n.mem.nkeys), n.cfg.cal.DictBytes(n.mem.nvol), n.cfg.cal.COW.BaselineBytes)
	n.p.cow.wt = n.weightOf
	n.h.forked(at, c.end)
	n.ms.Forks++
	n.ms.LastForkStall = int64(stall)
	return nil
}

// childDone ends the running child successfully at at.
func (n *Node) childDone(at time.Duration) {
	c := n.p.child
	switch c.kind {
	case childRDB:
		n.p.lastSave = at
		n.p.dirty = max(0, n.p.dirty-c.dirtyAtFork)
		n.p.lastBGSaveOK = true
		n.ms.Saves++
		if c.snap != nil {
			n.p.lastRDB = c.snap
		}
	case childAOF:
		n.p.aofBase = c.serialized + (n.p.aofCurrent - c.aofAtFork)
		n.p.aofCurrent = n.p.aofBase
		n.p.aofFailed = false
		n.ms.AOFRewrites++
	case childSync:
		n.replChildDone(at)
	}
	n.p.child, n.p.cow = nil, nil
	switch {
	case n.p.rewriteScheduled:
		n.p.rewriteScheduled = false
		_ = n.startChild(childAOF, at)
	case n.p.bgsaveScheduled:
		n.p.bgsaveScheduled = false
		_ = n.startChild(childRDB, at)
	default:
		n.maybeRewrite(at)
	}
}

// savePointDue is when the next save point fires, if one is satisfied.
func (n *Node) savePointDue() (time.Duration, bool) {
	if n.p.child != nil || n.p.dead || n.p.loading || len(n.cfg.savePoints) == 0 || n.h.wait.set {
		return 0, false
	}
	var best time.Duration
	found := false
	for _, sp := range n.cfg.savePoints {
		if n.p.dirty < sp.Changes {
			continue
		}
		at := n.p.lastSave + sp.After + cronPeriod
		if !n.p.lastBGSaveOK {
			at = max(at, n.p.lastTry+bgsaveRetryDelay+cronPeriod)
		}
		if !found || at < best {
			best, found = at, true
		}
	}
	return best, found
}

// maybeRewrite starts an automatic AOF rewrite when the AOF has grown enough.
func (n *Node) maybeRewrite(at time.Duration) {
	s := n.cfg
	if !s.AOF || n.p.child != nil || n.p.dead || n.p.loading || n.h.wait.set || s.AOFRewritePercentage == 0 ||
		n.p.aofCurrent <= s.AOFRewriteMinSize {
		return
	}
	if n.p.aofFailed && at < n.p.lastAOFTry+bgsaveRetryDelay {
		return
	}
	base := max(n.p.aofBase, 1)
	if growth := n.p.aofCurrent*100/base - 100; growth >= int64(s.AOFRewritePercentage) {
		_ = n.startChild(childAOF, at)
	}
}

// snapshotIndex copies the dataset from the keyspace (an RDB at fork time).
func (n *Node) snapshotIndex() *snapshot {
	s := &snapshot{items: make([]snapItem, 0, n.ks.len())}
	for i := range n.ks.entries {
		e := &n.ks.entries[i]
		it := snapItem{key: e.key, kind: e.kind}
		if e.volPos >= 0 {
			it.expireAt = e.expireAt
		}
		n.readValue(&it)
		s.items = append(s.items, it)
	}
	slices.SortFunc(s.items, func(a, b snapItem) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	return s
}

// snapshotKeys copies the given keys (sorted) from miniredis, settled or not.
func (n *Node) snapshotKeys(keys []string, at time.Duration) *snapshot {
	s := &snapshot{items: make([]snapItem, 0, len(keys))}
	for _, k := range keys {
		it := snapItem{key: k, kind: kindOther}
		switch n.mr.Type(k) {
		case "string":
			it.kind = kindString
		case "set":
			it.kind = kindSet
		}
		if dl, ok := n.expiry.at[k]; ok {
			it.expireAt = dl
		} else if ttl := n.mr.TTL(k); ttl > 0 {
			it.expireAt = at + ttl
		}
		n.readValue(&it)
		s.items = append(s.items, it)
	}
	return s
}

func (n *Node) readValue(it *snapItem) {
	switch it.kind {
	case kindString:
		it.value, _ = n.mr.Get(it.key)
	case kindSet:
		it.members, _ = n.mr.Members(it.key)
	}
}

// sameValue reports whether key in miniredis holds what it holds in s.
func (n *Node) sameValue(s *snapshot, key string) bool {
	it, ok := s.find(key)
	if !ok {
		return false
	}
	switch it.kind {
	case kindString:
		v, err := n.mr.Get(key)
		return err == nil && v == it.value
	case kindSet:
		ms, err := n.mr.Members(key)
		return err == nil && slices.Equal(ms, it.members)
	}
	return n.mr.Exists(key)
}

// oomKill ends the server at at: its replica is promoted (replica.go) or all
// data is lost and it restarts after RestartDelay.
func (n *Node) oomKill(at time.Duration) {
	n.ms.OOMKills++
	n.h.killed(at, n.p.child != nil)
	if n.promote(at, n.repl.applying) {
		return
	}
	n.kill(at)
}

// kill ends the server at at: all data lost; it restarts after RestartDelay.
func (n *Node) kill(at time.Duration) {
	keys := n.mr.Keys() // sorted; includes writes not settled yet
	src := n.p.lastRDB
	if n.cfg.AOF {
		src = n.snapshotKeys(keys, at)
	}
	lost := map[string]bool{}
	for _, k := range keys {
		if !n.sameValue(src, k) {
			lost[k] = true
			n.outbox = append(n.outbox, removal{k, Lost})
		}
	}
	for k := range lost {
		n.ms.LostKeys += n.weightOf(k)
	}
	n.mr.FlushAll()
	n.reset()
	n.pending = nil
	n.p.child, n.p.cow = nil, nil
	n.p.bgsaveScheduled, n.p.rewriteScheduled = false, false
	n.p.dead = true
	n.p.restartAt = at + n.cfg.RestartDelay
	n.p.restartFrom = src
	n.p.lostAtKill = lost
	n.p.dirty = 0
	n.replKilled()
}

// restart starts the server again at at, loading its AOF or last RDB.
func (n *Node) restart(at time.Duration) {
	n.p.dead = false
	src, lost := n.p.restartFrom, n.p.lostAtKill
	n.p.restartFrom, n.p.lostAtKill = nil, nil
	if src != nil {
		for i := range src.items {
			it := &src.items[i]
			if it.expireAt > 0 && it.expireAt <= at {
				if !lost[it.key] {
					n.stats.ExpiredKeys += n.weightOf(it.key)
					n.ms.Expired += n.weightOf(it.key)
					n.outbox = append(n.outbox, removal{it.key, Expired})
				}
				continue
			}
			switch it.kind {
			case kindString:
				_ = n.mr.Set(it.key, it.value)
			case kindSet:
				_, _ = n.mr.SAdd(it.key, it.members...)
			default:
				continue
			}
			if it.expireAt > 0 {
				n.mr.SetTTL(it.key, it.expireAt-at)
			}
			n.sync(it.key, at, false)
		}
	}
	n.p.loading = true
	n.p.loadedAt = at + n.cfg.loadDuration(n.mem.used())
	n.p.lastSave, n.p.dirty, n.p.lastBGSaveOK = at, 0, true
	if n.cfg.AOF {
		n.p.aofCurrent = n.mem.serializedBytes()
		n.p.aofBase = n.p.aofCurrent
	}
}
