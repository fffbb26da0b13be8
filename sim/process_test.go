package sim

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/spillway-sim/spillway/sim/broker"
)

// TestMergeRunsIsTheSort: merging per-partition runs gives exactly the order
// sorting the batch by (append time, partition, offset) gives.
func TestMergeRunsIsTheSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name       string
		runs, recs int
		spread     time.Duration // append times drawn from [0, spread): small spreads tie often
	}{
		{name: "empty", runs: 0},
		{name: "one run", runs: 1, recs: 20, spread: time.Second},
		{name: "ties", runs: 5, recs: 30, spread: 3},
		{name: "wide", runs: maxMergeRuns, recs: 40, spread: time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var batch []fetched
			var ends []int
			parts := rng.Perm(64)[:tc.runs] // fetch visits partitions in a rotating order
			for _, p := range parts {
				n := 1 + rng.IntN(tc.recs)
				ats := make([]time.Duration, n)
				for i := range ats {
					ats[i] = time.Duration(rng.Int64N(int64(tc.spread)))
				}
				slices.Sort(ats)
				for i, at := range ats {
					batch = append(batch, fetched{part: int32(p), offset: int64(100 + i), rec: broker.Record{At: at}})
				}
				ends = append(ends, len(batch))
			}
			got := mergeRuns(nil, batch, ends)
			want := slices.Clone(batch)
			slices.SortFunc(want, func(a, b fetched) int {
				if c := cmp.Compare(a.rec.At, b.rec.At); c != 0 {
					return c
				}
				if c := cmp.Compare(a.part, b.part); c != 0 {
					return c
				}
				return cmp.Compare(a.offset, b.offset)
			})
			if !slices.Equal(got, want) {
				t.Fatalf("merge differs from sort:\n got %v\nwant %v", got, want)
			}
		})
	}
}
