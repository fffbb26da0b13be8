package calibration

import (
	"fmt"
	"math"
	"math/bits"
)

// Behavior: used_memory of plain string keys in Redis 7.0 (standalone, db 0), built
// allocation by allocation and rounded to jemalloc size classes, because used_memory
// is the sum of zmalloc_size() (jemalloc's usable size) of every live allocation.
//
// Per key, from the Redis 7.0 source:
//   - dict.h: one dictEntry {void *key; union v; dictEntry *next} = 24 bytes in the
//     main dict (no entry metadata outside cluster mode).
//   - db.c dbAdd: the key is copied with sdsdup, an SDS string whose header follows
//     sds.h/sds.c sdsReqType: length < 32 -> sdshdr5 (1 byte), < 256 -> sdshdr8 (3),
//     < 65536 -> sdshdr16 (5), < 2^32 -> sdshdr32 (9), else sdshdr64 (17); plus the
//     terminating NUL. (An empty string uses sdshdr8.)
//   - object.c createStringObject: a value of at most OBJ_ENCODING_EMBSTR_SIZE_LIMIT
//     (44) bytes is one allocation robj(16) + sdshdr8(3) + len + 1 (EMBSTR); a longer
//     one is a robj(16) plus a separate SDS (RAW). tryObjectEncoding trims a RAW SDS's
//     spare capacity, which leaves it in the same size class.
//   - db.c setExpire: a TTL adds one dictEntry in db->expires that shares the key SDS
//     and stores the deadline in the entry itself.
//   - dict.c _dictExpandIfNeeded/_dictNextExp: a dict's table has a power-of-two
//     number of 8-byte buckets, at least DICT_HT_INITIAL_SIZE (4), growing to the next
//     power of two >= used+1 when used reaches the size; so after n inserts it has
//     max(4, nextpow2(n)) buckets. db->expires is a second dict sized by its own count.
//
// jemalloc size classes (jemalloc 5 sc.c): tiny classes are the powers of two below
// the quantum (8 only, for quantum 16); then multiples of the quantum up to 8 quanta
// (16, 32, 48, ..., 128); then four classes per doubling (160, 192, 224, 256, 320,
// 384, 448, 512, 640, ..., 1024, 1280, ...), the same spacing continuing through the
// large classes (16 KiB, 20 KiB, 24 KiB, 28 KiB, 32 KiB, 40 KiB, ...). Checked against
// MEMORY MALLOC-STATS of the calibrated server.
//
// Not modelled: integer-encoded values (OBJ_ENCODING_INT, shared integers), other
// types than strings, the transient second table while a dict rehashes (the tables
// above are the settled state), dict growth being deferred while a fork child exists
// (dict_can_resize), cluster-mode dictEntry metadata, client buffers, and the extra
// slack of values >= 32 KiB (PROTO_MBULK_BIG_ARG) that arrive as whole query buffers.

// SizeClass returns the jemalloc size class a request of n bytes is served from
// (its usable size, which is what zmalloc counts). n <= 0 returns 0.
func (c Calibration) SizeClass(n int64) int64 {
	if n <= 0 {
		return 0
	}
	q := c.Memory.JemallocQuantumBytes
	if q <= 0 {
		panic(fmt.Sprintf("calibration: SizeClass with jemalloc quantum %d", q))
	}
	if n <= q {
		// Tiny classes: powers of two from 8 up to the quantum.
		s := int64(8)
		for s < n {
			s <<= 1
		}
		return s
	}
	if n <= 8*q {
		return roundUp(n, q)
	}
	// 2^k < n <= 2^(k+1); four classes per doubling, spacing 2^(k-2).
	k := 63 - bits.LeadingZeros64(uint64(n-1))
	return roundUp(n, int64(1)<<(k-2))
}

func roundUp(n, step int64) int64 { return (n + step - 1) / step * step }

// sdsHeaderBytes is the SDS header a string of length n gets from sdsnewlen.
func sdsHeaderBytes(n int64) int64 {
	switch {
	case n == 0:
		return 3 // sdsnewlen turns an empty SDS_TYPE_5 into SDS_TYPE_8
	case n < 1<<5:
		return 1
	case n < 1<<8:
		return 3
	case n < 1<<16:
		return 5
	case n < 1<<32:
		return 9
	default:
		return 17
	}
}

// KeyAllocBytes is the memory one key costs in the main dict: its dictEntry and the
// SDS copy of its name.
func (c Calibration) KeyAllocBytes(keyLen int) int64 {
	checkLen("key", keyLen)
	k := int64(keyLen)
	return c.SizeClass(c.Memory.DictEntryBytes) + c.SizeClass(sdsHeaderBytes(k)+k+1)
}

// ValueAllocBytes is the memory a string value of valueLen bytes costs: one EMBSTR
// allocation up to EmbstrMaxBytes, else a robj plus a RAW SDS.
func (c Calibration) ValueAllocBytes(valueLen int) int64 {
	checkLen("value", valueLen)
	v := int64(valueLen)
	if valueLen <= c.Memory.EmbstrMaxBytes {
		return c.SizeClass(c.Memory.RobjBytes + 3 + v + 1) // robj + sdshdr8 + bytes + NUL
	}
	return c.SizeClass(c.Memory.RobjBytes) + c.SizeClass(sdsHeaderBytes(v)+v+1)
}

// ExpireAllocBytes is the memory a TTL adds to a key: its dictEntry in db->expires.
func (c Calibration) ExpireAllocBytes() int64 { return c.SizeClass(c.Memory.DictEntryBytes) }

// UsedMemoryPerKey is the used_memory one string key costs, without its share of the
// dict tables (see DictBytes): dictEntry + key SDS + value (+ expires dictEntry).
func (c Calibration) UsedMemoryPerKey(keyLen, valueLen int, withTTL bool) int64 {
	b := c.KeyAllocBytes(keyLen) + c.ValueAllocBytes(valueLen)
	if withTTL {
		b += c.ExpireAllocBytes()
	}
	return b
}

// DictBuckets is the number of buckets of a settled dict holding nkeys entries:
// 0 for an empty dict, else max(DictInitialBuckets, next power of two >= nkeys).
func (c Calibration) DictBuckets(nkeys int64) int64 {
	if nkeys < 0 {
		panic(fmt.Sprintf("calibration: DictBuckets(%d): negative key count", nkeys))
	}
	if nkeys == 0 {
		return 0
	}
	b := int64(1) << (64 - bits.LeadingZeros64(uint64(nkeys-1)))
	return max(b, c.Memory.DictInitialBuckets)
}

// DictBytes is the bucket array of a settled dict holding nkeys entries.
func (c Calibration) DictBytes(nkeys int64) int64 {
	return c.SizeClass(c.DictBuckets(nkeys) * c.Memory.DictBucketBytes)
}

// UsedMemory predicts used_memory after loading nkeys string keys of keyLen-byte names
// and valueLen-byte values (with a TTL each when ttl) into an empty server:
// baseline + nkeys*UsedMemoryPerKey + the main dict's table (+ the expires dict's).
func (c Calibration) UsedMemory(nkeys int64, keyLen, valueLen int, ttl bool) int64 {
	if nkeys < 0 {
		panic(fmt.Sprintf("calibration: UsedMemory(%d keys): negative key count", nkeys))
	}
	b := c.Memory.BaselineUsedBytes + nkeys*c.UsedMemoryPerKey(keyLen, valueLen, ttl) + c.DictBytes(nkeys)
	if ttl {
		b += c.DictBytes(nkeys)
	}
	return b
}

// RSSBytes predicts used_memory_rss from used_memory at steady state.
func (c Calibration) RSSBytes(usedBytes int64) int64 {
	if usedBytes < 0 {
		panic(fmt.Sprintf("calibration: RSSBytes(%d): negative used memory", usedBytes))
	}
	return int64(math.Round(float64(usedBytes) * c.Memory.RSSFragmentationRatio))
}

func checkLen(what string, n int) {
	if n < 0 {
		panic(fmt.Sprintf("calibration: negative %s length %d", what, n))
	}
}
