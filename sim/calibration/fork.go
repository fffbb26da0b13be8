package calibration

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// Behavior: BGSAVE in Redis 7.0 — the fork stall, the child's snapshot duration and
// the copy-on-write memory the fork costs while the child lives.
//
//   - Fork stall: the parent is blocked in fork() while the kernel copies its page
//     tables, a time linear in resident memory; INFO stats latest_fork_usec, fitted as
//     BaseNanos + NanosPerGiB * used/GiB.
//   - Snapshot: the child walks the keyspace and writes the RDB (rdb.c rdbSaveRio),
//     trying LZF on every string value > 20 bytes with rdbcompression yes; here that is
//     CPU-bound, so duration = used / SnapshotBytesPerSec.
//   - Copy-on-write: after fork() parent and child share every page; the first write by
//     either side to a shared page copies it (once). The child reports the copied
//     memory as its Private_Dirty (server.c/childinfo.c, INFO persistence
//     rdb_last_cow_size after the save). Redis itself avoids needless copies: it does
//     not touch LRU fields while a child exists (db.c lookupKey) and stops resizing
//     dicts (dict_can_resize).
//
// The COW model follows the allocations. jemalloc keeps each size class in its own
// slabs, so a dataset of one key shape occupies one region of pages per size class
// (memory.go lists a key's allocations). An overwrite of a key during the save
// (SET key value [PX ms], the spill pattern) writes: the key's dictEntry (new value
// pointer; db.c dbOverwrite), the new value's robj and SDS (or its one EMBSTR
// allocation), which jemalloc serves from slots freed by earlier overwrites — so at
// effectively random places of their regions — and, for a key with a TTL, its
// db->expires dictEntry: t_string.c setGenericCommand passes SETKEY_KEEPTTL when the
// SET carries an expire, and db.c setExpire updates the existing entry in place
// (dictAddOrFind), so no dict bucket is written. The key's own SDS is not written.
// The calibration agrees to within 3% for both 256-byte values and 64-byte values
// with a TTL, except that the TTL dataset at saturation (every page copied) copies
// ~8% more than its allocation pages: some of its dict-table or allocator-metadata
// pages get written too, which the model ignores. A touched
// allocation of s bytes dirties 1+(s-1)/page pages on average (s/page for page-sized
// large classes). Writes to uniformly random keys then dirty, per region of P pages
// hit h times per write, P*(1-exp(-W*h/P)) distinct pages after W writes (occupancy):
// the small regions (dict entries, robjs) saturate first, the value region last, and
// the total saturates at the touched regions' size, below the dataset size. Larger
// pages (2 MiB transparent huge pages) mean fewer, bigger pages: more bytes copied for
// the same writes. TouchScale, fitted from rdb_last_cow_size, multiplies h; 1 means
// the mechanism alone explains the measurements.
//
// Not modelled: AOF rewrite (same mechanism, other constants), inserts of new keys
// (their allocations land mostly in fresh, unshared pages, but they write a random
// bucket page of the dict table), deletes and expiries (they write bucket pages),
// writes that change a key's size class, the child's madvise(MADV_DONTNEED) of large
// values it has already written (rdb.c dismissObject), skewed (hot-key) write
// patterns, which dirty fewer distinct pages than uniform ones, and the page-table
// memory itself.

// GiB is 2^30 bytes.
const GiB = 1 << 30

// ForkTime is the time the parent is blocked in fork() with usedBytes of used memory.
func (c Calibration) ForkTime(usedBytes int64) time.Duration {
	if usedBytes < 0 {
		panic(fmt.Sprintf("calibration: ForkTime(%d): negative used memory", usedBytes))
	}
	ns := c.Fork.BaseNanos + c.Fork.NanosPerGiB*float64(usedBytes)/GiB
	return time.Duration(math.Round(ns))
}

// SnapshotDuration is how long the BGSAVE child runs for usedBytes of used memory with
// incompressible values (the core's values are lz4 output).
func (c Calibration) SnapshotDuration(usedBytes int64) time.Duration {
	if usedBytes < 0 {
		panic(fmt.Sprintf("calibration: SnapshotDuration(%d): negative used memory", usedBytes))
	}
	return time.Duration(math.Round(float64(usedBytes) / c.Fork.SnapshotBytesPerSec * 1e9))
}

// KeyShape is the shape of a dataset's keys: name and value lengths in bytes and
// whether each key has a TTL.
type KeyShape struct {
	KeyBytes   int
	ValueBytes int
	TTL        bool
}

// COWRegion is the part of the heap holding one jemalloc size class of a dataset.
type COWRegion struct {
	// SizeClassBytes is the jemalloc size class of the region's allocations.
	SizeClassBytes int64
	// Pages is the number of pages the region occupies.
	Pages float64
	// PagesTouchedPerWrite is how many of its pages one overwrite writes (before
	// TouchScale).
	PagesTouchedPerWrite float64
}

// keyAlloc is one allocation of a key: its size class and whether an overwrite
// writes it.
type keyAlloc struct {
	class   int64
	touched bool
}

// keyAllocs lists the allocations of one key of shape s (see memory.go).
func (c Calibration) keyAllocs(s KeyShape) []keyAlloc {
	checkLen("key", s.KeyBytes)
	checkLen("value", s.ValueBytes)
	k, v := int64(s.KeyBytes), int64(s.ValueBytes)
	entry := c.SizeClass(c.Memory.DictEntryBytes)
	a := []keyAlloc{{entry, true}, {c.SizeClass(sdsHeaderBytes(k) + k + 1), false}}
	if s.ValueBytes <= c.Memory.EmbstrMaxBytes {
		a = append(a, keyAlloc{c.SizeClass(c.Memory.RobjBytes + 3 + v + 1), true})
	} else {
		a = append(a, keyAlloc{c.SizeClass(c.Memory.RobjBytes), true}, keyAlloc{c.SizeClass(sdsHeaderBytes(v) + v + 1), true})
	}
	if s.TTL {
		a = append(a, keyAlloc{entry, true})
	}
	return a
}

// COWRegions splits a dataset of keys keys of shape into its size-class regions,
// ordered by size class.
func (c Calibration) COWRegions(shape KeyShape, keys, pageSizeBytes int64) []COWRegion {
	if keys < 0 || pageSizeBytes <= 0 {
		panic(fmt.Sprintf("calibration: COWRegions(keys=%d, page=%d): bad input", keys, pageSizeBytes))
	}
	page := float64(pageSizeBytes)
	var out []COWRegion
	for _, a := range c.keyAllocs(shape) {
		i := slices.IndexFunc(out, func(r COWRegion) bool { return r.SizeClassBytes == a.class })
		if i < 0 {
			out = append(out, COWRegion{SizeClassBytes: a.class})
			i = len(out) - 1
		}
		out[i].Pages += float64(keys) * float64(a.class) / page
		if a.touched {
			span := 1 + float64(a.class-1)/page
			if a.class%pageSizeBytes == 0 {
				span = float64(a.class) / page
			}
			out[i].PagesTouchedPerWrite += span
		}
	}
	for i := range out {
		out[i].Pages = math.Ceil(out[i].Pages)
	}
	slices.SortFunc(out, func(a, b COWRegion) int { return cmp.Compare(a.SizeClassBytes, b.SizeClassBytes) })
	return out
}

// DirtyPages is the expected number of distinct pages, out of pages, that writes
// uniform random writes copy when each writes pagesPerWrite random pages of them:
// pages*(1-exp(-writes*pagesPerWrite/pages)).
func DirtyPages(pages, pagesPerWrite float64, writes int64) float64 {
	if pages < 0 || writes < 0 || pagesPerWrite < 0 {
		panic(fmt.Sprintf("calibration: DirtyPages(%v, %v, %d): negative input", pages, pagesPerWrite, writes))
	}
	if pages == 0 {
		return 0
	}
	return -pages * math.Expm1(-float64(writes)*pagesPerWrite/pages)
}

// ExpectedCOW is the copy-on-write memory (bytes) of one BGSAVE of a dataset of keys
// keys of shape while writes overwrites of uniformly random keys reach the parent,
// with pages of pageSizeBytes (COW.PageSizeBytes, or 2 MiB with transparent huge
// pages). writes counts every write, repeats included: an overwrite allocates its
// new value in whatever slot the allocator frees next, so a key written twice
// dirties fresh pages twice. The result is COW.BaselineBytes plus the dirtied pages
// of every region; it grows with writes and saturates at the touched regions' size
// (never more than the dataset's pages).
func (c Calibration) ExpectedCOW(shape KeyShape, keys, writes, pageSizeBytes int64) int64 {
	if writes < 0 {
		panic(fmt.Sprintf("calibration: ExpectedCOW(writes=%d): negative writes", writes))
	}
	var dirty float64
	for _, r := range c.COWRegions(shape, keys, pageSizeBytes) {
		dirty += DirtyPages(r.Pages, r.PagesTouchedPerWrite*c.COW.TouchScale, writes)
	}
	return c.COW.BaselineBytes + int64(math.Round(dirty*float64(pageSizeBytes)))
}
