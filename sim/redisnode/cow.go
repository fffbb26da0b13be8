package redisnode

import (
	"fmt"
	"slices"
)

// Behavior: the pages a fork child's parent copies on write (Linux copy-on-write
// after fork(2)), page by page, deterministically.
//
// At fork time parent and child share every page. The dataset's pages are laid
// out as calibration/fork.go describes jemalloc's: one region per size class
// (classBytes / page pages, from the memory model), plus the main dict's and the
// expires dict's bucket tables. While the child lives, each parent write dirties
// the page(s) holding what it writes, and a page is copied once:
//   - an overwrite writes the key's dictEntry and its expires dictEntry in place
//     (db.c dbSetValue, setExpire): the page at a hash of the key;
//   - new allocations (the new value's robj/SDS, a new key's entry and SDS) go to
//     slots freed earlier (jemalloc reuses holes before fresh pages): a page at a
//     hash of (key, write number) in the class's region, covering [off, off+size)
//     so an allocation larger than a page copies every page it spans; when the
//     class has no holes the allocation lands in fresh, unshared memory (no copy,
//     only more used memory);
//   - inserting or deleting a key writes one bucket of the main table (and of the
//     expires table for a key with a TTL).
//
// With 4 KiB pages and writes to uniformly random keys this is the occupancy model
// calibration.ExpectedCOW fits to rdb_last_cow_size (the test compares them); with
// 2 MiB transparent huge pages one write copies 2 MiB, so the same writes copy far
// more. COW never exceeds the regions' pages: it saturates at the dataset size.
// The child's own copies (its buffers, the parent's cron work) are the calibrated
// COW.BaselineBytes, counted from the fork.
//
// Not modelled: the calibrated TouchScale (1.004, i.e. the mechanism alone explains
// the measurements), the child's madvise(MADV_DONTNEED) of large values it already
// wrote, page-table memory, and khugepaged collapsing pages during the save.

// Special regions for the dict bucket tables (size classes are positive).
const (
	regionMainTable    int64 = -1
	regionExpiresTable int64 = -2
)

type cowRegion struct {
	pages int64
	bits  []uint64
}

// cowTracker counts the pages copied since one fork.
type cowTracker struct {
	wt       func(key string) int64 // keys each key stands for (weight.go); nil: 1
	page     int64
	baseline int64
	regions  map[int64]*cowRegion
	dirty    int64
	seq      uint64
}

// newCOWTracker lays out the regions from the live bytes per size class and the
// two table sizes at fork time.
func newCOWTracker(pageBytes int64, classBytes map[int64]int64, mainTable, expiresTable, baseline int64) *cowTracker {
	if pageBytes <= 0 {
		panic(fmt.Sprintf("redisnode: COW tracker with page size %d", pageBytes))
	}
	c := &cowTracker{page: pageBytes, baseline: baseline, regions: map[int64]*cowRegion{}}
	add := func(id, bytes int64) {
		if bytes <= 0 {
			return
		}
		pages := (bytes + pageBytes - 1) / pageBytes
		c.regions[id] = &cowRegion{pages: pages, bits: make([]uint64, (pages+63)/64)}
	}
	classes := make([]int64, 0, len(classBytes))
	for cl := range classBytes {
		classes = append(classes, cl)
	}
	slices.Sort(classes)
	for _, cl := range classes {
		add(cl, classBytes[cl])
	}
	add(regionMainTable, mainTable)
	add(regionExpiresTable, expiresTable)
	return c
}

// bytes is the copied memory: the baseline plus every dirtied page.
func (c *cowTracker) bytes() int64 { return c.baseline + c.dirty*c.page }

// touch dirties the pages of region id holding size bytes at offset h mod the
// region's size.
func (c *cowTracker) touch(id int64, h uint64, size int64) {
	r := c.regions[id]
	if r == nil {
		return
	}
	span := r.pages * c.page
	off := int64(h % uint64(span))
	first, last := off/c.page, (off+max(size, 1)-1)/c.page
	if last-first+1 >= r.pages {
		first, last = 0, r.pages-1
	}
	for p := first; p <= last; p++ {
		q := p % r.pages
		w, b := q/64, uint64(1)<<(q%64)
		if r.bits[w]&b == 0 {
			r.bits[w] |= b
			c.dirty++
		}
	}
}

// inPlace dirties the page of an allocation that stays where it is (keyed by the
// key alone, so rewriting the same key touches the same page).
//
// A key that stands for w keys (weight.go) dirties w such pages, one per key it
// stands for, each at its own fixed place.
func (c *cowTracker) inPlace(id int64, key string, salt uint64, size int64) {
	h := fnv64(key)
	c.touch(id, mix64(h^salt), size)
	for j := int64(1); c.wt != nil && j < c.wt(key); j++ {
		c.touch(id, mix64(h^salt^mix64(uint64(j)<<32)), size)
	}
}

// fresh dirties the page a new allocation lands on (a different place per write).
func (c *cowTracker) fresh(id int64, key string, size int64) {
	c.seq++
	c.touch(id, mix64(fnv64(key)^mix64(c.seq)), size)
}
