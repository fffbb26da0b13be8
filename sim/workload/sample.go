package workload

import (
	"math"
	"slices"
)

// Sampling (Config.Weight > 1): spatial sampling of the datapoints, as SHARDS
// samples a reference stream (Waldspurger, Park, Garthwaite and Ahmad, "Efficient
// MRC Construction with SHARDS", FAST '15): a datapoint is in the sample when a
// hash of its id is among the smallest, so the sample is a deterministic, uniform
// subset that does not depend on how the ids are assigned to partitions, classes or
// nodes. SHARDS' fixed-size variant keeps exactly the s smallest hashes; here
// s = round(Datapoints / Weight), so each simulated key stands for Weight
// datapoints and every count the simulator scales by Weight stays a whole number
// (the represented total is s × Weight, within Weight/2 of Datapoints).
//
// A simulated key keeps its datapoint's id, so its record key and Redis key are
// the real ones (same length, same partition and ring node as in an exact run);
// Key, AppendKey and ParseKey speak ids, and Index maps an id back to the key.

// sampleSalt separates the sample's hash from the schedule's (both derive from the
// phase seed).
const sampleSalt = 0x5348415244530001 // "SHARDS", 1

// sampleIDs returns the round(n / weight) ids of 0..n-1 with the smallest
// splitmix(id ^ salt), ascending. It scans the ids once, keeping those under a
// threshold set a few standard deviations above the expected s-th smallest hash,
// and widens the threshold in the (vanishingly rare) case too few pass.
func sampleIDs(n, weight int, salt uint64) []uint32 {
	s := max(1, int((int64(n)+int64(weight)/2)/int64(weight)))
	if s >= n {
		ids := make([]uint32, n)
		for i := range ids {
			ids[i] = uint32(i)
		}
		return ids
	}
	type cand struct {
		h  uint64
		id uint32
	}
	frac := float64(s) / float64(n)
	for margin := 6.0; ; margin *= 2 {
		// Expected passes: n·p; a binomial's deviation is ≤ sqrt(n·p); margin of them, plus 64.
		p := min(1, frac+margin*math.Sqrt(frac/float64(n))+64/float64(n))
		limit := ^uint64(0)
		if p < 1 {
			limit = uint64(p * float64(1<<63) * 2)
		}
		cands := make([]cand, 0, int(p*float64(n))+16)
		for id := range n {
			if h := splitmix(uint64(id) ^ salt); h <= limit {
				cands = append(cands, cand{h, uint32(id)})
			}
		}
		if len(cands) < s {
			continue
		}
		slices.SortFunc(cands, func(a, b cand) int {
			switch {
			case a.h < b.h:
				return -1
			case a.h > b.h:
				return 1
			}
			return int(a.id) - int(b.id)
		})
		ids := make([]uint32, s)
		for i := range ids {
			ids[i] = cands[i].id
		}
		slices.Sort(ids)
		return ids
	}
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
