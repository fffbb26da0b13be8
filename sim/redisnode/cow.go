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
//     slots freed earlier (jemalloc reuses holes before fresh pages), last freed
//     first: jemalloc's thread cache hands out a size class's most recently freed
//     region (tcache bins are LIFO stacks), and Redis allocates a SET's new value
//     (the parsed argument, networking.c) before it frees the old one (db.c
//     dbSetValue), so the new value lands where the previous write's old value was.
//     Freeing pushes the freed allocation's place — the key's own, a hash of the
//     key and the allocation (where a loaded dataset holds it) — and an allocation
//     pops the last one, dirtying the page(s) covering [off, off+size) (an
//     allocation larger than a page copies every page it spans); with nothing
//     freed since the fork, a place at a hash of the write number. With writes to
//     uniformly random keys that is a random page per write; with a few hot keys
//     written over and over it is the same few pages — the hot keys' own — which a
//     random page per write (this model before) overstated many times over. When
//     the class has no holes the allocation lands in fresh, unshared memory (no
//     copy, only more used memory);
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

// freedDepth bounds each class's stack of freed places (jemalloc's tcache bins
// hold a few hundred regions; deeper ones went back to the arena).
const freedDepth = 256

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
	freed    map[int64]*freeStack // per size class, the places freed since the fork, last on top
}

// freeStack is a bounded LIFO stack of freed places: pushing onto a full stack
// drops its oldest entry. The live entries are st[lo:]; dropping one advances lo,
// and the slice is compacted once lo passes the bound, so a push costs O(1)
// amortized (a key that stands for w keys pushes w places onto a stack w times
// as deep: dropping by copying was O(w) per place, O(w²) per free).
type freeStack struct {
	st []uint64
	lo int
}

func (s *freeStack) len() int { return len(s.st) - s.lo }

// push adds h on top, dropping the oldest entry if the stack already holds limit.
func (s *freeStack) push(h uint64, limit int) {
	s.st = append(s.st, h)
	if s.len() > limit {
		s.lo++
		if s.lo >= limit {
			s.st = append(s.st[:0], s.st[s.lo:]...)
			s.lo = 0
		}
	}
}

// pop removes and returns the top entry; ok is false when the stack is empty.
func (s *freeStack) pop() (h uint64, ok bool) {
	if s.len() == 0 {
		return 0, false
	}
	h = s.st[len(s.st)-1]
	s.st = s.st[:len(s.st)-1]
	return h, true
}

// newCOWTracker lays out the regions from the live bytes per size class and the
// two table sizes at fork time.
func newCOWTracker(pageBytes int64, classBytes map[int64]int64, mainTable, expiresTable, baseline int64) *cowTracker {
	if pageBytes <= 0 {
		panic(fmt.Sprintf("redisnode: COW tracker with page size %d", pageBytes))
	}
	c := &cowTracker{page: pageBytes, baseline: baseline, regions: map[int64]*cowRegion{}, freed: map[int64]*freeStack{}}
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
	for j := int64(0); j < c.weight(key); j++ {
		c.touch(id, place(key, salt^copySalt(j)), size)
	}
}

// place is where key's allocation salt of a loaded dataset lives (the hash
// inPlace and free use).
func place(key string, salt uint64) uint64 { return mix64(fnv64(key) ^ salt) }

// alloc dirties the page(s) a new allocation of size bytes in class id lands on:
// the class's last freed place, or a place at a hash of the write number when
// nothing of the class was freed since the fork.
func (c *cowTracker) alloc(id int64, size int64) {
	if st := c.freed[id]; st != nil {
		if h, ok := st.pop(); ok {
			c.touch(id, h, size)
			return
		}
	}
	c.seq++
	c.touch(id, mix64(mix64(c.seq)^uint64(id)), size)
}

// free pushes the place of key's allocation salt of class id onto the class's
// stack (freeing writes nothing to the shared page itself: jemalloc keeps the
// free lists in its own metadata).
//
// A key that stands for w keys (weight.go) frees w places, one per key.
func (c *cowTracker) free(id int64, key string, salt uint64) {
	w := c.weight(key)
	st := c.freed[id]
	if st == nil {
		st = &freeStack{}
		c.freed[id] = st
	}
	for j := int64(0); j < w; j++ {
		st.push(place(key, salt^copySalt(j)), int(freedDepth*w)) // the depth of w keys' stacks
	}
}

// weight is how many keys key stands for (weight.go).
func (c *cowTracker) weight(key string) int64 {
	if c.wt == nil {
		return 1
	}
	return c.wt(key)
}

// copySalt tells apart the places of the keys one sampled key stands for; the
// first is the key's own place (0), so an unsampled run is unchanged.
func copySalt(j int64) uint64 {
	if j == 0 {
		return 0
	}
	return mix64(uint64(j) << 32)
}
