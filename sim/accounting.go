package sim

import (
	"math"
	"math/bits"
	"time"

	"github.com/spillway-sim/spillway/core"
)

// Cause says why a context was lost or a stale one used (docs/design.md, context
// accounting). The names are a contract: extend, never rename.
type Cause uint8

// Causes. The first eight are docs/design.md's; the rest extend it.
const (
	CauseCrash            Cause = iota // lost with a pod killed without a shutdown hook
	CauseGraceOverrun                  // the spill did not finish inside the grace period / rebalance timeout
	CauseTTLExpired                    // spilled, but its TTL passed before the next owner asked
	CauseEvicted                       // spilled, evicted under maxmemory
	CauseRedisLost                     // spilled, lost with the Redis node (OOM kill, restart)
	CauseStaleDiscarded                // restored but older than max_age, discarded
	CauseRingMoved                     // spilled to a ring node the key no longer hashes to
	CauseNotSpilled                    // the strategy never writes it (memory-only)
	CauseZombie                        // held by a pod whose session expired during a pause
	CauseCorrupt                       // restored bytes that did not decode
	CauseRedisUnavailable              // the spill or the restore failed on a Redis error (down, OOM, MISCONF)
	CauseFenced                        // the write was refused by the generation fence
	CauseReplay                        // a replayed message met a context already ahead of it (offsets committed behind the spilled context)
	CauseOtherConsumer                 // Redis Streams, shared: the latest context is in another live consumer's memory
	CauseMessageLost                   // Redis Streams: the key's previous message was never processed (trimmed, or dropped with a deleted consumer)
	CauseFailoverLost                  // spilled and acknowledged, but inside the replication lag when the master failed over
	CauseClusterMigrating              // Redis Cluster: the spill or restore was refused (TRYAGAIN, ASK in a transaction) while its slot migrated
	CauseUnknown                       // none of the above: an accounting bug (the swarm checks it is zero)
	numCauses
)

var causeNames = [numCauses]string{"crash", "grace_overrun", "ttl_expired", "evicted", "redis_lost",
	"stale_discarded", "ring_moved", "not_spilled", "zombie", "corrupt", "redis_unavailable", "fenced", "replay",
	"other_consumer", "message_lost", "failover_lost", "cluster_migrating", "unknown"}

// String returns the cause's metric name (lost_by_cause.<name>).
func (c Cause) String() string { return causeNames[c] }

// Causes lists every cause in report order.
func Causes() []Cause {
	out := make([]Cause, numCauses)
	for i := range out {
		out[i] = Cause(i)
	}
	return out
}

// fate records where the latest context of each key is: in a pod's memory, in
// Redis, or lost (and why). It is the simulator's ground truth for attributing a
// miss to a cause; events only change it when they concern the holder of the
// latest context.
//
// Encoding (4 bytes a key): kind in the top 8 bits, a pod incarnation or a cause below.
type fate []uint32

const (
	fateNone   = 0 << 24 // never processed
	fateMemory = 1 << 24 // low bits: pod incarnation index
	fateRedis  = 2 << 24 // written to Redis
	fateLost   = 3 << 24 // low bits: Cause
	fateKind   = 0xff << 24
)

func (f fate) inMemory(k uint32, pod int) { f[k] = fateMemory | uint32(pod) }
func (f fate) heldBy(k uint32, pod int) bool {
	return f[k] == fateMemory|uint32(pod)
}
func (f fate) lose(k uint32, c Cause) { f[k] = fateLost | uint32(c) }

// cause is why the latest context of k is not available now.
func (f fate) cause(k uint32) Cause {
	switch f[k] & fateKind {
	case fateLost:
		return Cause(f[k] &^ fateKind)
	}
	return CauseUnknown
}

// counters is the run's context accounting.
type counters struct {
	messages, replayed                int64
	needed, ok, lost, staleUsed       int64
	lostBy, staleBy                   [numCauses]int64
	localHits, restored, staleDiscard int64
	redisMissed, restoreFailed        int64
	spilledKeys, spillBytes           int64
	spillFailed, fencedWrites         int64
	spillRewritten                    int64 // already-written copies Redis had lost, written again
	spillMax                          time.Duration
	commitsFailed, crashes            int64
}

// handoffStats are the run's handoff spills (revoke, lost, shutdown; not
// write-through syncs): the most keys one had to write, the longest, and the
// throughput of the longest that wrote anything (keys written or found already
// written, per worker-second). Spills run on the engine's goroutine, never ahead,
// so these are not part of counters (whose tallies are summed).
type handoffStats struct {
	keysMax    int64
	longest    time.Duration
	workerRate float64
	rateTook   time.Duration // the duration workerRate was measured over
}

// record adds one handoff spill that took took on workers workers.
func (h *handoffStats) record(rep *core.SpillReport, took time.Duration, workers int) {
	if rep == nil || rep.Keys == 0 || rep.Count(core.ReasonDisabled) == rep.Keys {
		return // nothing to write (memory-only drops without writing)
	}
	h.keysMax = max(h.keysMax, int64(rep.Keys))
	h.longest = max(h.longest, took)
	if done := rep.Written + rep.AlreadyWritten; done > 0 && took > 0 && took >= h.rateTook {
		h.rateTook = took
		h.workerRate = float64(done) / took.Seconds() / float64(max(workers, 1))
	}
}

// histogram is a log-linear latency histogram: 16 sub-buckets per power of two
// (≤ 4.4 % relative error), deterministic, fixed memory.
type histogram struct {
	counts [64 * 16]int64
	n      int64
}

func bucketOf(d time.Duration) int {
	v := uint64(max(d, 1))
	e := 63 - bits.LeadingZeros64(v) // floor(log2 v)
	if e < 4 {
		return int(v)
	}
	sub := (v >> (e - 4)) & 15
	return e*16 + int(sub)
}

// bucketValue is the upper bound of bucket b.
func bucketValue(b int) time.Duration {
	if b < 64 {
		if e := b / 16; e < 4 {
			return time.Duration(b)
		}
	}
	e, sub := b/16, b%16
	return time.Duration((uint64(16+sub+1) << (e - 4)) - 1)
}

func (h *histogram) add(d time.Duration) { h.addN(d, 1) }

// addN records n observations of d.
func (h *histogram) addN(d time.Duration, n int64) {
	if n <= 0 {
		return
	}
	h.counts[bucketOf(d)] += n
	h.n += n
}

func (h *histogram) reset() { *h = histogram{} }

// quantile returns the q-quantile (0 < q ≤ 1), 0 when empty.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.n)))
	var seen int64
	for b, c := range h.counts {
		seen += c
		if seen >= rank && c > 0 {
			return bucketValue(b)
		}
	}
	return bucketValue(len(h.counts) - 1)
}

// cdf returns (latency, cumulative fraction) points for the non-empty buckets.
func (h *histogram) cdf() []CDFPoint {
	var out []CDFPoint
	var seen int64
	for b, c := range h.counts {
		if c == 0 {
			continue
		}
		seen += c
		out = append(out, CDFPoint{Latency: Duration(bucketValue(b)), Fraction: float64(seen) / float64(h.n)})
	}
	return out
}
