package workload

import (
	"cmp"
	"math"
	"slices"
)

// Sampling (Config.Weight > 1): spatial sampling of the datapoints, as SHARDS
// samples a reference stream (Waldspurger, Park, Garthwaite and Ahmad, "Efficient
// MRC Construction with SHARDS", FAST '15): a datapoint is in the sample when a
// hash of its id is among the smallest, so the sample is a deterministic, uniform
// subset. SHARDS' fixed-size variant keeps exactly the s smallest hashes; here
// s = round(Datapoints / Weight), so each simulated key stands for Weight
// datapoints and every count the simulator scales by Weight stays a whole number
// (the represented total is s × Weight, within Weight/2 of Datapoints).
//
// The sample is stratified by Kafka partition: partition p, holding n_p of the n
// datapoints, keeps its s × n_p / n smallest hashes (largest remainders to the
// whole s). A partition is the unit a pod owns, spills and restores, so every pod
// then holds its real share of the keys to within one simulated key; an
// unstratified sample gives a pod Binomial(n_p, 1/W) keys, and a handoff's
// longest spill, a maximum over pods, read up to 30 % off at 0.02 with a few
// hundred simulated keys per pod (docs/sampling.md).
//
// A simulated key keeps its datapoint's id, so its record key and Redis key are
// the real ones (same length, same partition and ring node as in an exact run);
// Key, AppendKey and ParseKey speak ids, and Index maps an id back to the key.

// sampleSalt separates the sample's hash from the schedule's (both derive from the
// phase seed).
const sampleSalt = 0x5348415244530001 // "SHARDS", 1

// sampleIDs returns round(n / weight) ids of 0..n-1, ascending: in each of the
// partitions, its share of them with the smallest splitmix(id ^ salt). It scans the
// ids once, keeping those under a threshold set a few standard deviations above
// the expected quantile, and widens the threshold in the (rare) case a partition
// has too few under it.
func sampleIDs(n, weight, partitions int, salt uint64) []uint32 {
	s := max(1, int((int64(n)+int64(weight)/2)/int64(weight)))
	if s >= n {
		ids := make([]uint32, n)
		for i := range ids {
			ids[i] = uint32(i)
		}
		return ids
	}
	partitions = max(partitions, 1)
	part := make([]uint16, n)
	sizes := make([]int64, partitions)
	var buf [KeyLen]byte
	for id := range n {
		p := KafkaPartition(appendKey(buf[:0], uint32(id)), partitions)
		part[id] = uint16(p)
		sizes[p]++
	}
	quota := shares(int64(s), sizes)
	type cand struct {
		h  uint64
		id uint32
	}
	smallest := slices.Min(sizes)
	frac := float64(s) / float64(n)
	for margin := 6.0; ; margin *= 2 {
		// Expected passes in a partition of m: m·p, deviating by ≤ sqrt(m·p); margin
		// of them for the smallest partition, plus 64.
		m := float64(max(smallest, 1))
		p := min(1, frac+margin*math.Sqrt(frac/m)+64/m)
		limit := ^uint64(0)
		if p < 1 {
			limit = uint64(p * float64(1<<63) * 2)
		}
		cands := make([][]cand, partitions)
		for id := range n {
			if h := splitmix(uint64(id) ^ salt); h <= limit {
				cands[part[id]] = append(cands[part[id]], cand{h, uint32(id)})
			}
		}
		short := false
		for p, c := range cands {
			short = short || int64(len(c)) < quota[p]
		}
		if short {
			continue
		}
		ids := make([]uint32, 0, s)
		for p, c := range cands {
			slices.SortFunc(c, func(a, b cand) int {
				switch {
				case a.h < b.h:
					return -1
				case a.h > b.h:
					return 1
				}
				return int(a.id) - int(b.id)
			})
			for _, x := range c[:quota[p]] {
				ids = append(ids, x.id)
			}
		}
		slices.Sort(ids)
		return ids
	}
}

// shares splits total over sizes in proportion, by largest remainders (ties to
// the lower index): each share is within one of total × size / Σ sizes, and they
// add up to total.
func shares(total int64, sizes []int64) []int64 {
	var sum int64
	for _, x := range sizes {
		sum += x
	}
	out := make([]int64, len(sizes))
	rem := make([]int64, len(sizes))
	left := total
	for i, x := range sizes {
		out[i], rem[i] = total*x/sum, total*x%sum // total and sizes ≤ 2^32: no overflow
		left -= out[i]
	}
	order := make([]int, len(sizes))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rem[b], rem[a]) })
	for _, i := range order[:left] {
		out[i]++
	}
	return out
}

// ID is the datapoint id of simulated key k (k itself without sampling).
func (w *Workload) ID(k uint32) uint32 {
	if w.ids == nil {
		return k
	}
	return w.ids[k]
}

// Index returns the simulated key of datapoint id, false when id is not in the
// sample (or out of range).
func (w *Workload) Index(id uint32) (uint32, bool) {
	if w.ids == nil {
		return id, int64(id) < int64(len(w.keys))
	}
	i, ok := slices.BinarySearch(w.ids, id)
	return uint32(i), ok
}
