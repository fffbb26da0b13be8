package core

import (
	"sync/atomic"
	"time"
)

// Metrics receives one call per spill, sync and restore, never per Get: the local
// path stays free of interface calls. Implementations must be safe for concurrent
// use and must not retain the report's slices. Counters are also kept by the store
// itself (Stats); a Prometheus adapter can read either.
type Metrics interface {
	// ObserveSpill is called once per Spill, SpillAll or Sync that wrote or tried to write.
	ObserveSpill(r *SpillReport)
	// ObserveRestore is called once per Restore or Warm that went to Redis.
	ObserveRestore(r *RestoreReport)
}

// NopMetrics discards every observation. It is the default.
type NopMetrics struct{}

// ObserveSpill implements Metrics.
func (NopMetrics) ObserveSpill(*SpillReport) {}

// ObserveRestore implements Metrics.
func (NopMetrics) ObserveRestore(*RestoreReport) {}

// Stats is a snapshot of a store's counters since it was created.
type Stats struct {
	LocalHits       uint64        // Get found the key in memory
	LocalMisses     uint64        // Get did not
	Restored        uint64        // entries restored from Redis into memory
	StaleDiscarded  uint64        // restored entries older than MaxAge, discarded
	DecodeErrors    uint64        // restored values that did not decode (corrupt, truncated, unknown format), discarded
	RedisMisses     uint64        // keys asked of Redis that it did not have
	RestoreErrors   uint64        // keys whose restore failed on a Redis error
	SpilledKeys     uint64        // entries Redis acknowledged (spill, sync, checkpoint)
	SpillRawBytes   uint64        // their payload bytes before compression
	SpillWireBytes  uint64        // their envelope bytes as stored
	SpillErrors     uint64        // entries not written, for any reason but ReasonDisabled
	FencedWrites    uint64        // entries refused because a newer generation owns the partition
	Dropped         uint64        // entries removed from memory by Spill, SpillAll or Drop
	SpillDuration   time.Duration // total time spent in Spill, SpillAll and Sync (by the store's Clock)
	SpillMax        time.Duration // longest single Spill, SpillAll or Sync
	RestoreDuration time.Duration // total time spent in Restore and Warm
	PutsIgnored     uint64        // Puts to a partition the store had released (Revoked, Lost), ignored
	Discarded       uint64        // entries Revoked removed from memory that Redis does not hold
	LeftInRedis     uint64        // values a take-mode restore could not read and left in Redis (another format or codec)
}

type counters struct {
	localMisses                                         atomic.Uint64
	restored, stale, decodeErrs, redisMisses, restErr   atomic.Uint64
	spilled, rawBytes, wireBytes, spillErrs, fenced, dr atomic.Uint64
	spillNanos, spillMax, restoreNanos                  atomic.Int64
	putsIgnored, discarded, left                        atomic.Uint64
}

func (c *counters) addSpill(r *SpillReport) {
	c.spilled.Add(uint64(r.Written))
	c.rawBytes.Add(uint64(r.RawBytes))
	c.wireBytes.Add(uint64(r.WireBytes))
	c.spillErrs.Add(uint64(r.NotWritten - r.ByReason[ReasonDisabled]))
	c.fenced.Add(uint64(r.ByReason[ReasonFenced]))
	c.dr.Add(uint64(r.Dropped))
	c.discarded.Add(uint64(r.Discarded))
	d := int64(r.Duration)
	c.spillNanos.Add(d)
	for {
		old := c.spillMax.Load()
		if d <= old || c.spillMax.CompareAndSwap(old, d) {
			break
		}
	}
}

func (c *counters) addRestore(r *RestoreReport) {
	c.restored.Add(uint64(r.Restored))
	c.stale.Add(uint64(r.Stale))
	c.decodeErrs.Add(uint64(r.Corrupt))
	c.redisMisses.Add(uint64(r.Missing))
	c.restErr.Add(uint64(r.Failed))
	c.left.Add(uint64(r.Left))
	c.restoreNanos.Add(int64(r.Duration))
}

func (c *counters) snapshot() Stats {
	return Stats{
		LocalMisses: c.localMisses.Load(), // LocalHits: counted per partition, summed by Store.Stats
		Restored:    c.restored.Load(), StaleDiscarded: c.stale.Load(), DecodeErrors: c.decodeErrs.Load(),
		RedisMisses: c.redisMisses.Load(), RestoreErrors: c.restErr.Load(),
		SpilledKeys: c.spilled.Load(), SpillRawBytes: c.rawBytes.Load(), SpillWireBytes: c.wireBytes.Load(),
		SpillErrors: c.spillErrs.Load(), FencedWrites: c.fenced.Load(), Dropped: c.dr.Load(),
		SpillDuration: time.Duration(c.spillNanos.Load()), SpillMax: time.Duration(c.spillMax.Load()),
		RestoreDuration: time.Duration(c.restoreNanos.Load()),
		PutsIgnored:     c.putsIgnored.Load(), Discarded: c.discarded.Load(), LeftInRedis: c.left.Load(),
	}
}
