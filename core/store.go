package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store keeps per-key context in memory, partitioned as the log is, and hands it
// over through Redis: Spill on revoke, SpillAll on shutdown, Restore on a miss.
//
// All methods are safe for concurrent use. Get and Put touch only one partition's
// lock; Spill of one partition does not block processing of another.
type Store[V any] struct {
	cfg   config
	rdb   redis.UniversalClient
	codec Codec[V]

	parts  atomic.Pointer[[]*partition[V]] // indexed by partition number; grown copy-on-write
	growMu sync.Mutex

	gen            atomic.Int64 // consumer-group generation of this owner
	scriptsLoaded  atomic.Bool  // SCRIPT LOAD done once; NOSCRIPT (a restarted server) still falls back to EVAL
	lastCheckpoint atomic.Int64 // Unix nanos of the last checkpoint (Checkpoint strategy)
	syncRetryAt    atomic.Int64 // Unix nanos before which Sync is skipped (Redis refused the last one)
	syncFailures   atomic.Int64 // consecutive Syncs that wrote nothing
	stats          counters
	topo           refresher // Cluster slot-map reloads after failures
}

// partition is one partition's entries. Its mutex is a plain Mutex, not an
// RWMutex: a partition is read by the goroutine that processes it, so readers
// rarely meet, and a Mutex lets the hit counter live under the lock (a local hit
// costs two atomic instructions instead of three).
type partition[V any] struct {
	mu    sync.Mutex
	m     map[string]entry[V]
	hits  uint64   // local hits, counted under mu
	dirty []string // keys updated since the last write (WriteThrough, Checkpoint), without duplicates
}

type entry[V any] struct {
	v         V
	asOf      int64  // Unix millis of the last update
	flushedAt int64  // Unix millis of the last acknowledged write (0: never written)
	ver       uint32 // bumped on every update; a write acknowledges one version
	dirty     bool   // updated since the last acknowledged write
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
	s := &Store[V]{cfg: cfg, rdb: rdb, codec: codec}
	empty := []*partition[V]{}
	s.parts.Store(&empty)
	s.lastCheckpoint.Store(cfg.clock.Now().UnixNano())
	return s, nil
}

// Strategy reports the store's strategy.
func (s *Store[V]) Strategy() Strategy { return s.cfg.strategy }

// Generation reports the consumer-group generation the store writes with.
func (s *Store[V]) Generation() int64 { return s.gen.Load() }

// SetGeneration sets the generation without claiming partitions (Assigned does both).
func (s *Store[V]) SetGeneration(gen int64) { s.gen.Store(gen) }

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
	ps[p] = &partition[V]{m: make(map[string]entry[V])}
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
// timestamp). The staleness check on restore compares asOf with MaxAge.
func (s *Store[V]) PutAt(p int32, key string, v V, asOf time.Time) {
	pt := s.partOrCreate(p)
	track := s.cfg.strategy == WriteThrough || s.cfg.strategy == Checkpoint
	pt.mu.Lock()
	e := pt.m[key]
	e.v, e.asOf = v, asOf.UnixMilli()
	e.ver++
	if track && !e.dirty {
		pt.dirty = append(pt.dirty, key)
	}
	e.dirty = true
	pt.m[key] = e
	pt.mu.Unlock()
}

// Delete removes key from memory (not from Redis).
func (s *Store[V]) Delete(p int32, key string) {
	if pt := s.part(p); pt != nil {
		pt.mu.Lock()
		delete(pt.m, key)
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
// them: for partitions lost without a chance to spill (Kafka onPartitionsLost after
// a missed session). It returns the number of entries dropped.
func (s *Store[V]) Drop(partitions ...int32) int {
	n := 0
	for _, p := range partitions {
		pt := s.part(p)
		if pt == nil {
			continue
		}
		pt.mu.Lock()
		n += len(pt.m)
		pt.m = make(map[string]entry[V])
		pt.dirty = nil
		pt.mu.Unlock()
	}
	s.stats.dr.Add(uint64(n))
	return n
}

// Assigned records the owner's consumer-group generation and claims the partitions:
// it raises each partition's fence to gen, so that a zombie of an older generation
// can no longer write them (one pipelined script call per partition, one round
// trip). Call it from the partitions-assigned callback, before processing. It
// returns ErrFenced (wrapped) when a newer generation already claimed a partition:
// this consumer is a zombie.
func (s *Store[V]) Assigned(ctx context.Context, gen int64, partitions ...int32) error {
	if gen < 0 {
		return fmt.Errorf("core: generation %d must not be negative", gen)
	}
	s.gen.Store(gen)
	for _, p := range partitions {
		s.partOrCreate(p)
	}
	if !s.cfg.fencing || s.cfg.strategy == MemoryOnly || len(partitions) == 0 {
		return nil
	}
	return s.claim(ctx, gen, partitions)
}

// partPrefix appends "<ns>:{<p>}:" to dst.
func (s *Store[V]) partPrefix(dst []byte, p int32) []byte {
	dst = append(dst, s.cfg.namespace...)
	dst = append(dst, ":{"...)
	dst = strconv.AppendInt(dst, int64(p), 10)
	return append(dst, "}:"...)
}

// metaKey is "<ns>:{<p>}#<kind>": the hash tag puts it in the partition's slot, and
// '#' after '}' keeps it apart from every data key, which has ':' there.
func (s *Store[V]) metaKey(p int32, kind string) string {
	b := append([]byte(s.cfg.namespace), ":{"...)
	b = strconv.AppendInt(b, int64(p), 10)
	b = append(b, "}#"...)
	return string(append(b, kind...))
}

func (s *Store[V]) ttlOf(p int32, key string) time.Duration {
	if s.cfg.ttlFunc != nil {
		if d := s.cfg.ttlFunc(p, key); d > 0 || d == Persist {
			return d
		}
	}
	return s.cfg.ttl
}
