package workload

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// The wheel's bucket width follows the shortest interval and its ring stays bounded.
func TestWheelShape(t *testing.T) {
	tests := []struct {
		name      string
		intervals []Mix
		jitter    time.Duration
		end       time.Duration
		wantShift uint
		wantSlots int
	}{
		{name: "minutes", intervals: []Mix{{1, time.Minute}}, end: time.Hour, wantShift: maxShift, wantSlots: 512},
		{name: "10ms", intervals: []Mix{{1, 10 * time.Millisecond}}, end: 10 * time.Second, wantShift: 21, wantSlots: 8},
		{name: "1ms and a day", intervals: []Mix{{0.5, time.Millisecond}, {0.5, 24 * time.Hour}}, end: 2 * time.Second,
			wantShift: 27, wantSlots: 1 << 20},
		{name: "a day with 11h jitter", intervals: []Mix{{1, 24 * time.Hour}}, jitter: 11 * time.Hour, end: 5 * 24 * time.Hour,
			wantShift: 28, wantSlots: 1 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Datapoints: 10, Intervals: tt.intervals, Jitter: tt.jitter, ContextBytes: 8, Partitions: 1}
			w := newTest(t, cfg, 1)
			if w.wheel.shift != tt.wantShift || len(w.wheel.slots) != tt.wantSlots {
				t.Fatalf("shift %d with %d slots, want shift %d and %d slots", w.wheel.shift, len(w.wheel.slots), tt.wantShift, tt.wantSlots)
			}
			msgs := emitAll(t, w, tt.end, tt.end/7)
			equalMessages(t, msgs, oracle(w, tt.end))
		})
	}
}

// sortEntries agrees with slices.Sort on even, skewed and tied inputs.
func TestSortEntries(t *testing.T) {
	const shift = 27
	rng := rand.New(rand.NewPCG(1, 1))
	entry := func(offset uint64, k uint32) uint64 { return offset<<32 | uint64(k) }
	tests := []struct {
		name string
		gen  func(i int) uint64
		n    int
	}{
		{name: "uniform", n: 5000, gen: func(i int) uint64 { return entry(rng.Uint64N(1<<shift), rng.Uint32()) }},
		{name: "all at one offset (ties broken by key)", n: 3000, gen: func(i int) uint64 { return entry(12345, rng.Uint32()) }},
		{name: "two clusters", n: 4000, gen: func(i int) uint64 { return entry(uint64(i%2)*(1<<shift-1), rng.Uint32()) }},
		{name: "descending", n: 70, gen: func(i int) uint64 { return entry(uint64(1000-i), uint32(i)) }},
		{name: "just above smallSort", n: smallSort + 1, gen: func(i int) uint64 { return entry(rng.Uint64N(1<<shift), uint32(i)) }},
		{name: "more entries than sub-buckets", n: 1<<maxSortBits + 5000, gen: func(i int) uint64 { return entry(rng.Uint64N(1<<shift), rng.Uint32()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wh := newWheel(time.Minute, time.Minute, 0, 0)
			src := make([]uint64, tt.n)
			for i := range src {
				src[i] = tt.gen(i)
			}
			want := slices.Sorted(slices.Values(src))
			got := wh.sortEntries(slices.Clone(src))
			if !slices.Equal(got, want) {
				t.Fatal("sortEntries disagrees with slices.Sort")
			}
		})
	}
}

// add/pop against a dumb model: a sorted list of (at, key).
func TestWheelAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	wh := newWheel(10*time.Millisecond, time.Second, 0, 0)
	type item struct {
		at int64
		k  uint32
	}
	var model []item
	now := int64(0)
	for k := range uint32(500) {
		at := rng.Int64N(int64(time.Second))
		wh.add(k, at)
		model = append(model, item{at, k})
	}
	for step := 0; step < 200; step++ {
		end := now + rng.Int64N(int64(30*time.Millisecond))
		slices.SortFunc(model, func(a, b item) int {
			if a.at != b.at {
				return int(a.at - b.at)
			}
			return int(a.k) - int(b.k)
		})
		for len(model) > 0 && model[0].at < end {
			k, at, ok := wh.pop(end)
			if !ok || k != model[0].k || at != model[0].at {
				t.Fatalf("step %d: pop = (%d, %d, %v), model says (%d, %d)", step, k, at, ok, model[0].k, model[0].at)
			}
			model = model[1:]
			next := at + 1 + rng.Int64N(int64(time.Second)) // sometimes within the current bucket
			wh.add(k, next)
			model = append(model, item{next, k})
			slices.SortFunc(model, func(a, b item) int {
				if a.at != b.at {
					return int(a.at - b.at)
				}
				return int(a.k) - int(b.k)
			})
		}
		if k, at, ok := wh.pop(end); ok {
			t.Fatalf("step %d: pop gave (%d, %d) due after the window end %d", step, k, at, end)
		}
		now = end
	}
}

// Chunks are recycled: after many turns of the ring the arena holds about one chunk per
// chunkLen keys plus a partly filled one per slot, not the busiest bucket per slot.
// Here a sparse ring: 15k keys at 10 minutes spread over ~4500 slots.
func TestWheelMemoryFollowsKeys(t *testing.T) {
	cfg := Config{Datapoints: 30_000, Intervals: []Mix{{0.5, 10 * time.Second}, {0.5, 10 * time.Minute}},
		Jitter: time.Second, ContextBytes: 8, Partitions: 1}
	w := newTest(t, cfg, 1)
	w.Emit(0, 15*time.Minute, func(int32, uint32, uint32, time.Duration) {})
	wh := w.wheel
	maxChunks := cfg.Datapoints/int(wh.chunkLen) + len(wh.slots) + 1
	if len(wh.chunks) > maxChunks {
		t.Fatalf("%d chunks for %d keys over %d slots, want at most %d", len(wh.chunks), cfg.Datapoints, len(wh.slots), maxChunks)
	}
	perKey := float64(wh.bytes()) / float64(cfg.Datapoints)
	t.Logf("%d chunks of %d entries, %.1f bytes per key", len(wh.chunks), wh.chunkLen, perKey)
	if perKey > 18 { // a slice per slot grown to the busiest bucket held ~40 here
		t.Fatalf("wheel holds %.1f bytes per key, want at most 18", perKey)
	}
}

func TestWheelPanicsBeyondHorizon(t *testing.T) {
	wh := newWheel(time.Second, time.Second, 0, 0)
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	wh.add(1, int64(time.Hour))
}
