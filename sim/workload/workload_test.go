package workload

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
	"unsafe"
)

// newTest builds a workload or fails the test.
func newTest(tb testing.TB, cfg Config, seed uint64) *Workload {
	tb.Helper()
	w, err := New(cfg, rand.New(rand.NewPCG(seed, 0)))
	if err != nil {
		tb.Fatalf("New(%+v): %v", cfg, err)
	}
	return w
}

func TestKeyFormat(t *testing.T) {
	tests := []struct {
		name string
		k    uint32
		want string
	}{
		{name: "zero", k: 0, want: "dp:00000000"},
		{name: "one", k: 1, want: "dp:00000001"},
		{name: "middle", k: 12345, want: "dp:00012345"},
		{name: "largest", k: MaxDatapoints - 1, want: "dp:99999999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(appendKey(nil, tt.k))
			if got != tt.want || len(got) != KeyLen {
				t.Fatalf("appendKey(%d) = %q, want %q (%d bytes)", tt.k, got, tt.want, KeyLen)
			}
		})
	}
}

func TestKeyAndAppendKey(t *testing.T) {
	cfg := validConfig()
	cfg.Datapoints = 100_000
	w := newTest(t, cfg, 1)
	if got := w.Key(99_999); got != "dp:00099999" {
		t.Fatalf("Key(99999) = %q", got)
	}
	if got := string(w.AppendKey([]byte("x"), 42)); got != "xdp:00000042" {
		t.Fatalf("AppendKey appended to x = %q", got)
	}
	buf := make([]byte, 0, KeyLen)
	if allocs := testing.AllocsPerRun(100, func() { buf = w.AppendKey(buf[:0], 77_777) }); allocs != 0 {
		t.Fatalf("AppendKey allocates %v times per call", allocs)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("AppendKey of a key out of range did not panic")
		}
	}()
	w.AppendKey(nil, 100_000)
}

func TestExactProportions(t *testing.T) {
	tests := []struct {
		name     string
		n        int
		mix      []Mix
		counters float64
	}{
		{name: "10% at 10s, 90% at 5m", n: 100_003, mix: []Mix{{0.1, 10 * time.Second}, {0.9, 5 * time.Minute}}, counters: 0.7},
		{name: "three classes, odd n", n: 9_999, mix: []Mix{{0.25, time.Minute}, {0.25, 2 * time.Minute}, {0.5, time.Hour}}, counters: 0.333},
		{name: "no counters", n: 1000, mix: []Mix{{1, time.Minute}}, counters: 0},
		{name: "all counters", n: 1000, mix: []Mix{{0.5, time.Minute}, {0.5, time.Hour}}, counters: 1},
		{name: "tiny n", n: 3, mix: []Mix{{0.5, time.Minute}, {0.5, time.Hour}}, counters: 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig()
			cfg.Datapoints, cfg.Interval, cfg.Intervals, cfg.CounterFraction = tt.n, 0, tt.mix, tt.counters
			cfg.Jitter = 4 * time.Second
			w := newTest(t, cfg, 7)
			fr := make([]float64, len(tt.mix))
			for i, m := range tt.mix {
				fr[i] = m.Fraction
			}
			want := apportion(tt.n, fr)
			byInterval := map[time.Duration]int{}
			counters := 0
			for k := range uint32(tt.n) {
				byInterval[w.Interval(k)]++
				if w.IsCounter(k) {
					counters++
				}
			}
			for i, c := range w.Classes() {
				if c.Keys != want[i] || byInterval[c.Interval] != want[i] || c.Interval != tt.mix[i].Interval {
					t.Fatalf("class %d: Classes says %d keys at %v, %d keys have that interval, want %d",
						i, c.Keys, c.Interval, byInterval[c.Interval], want[i])
				}
			}
			wantCounters := int(math.Round(tt.counters * float64(tt.n)))
			if counters != wantCounters || w.Counters() != wantCounters {
				t.Fatalf("%d keys are counters (Counters() = %d), want %d", counters, w.Counters(), wantCounters)
			}
		})
	}
}

// Classes and counters are dealt at random, not in id order, and independently of each
// other: each class holds about the overall counter fraction.
func TestAssignmentIsMixed(t *testing.T) {
	cfg := validConfig()
	cfg.Datapoints, cfg.Interval = 100_000, 0
	cfg.Intervals = []Mix{{0.1, 10 * time.Second}, {0.9, 5 * time.Minute}}
	cfg.Jitter = 4 * time.Second
	w := newTest(t, cfg, 3)
	var fast, fastCounters, firstHalfFast int
	for k := range uint32(cfg.Datapoints) {
		if w.Interval(k) == 10*time.Second {
			fast++
			if w.IsCounter(k) {
				fastCounters++
			}
			if k < 50_000 {
				firstHalfFast++
			}
		}
	}
	// Hypergeometric: sd of the counter share among 10k keys is ~0.0044; of the first
	// half's count of fast keys ~47. Bounds are ~5 sd.
	if share := float64(fastCounters) / float64(fast); math.Abs(share-0.7) > 0.025 {
		t.Fatalf("counter share among 10s keys = %.4f, want ~0.7", share)
	}
	if firstHalfFast < 5000-250 || firstHalfFast > 5000+250 {
		t.Fatalf("%d of the 10000 fast keys have ids below 50000, want ~5000", firstHalfFast)
	}
}

func TestPartitionSpread(t *testing.T) {
	tests := []struct {
		name       string
		n          int
		partitions int
		tolerance  float64 // max relative deviation of any partition from the mean
	}{
		{name: "100k keys over 24", n: 100_000, partitions: 24, tolerance: 0.05},
		{name: "100k keys over 7", n: 100_000, partitions: 7, tolerance: 0.03},
		{name: "10k keys over 128", n: 10_000, partitions: 128, tolerance: 0.35},
		{name: "one partition", n: 1000, partitions: 1, tolerance: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig()
			cfg.Datapoints, cfg.Partitions = tt.n, tt.partitions
			w := newTest(t, cfg, 1)
			counts := make([]int, tt.partitions)
			for k := range uint32(tt.n) {
				p := w.Partition(k)
				if want := KafkaPartition([]byte(w.Key(k)), tt.partitions); p != want {
					t.Fatalf("Partition(%d) = %d, KafkaPartition of its key = %d", k, p, want)
				}
				counts[p]++
			}
			mean := float64(tt.n) / float64(tt.partitions)
			chi2 := 0.0
			for p, c := range counts {
				if dev := math.Abs(float64(c)-mean) / mean; dev > tt.tolerance {
					t.Fatalf("partition %d holds %d keys, mean %.0f (deviation %.3f > %.3f)", p, c, mean, dev, tt.tolerance)
				}
				chi2 += (float64(c) - mean) * (float64(c) - mean) / mean
			}
			// chi-square with partitions-1 degrees of freedom: mean df, sd sqrt(2 df).
			if df := float64(tt.partitions - 1); chi2 > df+5*math.Sqrt(2*df)+1 {
				t.Fatalf("chi-square %.1f with %v degrees of freedom: keys are not evenly spread", chi2, df)
			}
		})
	}
}

func TestRate(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*Config)
		want float64
	}{
		{name: "single interval", cfg: func(c *Config) { c.Datapoints, c.Interval = 6000, time.Minute }, want: 100},
		{name: "mix", cfg: func(c *Config) {
			c.Datapoints, c.Interval = 1000, 0
			c.Intervals = []Mix{{0.1, 10 * time.Second}, {0.9, 5 * time.Minute}}
			c.Jitter = time.Second
		}, want: 100.0/10 + 900.0/300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig()
			tt.cfg(&cfg)
			w := newTest(t, cfg, 1)
			if got := w.Rate(); math.Abs(got-tt.want) > 1e-9 {
				t.Fatalf("Rate() = %v, want %v", got, tt.want)
			}
			// Over a long run the emitted count matches the rate to within one message per key.
			const run = 2 * time.Hour
			w.Emit(0, run, func(int32, uint32, uint32, time.Duration) {})
			if got, want := float64(w.Emitted()), tt.want*run.Seconds(); math.Abs(got-want) > float64(cfg.Datapoints) {
				t.Fatalf("emitted %v messages in %v, rate says %v", got, run, want)
			}
		})
	}
}

func TestAccessors(t *testing.T) {
	cfg := validConfig()
	w := newTest(t, cfg, 1)
	if w.Datapoints() != cfg.Datapoints || w.Partitions() != cfg.Partitions || w.ContextBytes() != cfg.ContextBytes {
		t.Fatalf("Datapoints/Partitions/ContextBytes = %d/%d/%d, want %d/%d/%d",
			w.Datapoints(), w.Partitions(), w.ContextBytes(), cfg.Datapoints, cfg.Partitions, cfg.ContextBytes)
	}
	if got := len(w.AppendContext(nil, 3, 9)); got != cfg.ContextBytes {
		t.Fatalf("AppendContext wrote %d bytes, want %d", got, cfg.ContextBytes)
	}
	if got := w.Seq(5); got != 0 {
		t.Fatalf("Seq before any Emit = %d, want 0", got)
	}
}

func TestKeyStateSize(t *testing.T) {
	if got := unsafe.Sizeof(keyState{}); got != keyStateBytes {
		t.Fatalf("keyState is %d bytes, keyStateBytes says %d", got, keyStateBytes)
	}
}
