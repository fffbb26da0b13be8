package workload

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestSampleIDsExactCountUniform(t *testing.T) {
	for _, tc := range []struct{ n, w int }{{1000, 10}, {100_000, 50}, {12345, 7}, {10, 20}} {
		ids := sampleIDs(tc.n, tc.w, 99)
		want := max(1, (tc.n+tc.w/2)/tc.w)
		if len(ids) != want {
			t.Fatalf("n=%d w=%d: %d ids, want %d", tc.n, tc.w, len(ids), want)
		}
		for i := 1; i < len(ids); i++ {
			if ids[i] <= ids[i-1] || int(ids[i]) >= tc.n {
				t.Fatalf("ids not ascending and in range at %d: %d, %d", i, ids[i-1], ids[i])
			}
		}
		if tc.n >= 100_000 {
			// Uniform over the id range: each decile holds ~10 % of the sample.
			var dec [10]int
			for _, id := range ids {
				dec[int(id)*10/tc.n]++
			}
			for i, c := range dec {
				if c < len(ids)/10*8/10 || c > len(ids)/10*12/10 {
					t.Errorf("decile %d holds %d of %d sampled ids", i, c, len(ids))
				}
			}
		}
	}
	if a, b := sampleIDs(5000, 10, 1), sampleIDs(5000, 10, 2); equalIDs(a, b) {
		t.Error("different salts chose the same sample")
	}
}

func equalIDs(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSampledWorkloadKeysAreRealIDs(t *testing.T) {
	cfg := Config{Datapoints: 100_000, Interval: time.Minute, CounterFraction: 0.5, ContextBytes: 64, Partitions: 12, Weight: 100}
	w, err := New(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if w.Datapoints() != 1000 || w.Weight() != 100 || w.Counters() != 500 {
		t.Fatalf("datapoints %d weight %d counters %d, want 1000 100 500", w.Datapoints(), w.Weight(), w.Counters())
	}
	seen := map[int32]int{}
	for k := range uint32(w.Datapoints()) {
		id, ok := ParseKey(w.Key(k))
		if !ok || id != w.ID(k) {
			t.Fatalf("key %d: %q parses to %d, want id %d", k, w.Key(k), id, w.ID(k))
		}
		if back, ok := w.Index(id); !ok || back != k {
			t.Fatalf("Index(%d) = %d, %v; want %d", id, back, ok, k)
		}
		seen[w.Partition(k)]++
	}
	if len(seen) != 12 {
		t.Errorf("sampled keys fall in %d of 12 partitions", len(seen))
	}
	if _, ok := w.Index(w.ID(0) + 1); ok && w.ID(1) != w.ID(0)+1 {
		t.Error("Index found an id that is not in the sample")
	}
}
