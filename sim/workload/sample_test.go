package workload

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestSampleIDsExactCountUniform(t *testing.T) {
	for _, tc := range []struct{ n, w int }{{1000, 10}, {100_000, 50}, {12345, 7}, {10, 20}} {
		ids := sampleIDs(tc.n, tc.w, 1, 99)
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
	if a, b := sampleIDs(5000, 10, 1, 1), sampleIDs(5000, 10, 1, 2); equalIDs(a, b) {
		t.Error("different salts chose the same sample")
	}
}

// TestSampleIDsStratifiedByPartition: each partition keeps its share of the
// sample to within one key, the shares add up to round(n / w), and within a
// partition the kept ids are those with the smallest hashes.
func TestSampleIDsStratifiedByPartition(t *testing.T) {
	for _, tc := range []struct{ n, w, parts int }{{100_000, 50, 24}, {30_000, 100, 7}, {5000, 500, 12}, {2000, 3, 1}} {
		ids := sampleIDs(tc.n, tc.w, tc.parts, 7)
		want := max(1, (tc.n+tc.w/2)/tc.w)
		if len(ids) != want {
			t.Fatalf("%+v: %d ids, want %d", tc, len(ids), want)
		}
		var buf [KeyLen]byte
		sizes := make([]int, tc.parts)
		got := make([]int, tc.parts)
		kept := map[uint32]bool{}
		for _, id := range ids {
			kept[id] = true
		}
		maxKept := make([]uint64, tc.parts)
		for id := range tc.n {
			p := KafkaPartition(appendKey(buf[:0], uint32(id)), tc.parts)
			sizes[p]++
			if kept[uint32(id)] {
				got[p]++
				maxKept[p] = max(maxKept[p], splitmix(uint64(id)^7))
			}
		}
		for id := range tc.n { // nothing dropped hashes below a kept one of its partition
			p := KafkaPartition(appendKey(buf[:0], uint32(id)), tc.parts)
			if !kept[uint32(id)] && splitmix(uint64(id)^7) < maxKept[p] {
				t.Fatalf("%+v: id %d of partition %d dropped below the partition's kept hashes", tc, id, p)
			}
		}
		for p := range got {
			share := float64(want) * float64(sizes[p]) / float64(tc.n)
			if math.Abs(float64(got[p])-share) >= 1 {
				t.Errorf("%+v: partition %d keeps %d, its share is %.2f", tc, p, got[p], share)
			}
		}
	}
}

func TestShares(t *testing.T) {
	got := shares(10, []int64{1, 1, 1})
	if got[0]+got[1]+got[2] != 10 || got[0] != 4 || got[1] != 3 || got[2] != 3 {
		t.Fatalf("shares(10, 1:1:1) = %v, want [4 3 3]", got)
	}
	if got := shares(0, []int64{5, 0}); got[0] != 0 || got[1] != 0 {
		t.Fatalf("shares(0) = %v", got)
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

// TestSampledPhasesStratified: in a sampled workload each partition's keys of a
// class have phases spread evenly over the interval, so any window of the
// interval holds its expected share of them to within two keys.
func TestSampledPhasesStratified(t *testing.T) {
	cfg := Config{Datapoints: 200_000, Interval: time.Minute, ContextBytes: 64, Partitions: 8, Weight: 50}
	w, err := New(cfg, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	const windows = 20
	counts := make([][windows]int, cfg.Partitions)
	sizes := make([]int, cfg.Partitions)
	for k := range uint32(w.Datapoints()) {
		p := w.Partition(k)
		ph := w.Phase(k)
		if ph < 0 || ph >= time.Minute {
			t.Fatalf("key %d: phase %v outside [0, 1m)", k, ph)
		}
		counts[p][int(ph*windows/time.Minute)]++
		sizes[p]++
		if w.Due(k, 1) != ph {
			t.Fatalf("key %d: first message at %v, phase %v (no jitter)", k, w.Due(k, 1), ph)
		}
	}
	for p := range counts {
		want := float64(sizes[p]) / windows
		for i, c := range counts[p] {
			if math.Abs(float64(c)-want) > 2 {
				t.Errorf("partition %d window %d: %d keys, want %.1f ± 2", p, i, c, want)
			}
		}
	}
}
