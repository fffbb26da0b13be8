// Behavior: datapoints collected on a fixed interval, as a metrics collector polls a
// datasource (LogicMonitor's write-up: context "is only relevant for the next few polling
// intervals", TTLs derive from the collection interval). Key k's message seq (1, 2, ...)
// is due at
//
//	phase(k) + (seq-1)*interval(k) + jitter(k, seq)
//
// with phase(k) uniform in [0, interval) and jitter(k, seq) uniform in [-Jitter, +Jitter],
// both pure functions of the seed, the key and seq (a splitmix64 hash), so the schedule
// does not depend on how the caller slices time into windows. A due time that jitter
// pushes below zero (only possible for seq 1) is reflected to its absolute value, which
// keeps it within Jitter of its nominal time without piling messages up at t=0. Because
// Jitter < interval/2 a key's messages are strictly increasing in time.
//
// Not modelled: collectors that stall or batch (every message is on time up to jitter),
// datapoints that appear or disappear during a run, clock skew between sources.

package workload

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"
	"time"
)

func splitmix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// uniform maps (seed, x) to a value in [0, n).
func uniform(seed, x, n uint64) uint64 {
	hi, _ := bits.Mul64(splitmix(x*0x9e3779b97f4a7c15^seed), n)
	return hi
}

// due is the time in ns of key k's emission with 0-based index n (message seq n+1).
func (w *Workload) due(k uint32, n uint32) int64 {
	iv := int64(w.intervals[w.keys[k].meta&^counterBit])
	at := w.phase(k, iv) + int64(n)*iv
	if w.jitter > 0 {
		at += int64(uniform(w.jitterSeed, uint64(k)<<32|uint64(n), w.span)) - w.jitter
		if at < 0 {
			at = -at
		}
	}
	return at
}

// Phase is key k's phase: the nominal time of its first message, in [0, Interval(k)).
func (w *Workload) Phase(k uint32) time.Duration {
	return time.Duration(w.phase(k, int64(w.Interval(k))))
}

// phase is key k's phase in [0, iv), iv its interval: uniform at a hash of k, or
// in a sampled workload its stratified phase (stratifyPhases).
func (w *Workload) phase(k uint32, iv int64) int64 {
	if w.phases != nil {
		return min(iv-1, int64(float64(iv)*w.phases[k]))
	}
	return int64(uniform(w.phaseSeed, uint64(k), uint64(iv)))
}

// stratifyPhases spreads a sampled workload's phases evenly (jittered
// stratification): within each partition and interval class, the keys ordered by
// their hash-drawn phase get phases (rank + u) / size of the interval, u the
// key's own uniform offset. A simulated key stands for W datapoints with the same
// schedule, so with phases drawn independently the messages of a window — a
// poll, the dirty keys of a write-through pod at a revoke, a checkpoint's — vary
// √W times more than the real datapoints' do (Binomial over s instead of W·s
// keys); stratified, a partition's count in any window is within about one
// simulated key (W real ones) of its expectation, the spread of the real run.
func (w *Workload) stratifyPhases() {
	const unit = 1 << 53
	type member struct {
		k uint32
		u uint64
	}
	groups := map[uint32][]member{}
	for k := range w.keys {
		g := uint32(w.keys[k].part)<<8 | uint32(w.keys[k].meta&^counterBit)
		groups[g] = append(groups[g], member{uint32(k), uniform(w.phaseSeed, uint64(k), unit)})
	}
	w.phases = make([]float64, len(w.keys))
	for _, m := range groups {
		slices.SortFunc(m, func(a, b member) int { return cmp.Or(cmp.Compare(a.u, b.u), cmp.Compare(a.k, b.k)) })
		for rank, x := range m {
			off := float64(uniform(w.jitterSeed^sampleSalt, uint64(x.k), unit)) / unit
			w.phases[x.k] = (float64(rank) + off) / float64(len(m))
		}
	}
}

// Due is the virtual time at which key k emits message seq (seq >= 1), whether or not it
// has been emitted yet. It is a pure function of the seed, so it serves as ground truth
// for the age of any context. seq 0 panics: sequence numbers start at 1.
func (w *Workload) Due(k, seq uint32) time.Duration {
	if seq == 0 {
		panic(fmt.Sprintf("workload: Due(%d, 0): sequence numbers start at 1", k))
	}
	return time.Duration(w.due(k, seq-1))
}

// Now is the end of the last window passed to Emit (0 before the first).
func (w *Workload) Now() time.Duration { return w.now }

// Emitted is the number of messages emitted so far.
func (w *Workload) Emitted() uint64 { return w.count }

// Emit calls fn for every message due in [from, to), in (at, key) order, and advances
// each emitting key's sequence number (Seq(k) is already seq when fn runs). Windows
// must be contiguous: the first starts at 0 and each from equals the previous to;
// anything else is a caller bug and panics. fn must not call Emit. The cost is
// O(messages + buckets crossed + sorting each 134 ms bucket once), with no allocation
// once the internal buffers have grown to the largest bucket.
func (w *Workload) Emit(from, to time.Duration, fn func(p int32, k uint32, seq uint32, at time.Duration)) {
	if from != w.now || to < from {
		panic(fmt.Sprintf("workload: Emit(%v, %v) after a window ending at %v: windows must be contiguous and increasing", from, to, w.now))
	}
	end := int64(to)
	for {
		if wh := w.wheel; wh.pos&(prefetch-1) == 0 && wh.pos < len(wh.run) {
			w.touch(wh.run[min(len(wh.run), wh.pos+prefetch/2):min(len(wh.run), wh.pos+prefetch+prefetch/2)])
		}
		k, at, ok := w.wheel.pop(end)
		if !ok {
			break
		}
		st := &w.keys[k]
		st.seq++
		if st.seq == 0 {
			panic(fmt.Sprintf("workload: key %d emitted 2^32 messages: its sequence number wrapped", k))
		}
		seq, p := st.seq, int32(st.part)
		w.reschedule(k, seq, at)
		w.count++
		fn(p, k, seq, time.Duration(at))
	}
	w.now = to
}

// reschedule files key k, which just emitted message seq at prev, under its next due time.
func (w *Workload) reschedule(k, seq uint32, prev int64) {
	at := w.due(k, seq)
	if at <= prev {
		panic(fmt.Sprintf("workload: key %d message %d due at %v, not after message %d at %v", k, seq+1, time.Duration(at), seq, time.Duration(prev)))
	}
	w.wheel.add(k, at)
}

// prefetch is how many keys ahead of the one emitted touch warms.
const prefetch = 16

// touch reads the state of the keys of the next entries so that their cache misses
// overlap (the loads are independent) instead of stalling one message at a time.
func (w *Workload) touch(next []uint64) {
	var sum uint32
	for _, x := range next {
		sum += w.keys[uint32(x)].seq
	}
	w.sink += sum
}
