package redisnode

import (
	"container/heap"
	"time"
)

// Behavior: key expiry in virtual time. Redis deletes an expired key when it is
// touched or when its active expire cycle samples it (expire.c); a client never
// sees an expired key. miniredis expires keys only in FastForward, which sorts every
// key on each call, so the node keeps its own index: a min-heap of (deadline, key)
// fed with every key's TTL after each write, and deletes due keys itself, in
// (deadline, key) order, before it serves any later command. An expired key's
// memory is released at its deadline: a TTL that is never set shows up as growth.

// expiryIndex is a min-heap of (deadline, key) plus each key's current deadline;
// heap entries that no longer match the current deadline are skipped when popped.
type expiryIndex struct {
	at map[string]time.Duration
	h  expiryHeap
}

type expiryItem struct {
	at  time.Duration
	key string
}

type expiryHeap []expiryItem

func (h expiryHeap) Len() int { return len(h) }
func (h expiryHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].key < h[j].key
}
func (h expiryHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)   { *h = append(*h, x.(expiryItem)) }
func (h *expiryHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

func newExpiryIndex() expiryIndex { return expiryIndex{at: map[string]time.Duration{}} }

func (x *expiryIndex) set(key string, at time.Duration) {
	if cur, ok := x.at[key]; ok && cur == at {
		return
	}
	x.at[key] = at
	heap.Push(&x.h, expiryItem{at: at, key: key})
}

func (x *expiryIndex) clear(key string) { delete(x.at, key) }

// next reports the earliest current deadline.
func (x *expiryIndex) next() (time.Duration, bool) {
	for len(x.h) > 0 {
		it := x.h[0]
		if cur, ok := x.at[it.key]; ok && cur == it.at {
			return it.at, true
		}
		heap.Pop(&x.h)
	}
	return 0, false
}

// popDue returns a key whose deadline is ≤ now, removing it from the index.
func (x *expiryIndex) popDue(now time.Duration) (string, bool) {
	for len(x.h) > 0 && x.h[0].at <= now {
		it := heap.Pop(&x.h).(expiryItem)
		if cur, ok := x.at[it.key]; ok && cur == it.at {
			delete(x.at, it.key)
			return it.key, true
		}
	}
	return "", false
}

func (x *expiryIndex) len() int { return len(x.at) }
