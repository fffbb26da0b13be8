package workload

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

type message struct {
	p   int32
	k   uint32
	seq uint32
	at  time.Duration
}

// emitAll runs w from 0 to end in windows of the given widths (cycled) and records every
// message, checking on the way that each lies in its window.
func emitAll(tb testing.TB, w *Workload, end time.Duration, widths ...time.Duration) []message {
	tb.Helper()
	var out []message
	for from, i := time.Duration(0), 0; from < end; i++ {
		to := min(from+widths[i%len(widths)], end)
		w.Emit(from, to, func(p int32, k, seq uint32, at time.Duration) {
			if at < from || at >= to {
				tb.Fatalf("message (%d, %d) at %v outside window [%v, %v)", k, seq, at, from, to)
			}
			out = append(out, message{p, k, seq, at})
		})
		from = to
	}
	return out
}

// oracle lists every message due before end straight from Due, sorted by (at, key):
// the dumb model Emit must agree with.
func oracle(w *Workload, end time.Duration) []message {
	var out []message
	for k := range uint32(w.Datapoints()) {
		for seq := uint32(1); w.Due(k, seq) < end; seq++ {
			out = append(out, message{w.Partition(k), k, seq, w.Due(k, seq)})
		}
	}
	slices.SortFunc(out, func(a, b message) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.k, b.k))
	})
	return out
}

func mixConfig(n int) Config {
	return Config{
		Datapoints: n,
		Intervals: []Mix{
			{Fraction: 0.1, Interval: 10 * time.Second},
			{Fraction: 0.6, Interval: time.Minute},
			{Fraction: 0.3, Interval: 5 * time.Minute},
		},
		Jitter:          4 * time.Second,
		CounterFraction: 0.7,
		ContextBytes:    64,
		Partitions:      24,
	}
}

// fastConfig has short intervals with jitter near half of the shortest, so a key's next
// message can land in the wheel bucket being emitted (the late heap), and a long one so
// the ring wraps.
func fastConfig(n int) Config {
	return Config{
		Datapoints: n,
		Intervals: []Mix{
			{Fraction: 0.4, Interval: 3 * time.Millisecond},
			{Fraction: 0.4, Interval: 50 * time.Millisecond},
			{Fraction: 0.2, Interval: 2 * time.Second},
		},
		Jitter:          1400 * time.Microsecond,
		CounterFraction: 0.5,
		ContextBytes:    8,
		Partitions:      3,
	}
}

func equalMessages(tb testing.TB, got, want []message) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			tb.Fatalf("message %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestEmitMatchesOracle(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		end    time.Duration
		widths []time.Duration
	}{
		{name: "mix, 100ms windows", cfg: mixConfig(2000), end: time.Hour, widths: []time.Duration{100 * time.Millisecond}},
		{name: "mix, one window", cfg: mixConfig(2000), end: time.Hour, widths: []time.Duration{time.Hour}},
		{name: "mix, windows longer than every interval", cfg: mixConfig(500), end: time.Hour, widths: []time.Duration{7 * time.Minute}},
		{name: "fast, 1ms windows", cfg: fastConfig(200), end: 3 * time.Second, widths: []time.Duration{time.Millisecond}},
		{name: "fast, 1s windows", cfg: fastConfig(200), end: 3 * time.Second, widths: []time.Duration{time.Second}},
		{name: "fast, ragged windows", cfg: fastConfig(200), end: 3 * time.Second,
			widths: []time.Duration{0, 1, 7 * time.Millisecond, 0, 333 * time.Millisecond, 1, 2 * time.Second}},
		{name: "no jitter", cfg: func() Config { c := mixConfig(1000); c.Jitter = 0; return c }(), end: time.Hour,
			widths: []time.Duration{time.Second}},
		{name: "one key", cfg: func() Config { c := mixConfig(1); return c }(), end: time.Hour, widths: []time.Duration{time.Second}},
		{name: "daily interval wraps a large ring", cfg: Config{Datapoints: 100, Intervals: []Mix{{0.5, time.Minute}, {0.5, MaxInterval}},
			CounterFraction: 1, ContextBytes: 8, Partitions: 1}, end: 2*MaxInterval + time.Hour, widths: []time.Duration{time.Hour, time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newTest(t, tt.cfg, 11)
			got := emitAll(t, w, tt.end, tt.widths...)
			want := oracle(w, tt.end)
			if len(want) == 0 {
				t.Fatal("oracle has no messages: the test proves nothing")
			}
			equalMessages(t, got, want)
			if w.Emitted() != uint64(len(want)) || w.Now() != tt.end {
				t.Fatalf("Emitted() = %d, Now() = %v, want %d and %v", w.Emitted(), w.Now(), len(want), tt.end)
			}
		})
	}
}

// The properties the oracle takes on trust: order, seq, jitter bounds, counts.
func TestEmitProperties(t *testing.T) {
	cfg := mixConfig(3000)
	w := newTest(t, cfg, 5)
	const end = 2 * time.Hour
	msgs := emitAll(t, w, end, 250*time.Millisecond)
	last := make([]uint32, cfg.Datapoints)
	for i, m := range msgs {
		if i > 0 {
			prev := msgs[i-1]
			if m.at < prev.at || (m.at == prev.at && m.k <= prev.k) {
				t.Fatalf("message %d %+v is not after %+v in (at, key) order", i, m, prev)
			}
		}
		if m.seq != last[m.k]+1 {
			t.Fatalf("key %d: seq %d after %d", m.k, m.seq, last[m.k])
		}
		last[m.k] = m.seq
		iv := w.Interval(m.k)
		nominal := w.Phase(m.k) + time.Duration(m.seq-1)*iv
		if d := m.at - nominal; d < -cfg.Jitter || d > cfg.Jitter {
			t.Fatalf("key %d seq %d at %v is %v from its nominal time %v: beyond jitter %v", m.k, m.seq, m.at, d, nominal, cfg.Jitter)
		}
		if m.p != w.Partition(m.k) {
			t.Fatalf("key %d emitted on partition %d, Partition says %d", m.k, m.p, w.Partition(m.k))
		}
	}
	// Counts: message n (0-based) lies within jitter of phase + n*interval, so a key emits
	// between ceil((end-J-phase)/I) and ceil((end+J-phase)/I) messages; with no jitter,
	// exactly ceil((end-phase)/I).
	ceilDiv := func(a, b time.Duration) uint32 { return uint32(max(0, (a+b-1)/b)) }
	for k := range uint32(cfg.Datapoints) {
		iv, ph := w.Interval(k), w.Phase(k)
		if ph < 0 || ph >= iv {
			t.Fatalf("key %d phase %v outside [0, %v)", k, ph, iv)
		}
		lo, hi := ceilDiv(end-cfg.Jitter-ph, iv), ceilDiv(end+cfg.Jitter-ph, iv)
		if got := w.Seq(k); got < lo || got > hi {
			t.Fatalf("key %d (interval %v, phase %v) emitted %d messages in %v, want %d..%d", k, iv, ph, got, end, lo, hi)
		}
	}
}

func TestEmitExactCountsWithoutJitter(t *testing.T) {
	cfg := mixConfig(3000)
	cfg.Jitter = 0
	w := newTest(t, cfg, 9)
	for _, end := range []time.Duration{time.Second, 7 * time.Minute, time.Hour + 1} {
		w.Emit(w.Now(), end, func(int32, uint32, uint32, time.Duration) {})
		for k := range uint32(cfg.Datapoints) {
			iv, ph := w.Interval(k), w.Phase(k)
			want := uint32(0)
			if end > ph {
				want = uint32((end - ph + iv - 1) / iv)
			}
			if got := w.Seq(k); got != want {
				t.Fatalf("by %v key %d (interval %v, phase %v) emitted %d, want %d", end, k, iv, ph, got, want)
			}
		}
	}
}

// Metamorphic: the message sequence does not depend on how time is cut into windows.
func TestWindowSizeIndependence(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		end  time.Duration
		a, b []time.Duration
	}{
		{name: "100ms vs 7s", cfg: mixConfig(5000), end: time.Hour,
			a: []time.Duration{100 * time.Millisecond}, b: []time.Duration{7 * time.Second}},
		{name: "1s vs ragged", cfg: mixConfig(5000), end: time.Hour,
			a: []time.Duration{time.Second}, b: []time.Duration{1, 0, 13 * time.Millisecond, 2*time.Minute + 1, 999 * time.Millisecond}},
		{name: "fast: 1ms vs 1s", cfg: fastConfig(300), end: 5 * time.Second,
			a: []time.Duration{time.Millisecond}, b: []time.Duration{time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := emitAll(t, newTest(t, tt.cfg, 42), tt.end, tt.a...)
			b := emitAll(t, newTest(t, tt.cfg, 42), tt.end, tt.b...)
			equalMessages(t, b, a)
		})
	}
}

func TestDeterminismPerSeed(t *testing.T) {
	cfg := mixConfig(2000)
	run := func(seed uint64) []message { return emitAll(t, newTest(t, cfg, seed), 20*time.Minute, time.Second) }
	a, b, c := run(1), run(1), run(2)
	equalMessages(t, b, a)
	same := 0
	for i := range min(len(a), len(c)) {
		if a[i] == c[i] {
			same++
		}
	}
	if same > len(a)/100 {
		t.Fatalf("seeds 1 and 2 agree on %d of %d messages", same, len(a))
	}
	w1, w2 := newTest(t, cfg, 1), newTest(t, cfg, 2)
	diffClass, diffCounter := 0, 0
	for k := range uint32(cfg.Datapoints) {
		if w1.Interval(k) != w2.Interval(k) {
			diffClass++
		}
		if w1.IsCounter(k) != w2.IsCounter(k) {
			diffCounter++
		}
	}
	if diffClass < cfg.Datapoints/10 || diffCounter < cfg.Datapoints/10 {
		t.Fatalf("seeds 1 and 2 differ in %d intervals and %d counter flags of %d keys", diffClass, diffCounter, cfg.Datapoints)
	}
}

func TestDue(t *testing.T) {
	cfg := mixConfig(500)
	w := newTest(t, cfg, 3)
	for k := range uint32(cfg.Datapoints) {
		prev := time.Duration(-1)
		for seq := uint32(1); seq < 200; seq++ {
			at := w.Due(k, seq)
			if at <= prev || at < 0 {
				t.Fatalf("key %d: Due(seq %d) = %v after %v", k, seq, at, prev)
			}
			if gap := at - prev; prev >= 0 && (gap < w.Interval(k)-2*cfg.Jitter || gap > w.Interval(k)+2*cfg.Jitter) {
				t.Fatalf("key %d: gap %v between seq %d and %d, interval %v jitter %v", k, gap, seq-1, seq, w.Interval(k), cfg.Jitter)
			}
			prev = at
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Due(k, 0) did not panic")
		}
	}()
	w.Due(0, 0)
}

// Jitter reaches both ends of its range and is not stuck on a few values; a negative
// first due time is reflected, not clamped to 0.
func TestJitterSpread(t *testing.T) {
	cfg := Config{Datapoints: 20_000, Interval: 10 * time.Second, Jitter: 4 * time.Second, ContextBytes: 8, Partitions: 1}
	w := newTest(t, cfg, 8)
	var lo, hi, atZero int
	for k := range uint32(cfg.Datapoints) {
		d := w.Due(k, 2) - (w.Phase(k) + w.Interval(k))
		if d < -3*time.Second {
			lo++
		}
		if d > 3*time.Second {
			hi++
		}
		if w.Due(k, 1) == 0 {
			atZero++
		}
	}
	// Uniform on [-4s, 4s]: 1/8 of keys beyond each 3s mark (2500, sd ~47).
	if lo < 2200 || lo > 2800 || hi < 2200 || hi > 2800 {
		t.Fatalf("%d keys jittered below -3s and %d above 3s, want ~2500 each", lo, hi)
	}
	if atZero > 2 {
		t.Fatalf("%d keys have their first message at exactly 0: negative times are piling up", atZero)
	}
}

func TestEmitPanicsOnBadWindows(t *testing.T) {
	tests := []struct {
		name     string
		from, to time.Duration
	}{
		{name: "gap", from: 2 * time.Second, to: 3 * time.Second},
		{name: "overlap", from: 0, to: 3 * time.Second},
		{name: "backwards", from: time.Second, to: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newTest(t, mixConfig(10), 1)
			w.Emit(0, time.Second, func(int32, uint32, uint32, time.Duration) {})
			defer func() {
				if recover() == nil {
					t.Fatalf("Emit(%v, %v) after [0, 1s) did not panic", tt.from, tt.to)
				}
			}()
			w.Emit(tt.from, tt.to, func(int32, uint32, uint32, time.Duration) {})
		})
	}
}

// fn runs after the key's state is updated: Seq(k) inside fn is the message's seq.
func TestSeqVisibleInCallback(t *testing.T) {
	w := newTest(t, mixConfig(100), 1)
	n := 0
	w.Emit(0, time.Hour, func(_ int32, k, seq uint32, _ time.Duration) {
		n++
		if w.Seq(k) != seq {
			t.Fatalf("inside fn Seq(%d) = %d, message seq %d", k, w.Seq(k), seq)
		}
	})
	if n == 0 {
		t.Fatal("no messages")
	}
}

func TestEmitDoesNotAllocate(t *testing.T) {
	w := newTest(t, mixConfig(20_000), 1)
	const step = 100 * time.Millisecond
	emit := func(int32, uint32, uint32, time.Duration) {}
	w.Emit(0, 10*time.Minute, emit) // grow the buffers past the busiest bucket
	allocs := testing.AllocsPerRun(200, func() { w.Emit(w.Now(), w.Now()+step, emit) })
	if allocs != 0 {
		t.Fatalf("Emit allocates %v times per 100ms window in steady state", allocs)
	}
}

func benchmarkEmit(b *testing.B, keys int) {
	cfg := mixConfig(keys)
	w := newTest(b, cfg, 1)
	const step = 100 * time.Millisecond
	var sink uint64
	emit := func(p int32, k, seq uint32, at time.Duration) { sink += uint64(k) ^ uint64(seq) }
	w.Emit(0, 6*time.Minute, emit) // steady state: buffers grown, phases spread
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := w.Emitted(), cpuTime()
	for w.Emitted()-start < uint64(b.N) {
		w.Emit(w.Now(), w.Now()+step, emit)
	}
	b.StopTimer()
	n := float64(w.Emitted() - start)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/msg")
	// CPU time of the process per message: on a shared machine wall time overstates it.
	b.ReportMetric(float64(cpuTime()-cpu0)/n, "cpu-ns/msg")
	b.ReportMetric(float64(w.footprint())/float64(keys), "B/key")
	_ = sink
}

// BenchmarkEmit: one op is one message (the loop emits whole 100 ms windows until b.N
// messages are out; ns/msg is the exact figure).
func BenchmarkEmit(b *testing.B) {
	for _, keys := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) { benchmarkEmit(b, keys) })
	}
}

func BenchmarkNew(b *testing.B) {
	cfg := mixConfig(1_000_000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(cfg, rand.New(rand.NewPCG(1, 2))); err != nil {
			b.Fatal(err)
		}
	}
}
