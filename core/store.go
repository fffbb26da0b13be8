package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store keeps per-key context in memory, partitioned as the log is, and hands it
// over through Redis: Revoked (or Spill) on revoke, SpillAll on shutdown, Restore
// on a miss.
//
// All methods are safe for concurrent use. Get and Put touch only one partition's
// lock; Spill of one partition does not block processing of another.
//
// Ownership. A partition is unmanaged until Assigned claims it (writes then use the
// store's generation, as set by SetGeneration or the last Assigned). Assigned makes
// it owned under that call's generation: every write of the partition carries that
// claim, and the fence refuses it once a newer generation claimed the partition.
// Revoked and Lost release it: its entries leave memory, and until it is assigned
// again Put ignores it, Get misses, Restore does not ask Redis and nothing of it is
// ever written.
type Store[V any] struct {
	cfg   config
	rdb   redis.UniversalClient
	codec Codec[V]

	parts  atomic.Pointer[[]*partition[V]] // indexed by partition number; grown copy-on-write
	growMu sync.Mutex

	gen           atomic.Int64 // generation of unmanaged partitions (SetGeneration, last Assigned)
	epoch         time.Time    // the clock's reading at New; timers count from it (monotonic with SystemClock)
	lastCkpt      atomic.Int64 // nanos since epoch of the last checkpoint (Checkpoint strategy)
	syncRetryAt   atomic.Int64 // nanos since epoch before which Sync is deferred (Redis refused the last one)
	syncFailures  atomic.Int64 // consecutive Syncs that wrote nothing
	scriptsLoaded atomic.Bool  // SCRIPT LOAD done once; NOSCRIPT (a restarted server) still falls back to EVAL
	stats         counters
	topo          refresher // Cluster slot-map reloads after failures
}

// ownership is a partition's standing in the store.
type ownership uint8

const (
	unmanaged ownership = iota // never assigned nor released: written with the store's generation
	owned                      // claimed by Assigned: written with its claim
	released                   // revoked or lost: not held, not written, Put ignored
)

// partition is one partition's entries. Its mutex is a plain Mutex, not an
// RWMutex: a partition is read by the goroutine that processes it, so readers
// rarely meet, and a Mutex lets the hit counter live under the lock (a local hit
// costs two atomic instructions instead of three).
type partition[V any] struct {
	mu        sync.Mutex
	m         map[string]entry[V]
	hits      uint64   // local hits, counted under mu
	dirty     []string // keys listed for the next Sync (WriteThrough, Checkpoint), without duplicates
	seq       uint64   // the last version handed out; never reset, so a version is never reused
	removed   uint64   // raised by every removal from m other than a spill's settle (Delete, drops, releases): partSnap
	own       ownership
	claim     int64 // generation of the claim (owned)
	fencedOut bool  // released because a newer generation holds the fence
	// What this store last made of the partition's fence (fencing): the generation
	// it set it to (-1: never), when, and whether a write found it gone since.
	fenceGen  int64
	fenceAt   int64 // nanos since epoch
	fenceLost atomic.Bool
	// wlock admits one writer (Spill, SpillAll, Revoked, Sync) of the partition at a
	// time, so that an older version can never reach Redis after a newer one.
	wlock chan struct{}
}

type entry[V any] struct {
	v      V
	asOf   int64  // Unix millis of the last update
	ver    uint64 // the partition's sequence number of the last update
	ackAt  int64  // Unix millis when Redis acknowledged exactly ver (0: not acknowledged)
	ackSum uint32 // checksum of the envelope Redis acknowledged for ver
	listed bool   // in the partition's dirty list
}

// MaxGeneration is the largest consumer-group generation the store accepts (the
// envelope stores it as a varint the decoder bounds to 2^62).
const MaxGeneration = 1 << 62

func checkGeneration(gen int64) error {
	if gen < 0 || gen > MaxGeneration {
		return fmt.Errorf("core: generation %d is outside [0, 2^62]", gen)
	}
	return nil
}

// New builds a store over any go-redis client: *redis.Client, *redis.ClusterClient,
// *redis.Ring, a Sentinel failover client, or a client connected to miniredis.
// Options are validated once, here.
func New[V any](rdb redis.UniversalClient, codec Codec[V], opts ...Opt) (*Store[V], error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if rdb == nil && cfg.strategy != MemoryOnly {
		return nil, errors.New("core: a Redis client is required unless the strategy is memory-only")
	}
	if codec == nil {
		return nil, errors.New("core: a codec is required")
	}
	s := &Store[V]{cfg: cfg, rdb: rdb, codec: codec, epoch: cfg.clock.Now()}
	empty := []*partition[V]{}
	s.parts.Store(&empty)
	return s, nil
}

// Strategy reports the store's strategy.
func (s *Store[V]) Strategy() Strategy { return s.cfg.strategy }

// Generation reports the generation of the last Assigned or SetGeneration: the one
// unmanaged partitions are written with.
func (s *Store[V]) Generation() int64 { return s.gen.Load() }

// SetGeneration sets the generation unmanaged partitions are written with, without
// claiming any (Assigned does both). It refuses a generation outside [0, 2^62].
func (s *Store[V]) SetGeneration(gen int64) error {
	if err := checkGeneration(gen); err != nil {
		return err
	}
	s.gen.Store(gen)
	return nil
}

// since is the time elapsed since the store was built, by its clock: monotonic
// with SystemClock (time.Time.Sub uses the monotonic reading), so a wall-clock
// step cannot stop checkpoints or Sync's back-off.
func (s *Store[V]) since() int64 { return int64(s.cfg.clock.Now().Sub(s.epoch)) }

// Stats returns a snapshot of the store's counters.
func (s *Store[V]) Stats() Stats {
	st := s.stats.snapshot()
	for _, pt := range *s.parts.Load() {
		if pt != nil {
			pt.mu.Lock()
			st.LocalHits += pt.hits
			pt.mu.Unlock()
		}
	}
	return st
}

func (s *Store[V]) part(p int32) *partition[V] {
	ps := *s.parts.Load()
	if p < 0 || int(p) >= len(ps) {
		return nil
	}
	return ps[p]
}

func (s *Store[V]) partOrCreate(p int32) *partition[V] {
	if pt := s.part(p); pt != nil {
		return pt
	}
	if p < 0 {
		panic(fmt.Sprintf("core: negative partition %d", p))
	}
	s.growMu.Lock()
	defer s.growMu.Unlock()
	old := *s.parts.Load()
	if int(p) < len(old) && old[p] != nil {
		return old[p]
	}
	ps := slices.Clone(old)
	if int(p) >= len(ps) {
		ps = append(ps, make([]*partition[V], int(p)+1-len(ps))...)
	}
	ps[p] = &partition[V]{m: make(map[string]entry[V]), wlock: make(chan struct{}, 1), fenceGen: -1}
	s.parts.Store(&ps)
	return ps[p]
}

// Get returns the context of key in partition p from memory. It never touches
// Redis: on a miss, call Restore (or GetOrRestore) for the poll batch.
func (s *Store[V]) Get(p int32, key string) (V, bool) {
	if pt := s.part(p); pt != nil {
		pt.mu.Lock()
		e, ok := pt.m[key]
		if ok {
			pt.hits++
		}
		pt.mu.Unlock()
		if ok {
			return e.v, true
		}
	}
	s.stats.localMisses.Add(1)
	var zero V
	return zero, false
}

// GetBatch looks up every key of a poll batch in memory: vals[i], found[i] for
// keys[i] (vals and found must be at least len(keys) long), in any partition
// order. It returns the number found and counts the same metrics as Get.
//
// It locks each partition once for the whole batch instead of once per key,
// so the lookups overlap in the CPU instead of each waiting behind a lock's
// memory barrier: on a store larger than the CPU cache it is several times
// cheaper per key than Get in a loop. The locks are taken in partition order, so
// concurrent batches cannot deadlock; a batch over more than maxBatchLocks
// partitions locks one run of keys at a time instead.
func (s *Store[V]) GetBatch(keys []KeyRef, vals []V, found []bool) int {
	_, _ = vals[:len(keys)], found[:len(keys)]
	var buf [maxBatchLocks]int32
	parts := buf[:0]
	for i, k := range keys {
		if i > 0 && k.Partition == keys[i-1].Partition || slices.Contains(parts, k.Partition) {
			continue
		}
		if len(parts) == maxBatchLocks {
			parts = nil // too many: lock run by run
			break
		}
		parts = append(parts, k.Partition)
	}
	var ptrBuf [maxBatchLocks]*partition[V]
	held := ptrBuf[:len(parts)]
	if parts != nil {
		slices.Sort(parts)
		for i, p := range parts {
			if held[i] = s.part(p); held[i] != nil {
				held[i].mu.Lock()
			}
		}
	}
	hits := 0
	var zero V
	var pt *partition[V]
	for i, k := range keys {
		if i == 0 || k.Partition != keys[i-1].Partition {
			if parts == nil && pt != nil {
				pt.mu.Unlock()
			}
			if parts != nil {
				pt = held[slices.Index(parts, k.Partition)]
			} else if pt = s.part(k.Partition); pt != nil {
				pt.mu.Lock()
			}
		}
		if pt == nil {
			vals[i], found[i] = zero, false
			continue
		}
		e, ok := pt.m[k.Key]
		vals[i], found[i] = e.v, ok
		if ok {
			pt.hits++
			hits++
		}
	}
	if parts == nil && pt != nil {
		pt.mu.Unlock()
	}
	for _, pt := range held {
		if pt != nil {
			pt.mu.Unlock()
		}
	}
	s.stats.localMisses.Add(uint64(len(keys) - hits))
	return hits
}

// maxBatchLocks bounds the partitions GetBatch holds locked at once.
const maxBatchLocks = 64

// Put sets the context of key in partition p, as of the store's clock.
func (s *Store[V]) Put(p int32, key string, v V) {
	s.PutAt(p, key, v, s.cfg.clock.Now())
}

// PutAt sets the context of key in partition p, as of asOf (e.g. the message's
// timestamp). The staleness check on restore compares asOf with MaxAge. A Put to
// a partition the store released (Revoked, Lost) and that was not assigned again
// is ignored and counted (Stats.PutsIgnored): its context belongs to another owner.
func (s *Store[V]) PutAt(p int32, key string, v V, asOf time.Time) {
	pt := s.partOrCreate(p)
	track := s.cfg.strategy == WriteThrough || s.cfg.strategy == Checkpoint
	pt.mu.Lock()
	if pt.own == released {
		pt.mu.Unlock()
		s.stats.putsIgnored.Add(1)
		return
	}
	e := pt.m[key]
	pt.seq++
	e.v, e.asOf, e.ver, e.ackAt = v, asOf.UnixMilli(), pt.seq, 0
	if track && !e.listed {
		pt.dirty = append(pt.dirty, key)
		e.listed = true
	}
	pt.m[key] = e
	pt.mu.Unlock()
}

// Delete removes key from memory (not from Redis).
func (s *Store[V]) Delete(p int32, key string) {
	if pt := s.part(p); pt != nil {
		pt.mu.Lock()
		delete(pt.m, key)
		pt.removed++
		pt.mu.Unlock()
	}
}

// Len is the number of entries in memory.
func (s *Store[V]) Len() int {
	n := 0
	for _, pt := range *s.parts.Load() {
		if pt != nil {
			pt.mu.Lock()
			n += len(pt.m)
			pt.mu.Unlock()
		}
	}
	return n
}

// PartitionLen is the number of entries of partition p in memory.
func (s *Store[V]) PartitionLen(p int32) int {
	pt := s.part(p)
	if pt == nil {
		return 0
	}
	pt.mu.Lock()
	defer pt.mu.Unlock()
	return len(pt.m)
}

// Partitions lists the partitions that have entries in memory, ascending.
func (s *Store[V]) Partitions() []int32 {
	var out []int32
	for i, pt := range *s.parts.Load() {
		if pt == nil {
			continue
		}
		pt.mu.Lock()
		n := len(pt.m)
		pt.mu.Unlock()
		if n > 0 {
			out = append(out, int32(i))
		}
	}
	return out
}

// Keys lists the keys of partition p in memory, sorted.
func (s *Store[V]) Keys(p int32) []string {
	pt := s.part(p)
	if pt == nil {
		return nil
	}
	pt.mu.Lock()
	out := make([]string, 0, len(pt.m))
	for k := range pt.m {
		out = append(out, k)
	}
	pt.mu.Unlock()
	slices.Sort(out)
	return out
}

// Drop removes every entry of the given partitions from memory without writing
// them. The partitions stay as they were (owned or unmanaged); Lost also releases
// them. It returns the number of entries dropped.
func (s *Store[V]) Drop(partitions ...int32) int {
	return s.drop(partitions, false)
}

// Lost drops the given partitions from memory without writing them and releases
// them: call it from the partitions-lost callback (Kafka's onPartitionsLost, after a
// missed session: a newer owner has them, and anything written now would be a
// zombie's write). It returns the number of entries dropped.
func (s *Store[V]) Lost(partitions ...int32) int {
	return s.drop(partitions, true)
}

func (s *Store[V]) drop(partitions []int32, release bool) int {
	n := 0
	for _, p := range partitions {
		pt := s.part(p)
		if pt == nil {
			if !release || p < 0 {
				continue
			}
			pt = s.partOrCreate(p)
		}
		pt.mu.Lock()
		n += len(pt.m)
		pt.m = make(map[string]entry[V])
		pt.removed++
		pt.dirty = nil
		if release {
			pt.own = released
		}
		pt.mu.Unlock()
	}
	s.stats.dr.Add(uint64(n))
	return n
}

// Assigned claims partitions for the owner's consumer-group generation: call it
// from the partitions-assigned callback, before processing. Each partition becomes
// owned under gen: the store writes it with that claim, and with fencing raises its
// fence to gen (one pipelined script call per partition, one round trip), so that a
// zombie of an older generation can no longer write it. It returns ErrFenced
// (wrapped) when a newer generation already claimed a partition: this consumer is
// a zombie: such a partition is released (nothing of it is kept, written or
// restored). gen must be in [0, 2^62].
func (s *Store[V]) Assigned(ctx context.Context, gen int64, partitions ...int32) error {
	if err := checkGeneration(gen); err != nil {
		return err
	}
	s.gen.Store(gen)
	for _, p := range partitions {
		pt := s.partOrCreate(p)
		pt.mu.Lock()
		if pt.own == released || pt.own == owned && pt.claim < gen {
			// Released: whatever a racing Put or restore left is not ours. Owned
			// under an older claim and assigned again: the store missed a revoke,
			// and others may have written the partition in between; what it holds
			// could be stale.
			pt.m = make(map[string]entry[V])
			pt.removed++
			pt.dirty = nil
		}
		pt.own, pt.claim, pt.fencedOut = owned, gen, false
		pt.mu.Unlock()
	}
	if !s.cfg.fencing || s.cfg.strategy == MemoryOnly || len(partitions) == 0 {
		return nil
	}
	var errs []error
	for _, r := range s.claimEach(ctx, gen, partitions) {
		if r.err == nil {
			continue
		}
		errs = append(errs, r.err)
		if errors.Is(r.err, errFenced) {
			// A newer generation holds it: this store is a zombie for it (or the
			// group was recreated and its generations restarted: see doc.go).
			s.fenceOut(r.p)
		}
	}
	return errors.Join(errs...)
}

// fenceOut releases partition p because a newer generation holds its fence.
func (s *Store[V]) fenceOut(p int32) {
	s.drop([]int32{p}, true)
	if pt := s.part(p); pt != nil {
		pt.mu.Lock()
		pt.fencedOut = true
		pt.mu.Unlock()
	}
}

// genOf returns the generation partition pt is written with; ok is false when the
// store released it. The caller holds pt.mu.
func (s *Store[V]) genOf(pt *partition[V]) (gen int64, ok bool) {
	switch pt.own {
	case owned:
		return pt.claim, true
	case released:
		return 0, false
	}
	return s.gen.Load(), true
}

// partPrefix appends "{<ns>:<p>}:" to dst.
func (s *Store[V]) partPrefix(dst []byte, p int32) []byte {
	return appendPartPrefix(dst, s.cfg.namespace, p)
}

// metaKey is "{<ns>:<p>}#<kind>" (keys.go).
func (s *Store[V]) metaKey(p int32, kind string) string {
	return MetaKey(s.cfg.namespace, p, kind)
}

func (s *Store[V]) ttlOf(p int32, key string) time.Duration {
	if s.cfg.ttlFunc != nil {
		if d := s.cfg.ttlFunc(p, key); d > 0 || d == Persist {
			return d
		}
	}
	return s.cfg.ttl
}
