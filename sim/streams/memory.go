package streams

// Behavior: the memory a stream and its consumer group take in Redis 7
// (t_stream.c: entries in listpacks of up to 100 entries / 4 KiB, indexed by a
// rax; each pending entry a streamNACK in the group's PEL rax and in its
// consumer's PEL rax; each consumer a streamConsumer with its name and PEL).
// miniredis keeps Go slices and has no MEMORY USAGE for streams, so the size is
// this model's, calibrated on redis-server 7.0.15 with entries of this
// package's format (TestMemoryModelMatchesRedis re-measures it when a server
// is installed):
//
//	20,000 XADDs of k, s, t, o, d (small integers): used_memory +699,632 B → 35 B per entry
//	XREADGROUP of those 20,000 without XACK:          used_memory +1,736,784 B → 87 B per pending entry
//
// Not modelled: listpack nodes left part-empty by XDEL, the stream's
// per-node master entry beyond the per-entry average, jemalloc size classes.

// Calibrated costs, in bytes.
const (
	EntryBytes    = 35  // one entry of this package's format, listpack and rax share included
	PendingBytes  = 87  // one PEL entry: a streamNACK in the group PEL and the consumer PEL
	ConsumerBytes = 128 // one consumer: streamConsumer, its name, an empty PEL rax
	StreamBytes   = 640 // an empty stream with one group: robj, stream, rax, streamCG, the key
)

// MemoryBytes is the modelled used memory of streams holding entries entries
// and pending PEL entries over consumers consumers (counted per stream).
func MemoryBytes(streams int, entries, pending, consumers int64) int64 {
	return int64(streams)*StreamBytes + entries*EntryBytes + pending*PendingBytes + consumers*ConsumerBytes
}
