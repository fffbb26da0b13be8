package workload

import (
	"fmt"
	"math/bits"
	"slices"
	"time"
)

// Timing wheel parameters. Buckets are 2^shift ns wide: at most 2^27 ns (~134 ms) and at
// most a quarter of the shortest interval (down to 2^10 ns); the ring has a power-of-two
// number of slots covering the longest gap between two messages of a key, at most
// 2^20 (the buckets widen to fit).
const (
	maxShift = 27
	minShift = 10
	maxSlots = 1 << 20
	// A slot's chunks hold between minChunk and maxChunk entries (a power of two near
	// keys per slot), so sparse slots waste little and full ones have short lists.
	minChunk = 4
	maxChunk = 64
	// A bucket is sorted by distributing its entries over about one sub-bucket per entry
	// by the top bits of their offset (at most 2^maxSortBits sub-buckets), then sorting
	// each sub-bucket; buckets of up to smallSort entries go straight to slices.Sort.
	maxSortBits = 16
	smallSort   = 64
)

// wheel is the emission schedule: a timing wheel of fixed-width buckets in a ring of
// slots. Each key is in exactly one place, under its next due time: in the slot of a
// later bucket, or in the bucket being emitted. An entry is a uint64 offset<<32 | key,
// where offset is the due time within its bucket (< 2^32 ns), so the entries of one
// bucket sort by (at, key) as plain integers.
//
// A slot holds its entries in a list of fixed-size chunks drawn from one shared arena
// and returned to a free list when the bucket is loaded, so memory follows the number of
// keys (8 bytes each, 8 bytes per chunk of list links, plus at most one partly filled
// chunk per non-empty slot), not the busiest bucket times the number of slots.
//
// The current bucket is sorted once, when the first window reaches it, into run; keys
// rescheduled into it after that (their next message is due within the same bucket) go
// to the late min-heap, and the two are merged.
type wheel struct {
	shift    uint
	mask     int64
	slots    []slotList
	chunkLen int32    // entries per chunk
	entries  []uint64 // chunk c holds entries[c*chunkLen : (c+1)*chunkLen]
	chunks   []chunk  // list links of each chunk
	free     []int32  // indexes of unused chunks
	cur      int64    // absolute index of the current bucket; -1 before the first
	run      []uint64 // current bucket, sorted
	pos      int      // next entry of run
	late     []uint64 // min-heap of entries rescheduled into the current bucket
	spare    []uint64 // buffer for sorting
	counts   []uint32 // sub-bucket counters for sorting
}

// slotList is a slot's chunks, head to tail; -1 when the slot is empty.
type slotList struct{ head, tail int32 }

type chunk struct {
	next int32 // next chunk of the slot, -1 at the tail
	n    int32 // entries in use
}

// newWheel sizes a wheel for intervals in [shortest, longest] with the given jitter;
// keys is the number of entries it will hold.
func newWheel(shortest, longest, jitter time.Duration, keys int) *wheel {
	shift := uint(maxShift)
	for shift > minShift && int64(1)<<shift > int64(shortest)/4 {
		shift--
	}
	gap := int64(longest) + 2*int64(jitter) // largest distance between consecutive messages of a key
	for gap>>shift+2 > maxSlots {
		shift++
	}
	if shift > 32 {
		panic(fmt.Sprintf("workload: bucket shift %d does not fit an offset in 32 bits", shift))
	}
	slots := 1
	for int64(slots) < gap>>shift+2 {
		slots <<= 1
	}
	chunkLen := minChunk
	for chunkLen < maxChunk && chunkLen*2 <= keys/slots {
		chunkLen *= 2
	}
	wh := &wheel{
		shift:    shift,
		mask:     int64(slots - 1),
		slots:    make([]slotList, slots),
		chunkLen: int32(chunkLen),
		cur:      -1,
	}
	reserve := keys/chunkLen + min(slots, keys)/4 + 1
	wh.chunks = make([]chunk, 0, reserve)
	wh.entries = make([]uint64, 0, reserve*chunkLen)
	for i := range wh.slots {
		wh.slots[i] = slotList{-1, -1}
	}
	return wh
}

// add files key k, next due at, under its bucket: the late heap when that is the
// current bucket, else the bucket's slot. A bucket before the current one or beyond
// the ring is a broken invariant.
func (wh *wheel) add(k uint32, at int64) {
	b := at >> wh.shift
	x := uint64(at-b<<wh.shift)<<32 | uint64(k)
	switch d := b - wh.cur; {
	case d == 0:
		wh.pushLate(x)
		return
	case d < 0 || d > wh.mask:
		panic(fmt.Sprintf("workload: key %d due at %v is outside the wheel (current bucket %d)", k, time.Duration(at), wh.cur))
	}
	s := &wh.slots[b&wh.mask]
	if s.tail < 0 || wh.chunks[s.tail].n == wh.chunkLen {
		c := wh.newChunk()
		if s.tail < 0 {
			s.head = c
		} else {
			wh.chunks[s.tail].next = c
		}
		s.tail = c
	}
	t := &wh.chunks[s.tail]
	wh.entries[s.tail*wh.chunkLen+t.n] = x
	t.n++
}

func (wh *wheel) newChunk() int32 {
	if n := len(wh.free); n > 0 {
		c := wh.free[n-1]
		wh.free = wh.free[:n-1]
		return c
	}
	if len(wh.chunks) >= 1<<31-1 {
		panic("workload: timing wheel out of chunks")
	}
	wh.chunks = append(wh.chunks, chunk{next: -1})
	wh.entries = append(wh.entries, make([]uint64, wh.chunkLen)...)
	return int32(len(wh.chunks) - 1)
}

// pop removes and returns the earliest entry of the wheel if it is due before end
// (ns), loading buckets that start before end as it goes.
func (wh *wheel) pop(end int64) (k uint32, at int64, ok bool) {
	for {
		var x uint64
		fromRun := wh.pos < len(wh.run)
		switch {
		case fromRun && (len(wh.late) == 0 || wh.run[wh.pos] < wh.late[0]):
			x = wh.run[wh.pos]
		case len(wh.late) > 0:
			x, fromRun = wh.late[0], false
		default: // the current bucket is done
			if (wh.cur+1)<<wh.shift >= end {
				return 0, 0, false
			}
			wh.load(wh.cur + 1)
			continue
		}
		at = wh.cur<<wh.shift + int64(x>>32)
		if at >= end {
			return 0, 0, false
		}
		if fromRun {
			wh.pos++
		} else {
			wh.popLate()
		}
		return uint32(x), at, true
	}
}

// load makes bucket b current: its slot's entries become run, sorted by (at, key), and
// its chunks go back to the free list.
func (wh *wheel) load(b int64) {
	if len(wh.late) != 0 || wh.pos != len(wh.run) {
		panic(fmt.Sprintf("workload: loading bucket %d with bucket %d unfinished", b, wh.cur))
	}
	s := &wh.slots[b&wh.mask]
	run := wh.run[:0]
	for c := s.head; c >= 0; {
		ch := &wh.chunks[c]
		run = append(run, wh.entries[c*wh.chunkLen:c*wh.chunkLen+ch.n]...)
		next := ch.next
		ch.next, ch.n = -1, 0
		wh.free = append(wh.free, c)
		c = next
	}
	*s = slotList{-1, -1}
	if len(run) <= smallSort {
		slices.Sort(run)
	} else {
		run = wh.sortEntries(run)
	}
	wh.run, wh.pos, wh.cur = run, 0, b
}

// sortEntries sorts the entries of one bucket (more than smallSort of them) and returns
// them; src and spare swap roles. Due times are spread evenly over a bucket (random
// phases and jitter), so one counting pass over the top bits of the offset leaves about
// one entry per sub-bucket, and each sub-bucket is then sorted on its own. A skewed
// bucket costs at worst one slices.Sort of a sub-bucket, never quadratic time.
func (wh *wheel) sortEntries(src []uint64) []uint64 {
	nbits := uint(min(maxSortBits, bits.Len(uint(len(src)))))
	sh := 32 + wh.shift - nbits // entry >> sh is in [0, 2^nbits)
	n := 1 << nbits
	if cap(wh.counts) < n+1 {
		wh.counts = make([]uint32, n+1)
	}
	counts := wh.counts[:n+1]
	clear(counts)
	for _, x := range src {
		counts[x>>sh+1]++
	}
	for i := 1; i <= n; i++ {
		counts[i] += counts[i-1]
	}
	if cap(wh.spare) < len(src) {
		wh.spare = make([]uint64, 0, cap(src))
	}
	dst := wh.spare[:len(src)]
	for _, x := range src {
		i := x >> sh
		dst[counts[i]] = x
		counts[i]++
	}
	start := uint32(0)
	for i := range n {
		end := counts[i] // now the end of sub-bucket i
		switch sub := dst[start:end]; {
		case len(sub) <= 1:
		case len(sub) <= 12:
			for j := 1; j < len(sub); j++ {
				for x := j; x > 0 && sub[x] < sub[x-1]; x-- {
					sub[x], sub[x-1] = sub[x-1], sub[x]
				}
			}
		default:
			slices.Sort(sub)
		}
		start = end
	}
	wh.spare = src[:0]
	return dst
}

func (wh *wheel) pushLate(x uint64) {
	h := append(wh.late, x)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p] <= h[i] {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
	wh.late = h
}

func (wh *wheel) popLate() {
	h := wh.late
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		if r := l + 1; r < n && h[r] < h[l] {
			l = r
		}
		if h[i] <= h[l] {
			break
		}
		h[i], h[l] = h[l], h[i]
		i = l
	}
	wh.late = h
}

// bytes is the memory the wheel holds: chunks, free list, buffers and slots.
func (wh *wheel) bytes() int {
	return 8*cap(wh.chunks) + 8*cap(wh.entries) + 4*cap(wh.free) + 8*(cap(wh.run)+cap(wh.late)+cap(wh.spare)) +
		4*cap(wh.counts) + 8*len(wh.slots)
}
