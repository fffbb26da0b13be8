package redisnode

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Behavior: maxmemory and every maxmemory-policy of Redis 7, with Redis's
// approximated LRU and LFU (src/evict.c, checked via the search tool).
//
//   - When used_memory (not RSS: evict.c getMaxmemoryState reads
//     zmalloc_used_memory) is above maxmemory, Redis evicts before running a command
//     (server.c processCommand → performEvictions) until it is back under, or answers
//     a deny-oom command (SET, SADD, ...) with "OOM command not allowed when used
//     memory > 'maxmemory'." when nothing can be evicted: always under noeviction;
//     under volatile-* when no key has a TTL. A script (EVAL/EVALSHA without flags)
//     is checked at its first write (script.c scriptVerifyOOM against the OOM state
//     before the command): a fenced batch is refused whole or not at all.
//   - LRU/LFU/TTL policies: evictionPoolPopulate samples maxmemory-samples keys
//     (from the whole keyspace for allkeys-*, from the keys with a TTL for
//     volatile-*) into a pool of EVPOOL_SIZE = 16 candidates kept in ascending order
//     of "idle" score across calls; the best (rightmost) candidate that still exists
//     is evicted; a pool of ghosts is repopulated. Scores: LRU idle time from a
//     24-bit clock of LRU_CLOCK_RESOLUTION = 1 s; LFU 255 − the decayed log counter;
//     volatile-ttl ULLONG_MAX − the expire time.
//   - LFU (evict.c LFULogIncr / LFUDecrAndReturn): an 8-bit logarithmic counter
//     that starts at LFU_INIT_VAL = 5, is incremented with probability
//     1/((counter − 5)·lfu-log-factor + 1) on access, and loses one per lfu-decay-time
//     minutes since its 16-bit last-decrement time.
//   - Random policies pick one uniformly random key (dictGetRandomKey).
//   - Accesses do not update the LRU/LFU fields while a fork child exists (db.c
//     lookupKey, to avoid copy-on-write); new objects get the current clock, and an
//     overwrite keeps the LFU counter of the old value (db.c dbSetValue).
//
// Differences, on purpose: the samples are independent uniform picks from a dense
// index of the keys (swap-delete slice + map key → index; O(samples), never O(keys))
// instead of dictGetSomeKeys's runs of adjacent buckets, and every random choice
// comes from the node's seeded generator, so the same run evicts the same keys.
// Not modelled: several databases, lazyfree-lazy-eviction, the eviction time limit
// (maxmemory-eviction-tenacity), which can leave a burst of writes briefly above
// maxmemory in Redis; here eviction always completes before the next command.

const (
	evpoolSize   = 16
	lruClockMax  = 1<<24 - 1
	lfuInitVal   = 5
	lfuCounterMx = 255
)

// entry is one key of the keyspace index.
type entry struct {
	key      string
	bytes    int64 // used memory of the key (memModel.bytesOf)
	valueLen int32 // string length, or the total member bytes of a set
	members  int32 // set cardinality
	kind     uint8
	volPos   int32         // index in keyspace.vol, -1 without a TTL
	expireAt time.Duration // virtual deadline when volPos >= 0
	ttlMark  time.Duration // the TTL the node left in miniredis (node.go sync)
	lru      uint32        // LRU clock, or LFU (minutes << 8 | counter)
}

type poolEntry struct {
	key  string
	idle uint64
	used bool
}

// keyspace is the dense index of a node's keys and its eviction state. It is not
// safe for concurrent use: the node calls it under its lock.
type keyspace struct {
	entries []entry
	pos     map[string]int32
	vol     []int32 // entry indexes of the keys with a TTL
	volB    int64   // Σ bytes of the keys with a TTL

	policy    Policy
	samples   int
	logFactor float64
	decay     time.Duration
	rng       *rand.Rand
	pool      [evpoolSize]poolEntry
	sample    []int32
}

func newKeyspace(policy Policy, samples, logFactor int, decay time.Duration, rng *rand.Rand) *keyspace {
	if samples < 1 || rng == nil {
		panic(fmt.Sprintf("redisnode: keyspace with %d samples, rng %v", samples, rng))
	}
	return &keyspace{
		pos: map[string]int32{}, policy: policy, samples: samples,
		logFactor: float64(logFactor), decay: decay, rng: rng,
	}
}

func (ks *keyspace) len() int { return len(ks.entries) }

// get returns the entry of key, or nil.
func (ks *keyspace) get(key string) *entry {
	if i, ok := ks.pos[key]; ok {
		return &ks.entries[i]
	}
	return nil
}

// insert adds e (its volPos says only whether it is volatile) and returns its slot.
func (ks *keyspace) insert(e entry) *entry {
	if _, ok := ks.pos[e.key]; ok {
		panic(fmt.Sprintf("redisnode: key %q inserted twice", e.key))
	}
	i := int32(len(ks.entries))
	vol := e.volPos >= 0
	e.volPos = -1
	ks.entries = append(ks.entries, e)
	ks.pos[e.key] = i
	if vol {
		ks.setVolatile(i, true)
	}
	return &ks.entries[i]
}

// setVolatile moves entry i into or out of the volatile index.
func (ks *keyspace) setVolatile(i int32, on bool) {
	e := &ks.entries[i]
	switch {
	case on && e.volPos < 0:
		e.volPos = int32(len(ks.vol))
		ks.vol = append(ks.vol, i)
		ks.volB += e.bytes
	case !on && e.volPos >= 0:
		last := int32(len(ks.vol) - 1)
		moved := ks.vol[last]
		ks.vol[e.volPos] = moved
		ks.entries[moved].volPos = e.volPos
		ks.vol = ks.vol[:last]
		ks.volB -= e.bytes
		e.volPos = -1
	}
}

// setBytes changes an entry's byte count, keeping volB.
func (ks *keyspace) setBytes(e *entry, b int64) {
	if e.volPos >= 0 {
		ks.volB += b - e.bytes
	}
	e.bytes = b
}

// remove deletes key (swap-delete) and returns its entry as it was.
func (ks *keyspace) remove(key string) entry {
	i, ok := ks.pos[key]
	if !ok {
		panic(fmt.Sprintf("redisnode: removing unknown key %q", key))
	}
	old := ks.entries[i]
	ks.setVolatile(i, false)
	last := int32(len(ks.entries) - 1)
	if i != last {
		ks.entries[i] = ks.entries[last]
		ks.pos[ks.entries[i].key] = i
		if vp := ks.entries[i].volPos; vp >= 0 {
			ks.vol[vp] = i
		}
	}
	ks.entries[last] = entry{}
	ks.entries = ks.entries[:last]
	delete(ks.pos, key)
	return old
}

// lruClock is Redis's 24-bit LRU clock (seconds) at virtual time at.
func lruClock(at time.Duration) uint32 { return uint32(at/time.Second) & lruClockMax }

// lfuMinutes is the 16-bit minute clock LFU stores as its last decrement time.
func lfuMinutes(at time.Duration) uint32 { return uint32(at/time.Minute) & 65535 }

// fresh returns the LRU field of a new object created at at (object.c createObject).
func (ks *keyspace) fresh(at time.Duration) uint32 {
	if ks.policy.lfu() {
		return lfuMinutes(at)<<8 | lfuInitVal
	}
	return lruClock(at)
}

// touch records an access at at (evict.c updateLFU, or the LRU clock).
func (ks *keyspace) touch(e *entry, at time.Duration) {
	if !ks.policy.lfu() {
		e.lru = lruClock(at)
		return
	}
	c := ks.lfuDecr(e, at)
	if c < lfuCounterMx {
		base := math.Max(float64(c)-lfuInitVal, 0)
		if ks.rng.Float64() < 1/(base*ks.logFactor+1) {
			c++
		}
	}
	e.lru = lfuMinutes(at)<<8 | c
}

// lfuDecr is the counter of e decayed to at (evict.c LFUDecrAndReturn).
func (ks *keyspace) lfuDecr(e *entry, at time.Duration) uint32 {
	ldt, c := e.lru>>8, e.lru&255
	now := lfuMinutes(at)
	elapsed := now - ldt
	if now < ldt {
		elapsed = 65535 - ldt + now
	}
	if ks.decay <= 0 {
		return c
	}
	periods := uint32(time.Duration(elapsed) * time.Minute / ks.decay)
	if periods > c {
		return 0
	}
	return c - periods
}

// idle is the eviction score of e at at: higher means a better victim.
func (ks *keyspace) idle(e *entry, at time.Duration) uint64 {
	switch {
	case ks.policy.lru():
		now := lruClock(at)
		if now >= e.lru {
			return uint64(now-e.lru) * 1000
		}
		return uint64(now+(lruClockMax-e.lru)) * 1000
	case ks.policy.lfu():
		return uint64(lfuCounterMx - ks.lfuDecr(e, at))
	case ks.policy == VolatileTTL:
		return math.MaxUint64 - uint64(e.expireAt/time.Millisecond)
	}
	panic(fmt.Sprintf("redisnode: idle score under policy %s", ks.policy))
}

// candidates is the number of keys the policy may evict.
func (ks *keyspace) candidates() int {
	if ks.policy.allKeys() {
		return len(ks.entries)
	}
	return len(ks.vol)
}

// evictableBytes is the memory eviction could free under the policy.
func (ks *keyspace) evictableBytes(total int64) int64 {
	switch {
	case ks.policy == NoEviction:
		return 0
	case ks.policy.allKeys():
		return total
	}
	return ks.volB
}

// randomCandidate picks a uniformly random evictable entry index.
func (ks *keyspace) randomCandidate() int32 {
	if ks.policy.allKeys() {
		return int32(ks.rng.IntN(len(ks.entries)))
	}
	return ks.vol[ks.rng.IntN(len(ks.vol))]
}

// victim chooses the key to evict at at, as performEvictions does; false when
// the policy has nothing to evict.
func (ks *keyspace) victim(at time.Duration) (string, bool) {
	if ks.policy == NoEviction || ks.candidates() == 0 {
		return "", false
	}
	if ks.policy.random() {
		return ks.entries[ks.randomCandidate()].key, true
	}
	for {
		ks.populate(at)
		for k := evpoolSize - 1; k >= 0; k-- {
			p := &ks.pool[k]
			if !p.used {
				continue
			}
			key := p.key
			*p = poolEntry{}
			if e := ks.get(key); e != nil && (ks.policy.allKeys() || e.volPos >= 0) {
				return key, true
			}
			// A ghost: deleted since it entered the pool.
		}
	}
}

// populate samples keys into the pool (evict.c evictionPoolPopulate).
func (ks *keyspace) populate(at time.Duration) {
	ks.sample = ks.sample[:0]
	for range ks.samples {
		ks.sample = append(ks.sample, ks.randomCandidate())
	}
	for _, i := range ks.sample {
		e := &ks.entries[i]
		idle := ks.idle(e, at)
		k := 0
		for k < evpoolSize && ks.pool[k].used && ks.pool[k].idle < idle {
			k++
		}
		switch {
		case k == 0 && ks.pool[evpoolSize-1].used:
			continue // worse than every candidate of a full pool
		case k < evpoolSize && !ks.pool[k].used:
			// an empty slot
		case !ks.pool[evpoolSize-1].used:
			copy(ks.pool[k+1:], ks.pool[k:evpoolSize-1]) // shift right
		default:
			k--
			copy(ks.pool[:k], ks.pool[1:k+1]) // drop the worst, shift left
		}
		ks.pool[k] = poolEntry{key: e.key, idle: idle, used: true}
	}
}
