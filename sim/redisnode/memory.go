package redisnode

import (
	"fmt"

	"github.com/spillway-sim/spillway/sim/calibration"
)

// Behavior: used_memory and RSS of the modelled Redis 7.0 node, kept incrementally
// from the hook's view of every key the clients write or delete and of every key
// the models expire, evict or lose.
//
// used_memory = the empty server's measured baseline (calibration
// Memory.BaselineUsedBytes) + Config.BaselineUsed + Σ per-key bytes + the main
// dict's bucket table + the expires dict's bucket table. Per key, allocation by
// allocation rounded to jemalloc size classes (calibration/memory.go, which cites
// db.c dbAdd, object.c createStringObject, sds.h, dict.h and db.c setExpire): a
// dictEntry, the key's SDS, the value (one EMBSTR allocation up to 44 bytes, else a
// robj plus a RAW SDS) and, with a TTL, a dictEntry in db->expires. The tables are
// settled power-of-two bucket arrays (dict.c _dictExpandIfNeeded), so used memory
// steps when the key count crosses a power of two — as INFO shows.
//
// The value size is read from miniredis after the command ran (mr.Get / mr.Members),
// never parsed from the command, so any command or script that writes a key is
// accounted the same way.
//
// Sets (the core's partition manifests) follow Redis 7.0's hashtable encoding
// (t_set.c: string members never use intset; listpack sets arrived in 7.2): a robj, a
// dict struct (56 bytes in 7.0 dict.h), its bucket table and per member a dictEntry
// plus an SDS; member lengths are taken as their average. Other types are costed as
// a robj plus their serialized bytes (the core writes none).
//
// RSS = used_memory × the calibrated fragmentation ratio (calibration
// RSSBytes), plus the pages copied on write while a fork child lives (cow.go).
//
// Peaks (MemoryStats Peak*, and the levels of an OOM kill or a refused fork) are
// updated after every command's effects and every internal event (node.go
// observe), in virtual-time order: they are exact, whenever they are read.
//
// Not modelled: client query/output buffers, the replication backlog and the AOF
// buffer (Redis also leaves the last two out of the maxmemory check: evict.c
// freeMemoryGetNotCountedMemory), integer-encoded values, the transient second
// table during a rehash and the deferred resize while a child exists, and RSS that
// stays high after deletions (jemalloc keeps freed pages until it purges them): here
// RSS follows used_memory down.

// MemoryStats is the node's memory model and its persistence counters.
type MemoryStats struct {
	UsedBytes     int64 // used_memory now
	RSSBytes      int64 // used_memory_rss now: used × fragmentation + COWBytes
	COWBytes      int64 // pages copied since the running fork (0 without a child)
	PeakUsedBytes int64 // used_memory_peak
	PeakRSSBytes  int64 // highest RSS including copied pages (redis_rss_peak_bytes)
	PeakCOWBytes  int64 // highest COWBytes of any fork (redis_cow_peak_bytes)
	PeakKeys      int64 // most keys held at once (redis_keys_peak)
	// PeakRSSUsedBytes is used_memory at the moment RSS peaked: PeakRSSBytes /
	// PeakRSSUsedBytes is the worst footprint per byte of data the node reached.
	PeakRSSUsedBytes int64
	// PeakCOWUsedBytes is used_memory at the moment COWBytes peaked.
	PeakCOWUsedBytes int64
	// OOMUsedBytes and OOMRSSBytes are used_memory and RSS (copied pages
	// included) at the lowest-used OOM kill (0: never killed).
	OOMUsedBytes, OOMRSSBytes int64
	// ForkFailedUsedBytes is the lowest used_memory at which a fork was refused
	// (0: none was).
	ForkFailedUsedBytes int64
	DatasetBytes        int64 // key and value bytes (the payload, without overhead)
	BaselineBytes       int64 // used_memory with no keys (the server's own allocations)
	MaxMemory           int64 // maxmemory (0: unlimited)
	SystemMemory        int64 // the machine's memory (0: unlimited)

	Keys, VolatileKeys int64

	Evicted         int64 // keys evicted by maxmemory
	Expired         int64 // keys expired in virtual time
	RejectedOOM     int64 // write commands answered "OOM command not allowed ..."
	RejectedMisconf int64 // write commands answered "MISCONF ..."
	RejectedWrites  int64 // RejectedOOM + RejectedMisconf
	Forks           int64 // successful fork() calls (BGSAVE and AOF rewrites)
	ForkFailures    int64 // fork() refused by the overcommit policy
	OOMKills        int64 // times the OOM killer ended the server
	LostKeys        int64 // keys lost to OOM kills (not restored at restart)
	Saves           int64 // completed RDB snapshots
	AOFRewrites     int64 // completed AOF rewrites
	LastForkStall   int64 // nanoseconds the last fork blocked the server

	ChildActive  bool  // a BGSAVE or AOF rewrite child is running
	Misconf      bool  // writes are refused with MISCONF
	Available    bool  // the server accepts commands (not down, restarting or loading)
	AOFBytes     int64 // aof_current_size
	AOFBaseBytes int64 // aof_base_size (size after the last rewrite)
	Dirty        int64 // changes since the last successful save
}

// Key kinds the memory model distinguishes.
const (
	kindString uint8 = iota
	kindSet
	kindOther
)

// Redis 7.0 struct sizes the calibration package does not carry (dict.h).
const (
	dictStructBytes = 56 // struct dict in 7.0: type, ht_table[2], ht_used[2], rehashidx, pauserehash, ht_size_exp[2]
)

// alloc is n allocations of one size class of a key. inPlace allocations (the
// dict entries) are written where they are when the key is overwritten; the others
// are new allocations of an overwrite. keep marks allocations an overwrite does not
// touch (the key's SDS).
type alloc struct {
	class   int64
	n       int64
	inPlace bool
	keep    bool
	// one is true for an allocation a key holds once (all but a set's
	// members), even when n counts the w keys a sampled key stands for
	// (weight.go): the COW model frees and places it per key.
	one bool
}

// memModel is the used-memory accounting of one node.
type memModel struct {
	cal      *calibration.Calibration
	baseline int64
	wt       func(key string) int64 // keys each key stands for (weight.go)

	keyBytes int64 // Σ per-key bytes
	nkeys    int64
	nvol     int64
	dataset  int64 // Σ key + value bytes
	repl     int64 // replication backlog and replica buffers (replica.go)

	// classBytes is the bytes of live allocations per jemalloc size class (the
	// regions copy-on-write pages live in); freedBytes is freed, not yet reused
	// bytes per class (slab holes new allocations fill first).
	classBytes map[int64]int64
	freedBytes map[int64]int64

	buf []alloc
}

func newMemModel(cal *calibration.Calibration, extraBaseline int64) *memModel {
	return &memModel{
		cal:        cal,
		wt:         unweighted,
		baseline:   cal.Memory.BaselineUsedBytes + extraBaseline,
		classBytes: map[int64]int64{},
		freedBytes: map[int64]int64{},
	}
}

// used is used_memory.
func (m *memModel) used() int64 {
	return m.baseline + m.keyBytes + m.cal.DictBytes(m.nkeys) + m.cal.DictBytes(m.nvol) + m.repl
}

// rss is the parent's resident memory without copied pages.
func (m *memModel) rss() int64 { return m.cal.RSSBytes(m.used()) }

// sdsAlloc is the allocation of an SDS string of n bytes (sds.c sdsReqType).
func (m *memModel) sdsAlloc(n int64) int64 {
	var hdr int64
	switch {
	case n == 0:
		hdr = 3
	case n < 1<<5:
		hdr = 1
	case n < 1<<8:
		hdr = 3
	case n < 1<<16:
		hdr = 5
	case n < 1<<32:
		hdr = 9
	default:
		hdr = 17
	}
	return m.cal.SizeClass(hdr + n + 1)
}

// allocs appends the allocations of e to buf.
func (m *memModel) allocs(e *entry, buf []alloc) []alloc {
	c := m.cal.Memory
	a := buf
	entryClass := m.cal.SizeClass(c.DictEntryBytes)
	a = append(a, alloc{class: entryClass, n: 1, inPlace: true}, alloc{class: m.sdsAlloc(int64(len(e.key))), n: 1, keep: true})
	v := int64(e.valueLen)
	switch e.kind {
	case kindString:
		if int(v) <= c.EmbstrMaxBytes {
			a = append(a, alloc{class: m.cal.SizeClass(c.RobjBytes + 3 + v + 1), n: 1})
		} else {
			a = append(a, alloc{class: m.cal.SizeClass(c.RobjBytes), n: 1}, alloc{class: m.sdsAlloc(v), n: 1})
		}
	case kindSet:
		a = append(a, alloc{class: m.cal.SizeClass(c.RobjBytes), n: 1, inPlace: true},
			alloc{class: m.cal.SizeClass(dictStructBytes), n: 1, inPlace: true})
		if n := int64(e.members); n > 0 {
			a = append(a, alloc{class: m.cal.SizeClass(m.cal.DictBuckets(n) * c.DictBucketBytes), n: 1, inPlace: true},
				alloc{class: entryClass, n: n}, alloc{class: m.sdsAlloc(v / n), n: n})
		}
	default:
		a = append(a, alloc{class: m.cal.SizeClass(c.RobjBytes), n: 1}, alloc{class: m.sdsAlloc(v), n: 1})
	}
	if e.volPos >= 0 {
		a = append(a, alloc{class: entryClass, n: 1, inPlace: true})
	}
	w := m.wt(e.key)
	for i := len(buf); i < len(a); i++ {
		a[i].one = a[i].n == 1
		a[i].n *= w
	}
	return a
}

// bytesOf is the used memory of e (without its share of the dict tables).
func (m *memModel) bytesOf(e *entry) int64 {
	var b int64
	m.buf = m.allocs(e, m.buf[:0])
	for _, a := range m.buf {
		b += a.class * a.n
	}
	return b
}

// add accounts a key entering the keyspace (e.bytes must be bytesOf(e)).
func (m *memModel) add(e *entry) {
	m.buf = m.allocs(e, m.buf[:0])
	for _, a := range m.buf {
		m.classBytes[a.class] += a.class * a.n
	}
	w := m.wt(e.key)
	m.keyBytes += e.bytes
	m.nkeys += w
	if e.volPos >= 0 {
		m.nvol += w
	}
	m.dataset += w * (int64(len(e.key)) + int64(e.valueLen))
}

// remove accounts a key leaving the keyspace; with free its allocations become
// slab holes (a delete), without it the caller frees what an overwrite replaces.
func (m *memModel) remove(e *entry, free bool) {
	m.buf = m.allocs(e, m.buf[:0])
	for _, a := range m.buf {
		m.classBytes[a.class] -= a.class * a.n
		if m.classBytes[a.class] < 0 {
			panic(fmt.Sprintf("redisnode: size class %d went negative removing %q", a.class, e.key))
		}
		if free {
			m.free(a.class, a.n)
		}
	}
	w := m.wt(e.key)
	m.keyBytes -= e.bytes
	m.nkeys -= w
	if e.volPos >= 0 {
		m.nvol -= w
	}
	m.dataset -= w * (int64(len(e.key)) + int64(e.valueLen))
	if m.nkeys < 0 || m.nvol < 0 || m.keyBytes < 0 {
		panic(fmt.Sprintf("redisnode: memory accounting went negative removing %q (keys %d, volatile %d, bytes %d)",
			e.key, m.nkeys, m.nvol, m.keyBytes))
	}
}

// free records n freed allocations of class as slab holes.
func (m *memModel) free(class, n int64) { m.freedBytes[class] += class * n }

// reuse takes up to n allocations of class from the slab holes and returns how
// many it found (those land in old, possibly shared pages; the rest in fresh memory).
func (m *memModel) reuse(class, n int64) int64 {
	got := min(n, m.freedBytes[class]/class)
	m.freedBytes[class] -= got * class
	return got
}

// serializedBytes estimates the RDB (and rewritten AOF) size of the dataset: key
// and value bytes plus a few bytes of type and length encoding per key and an
// 8-byte expire per volatile key (rdb.c rdbSaveKeyValuePair).
func (m *memModel) serializedBytes() int64 {
	return m.dataset + 3*m.nkeys + 9*m.nvol
}
