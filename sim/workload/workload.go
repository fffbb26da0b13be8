package workload

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// counterBit marks a counter in keyState.meta; the low 7 bits are the mix class.
const counterBit = 0x80

// keyStateBytes is the size of keyState (asserted in the tests).
const keyStateBytes = 8

// keyState is everything the hot path keeps per key.
type keyState struct {
	seq  uint32 // last sequence number emitted; 0 before the first message
	part uint16 // Kafka partition of the key
	meta uint8  // counterBit | mix class
	_    uint8
}

// Workload is the set of simulated datapoints and their emission schedule. It is not
// safe for concurrent use: like the engine, it is driven from one goroutine.
type Workload struct {
	cfg       Config
	mix       []Mix           // classes, in Config order
	intervals []time.Duration // intervals[class]
	counts    []int           // keys per class
	counters  int
	keys      []keyState
	ids       []uint32 // with sampling: the datapoint id of each simulated key, ascending (sample.go); nil: key k is id k
	weight    int      // datapoints each simulated key stands for (1: no sampling)
	rate      float64

	phaseSeed  uint64
	phases     []float64 // sampled: each key's phase as a share of its interval (stratifyPhases); nil: hashed
	jitterSeed uint64
	jitter     int64  // ns
	span       uint64 // 2*jitter+1 ns: the number of possible jitter values

	wheel *wheel // emission schedule (wheel.go)
	now   time.Duration
	count uint64
	sink  uint32 // keeps touch's loads alive
}

// New validates cfg and builds the workload. rng decides everything random about it —
// which keys are in which interval class and which are counters, each key's phase and
// every emission's jitter — so one seed gives one workload. New draws from rng in a fixed
// order (phase seed, jitter seed, then the class and counter of each key in id order)
// and never keeps rng. Errors wrap ErrInvalidConfig and name the field.
func New(cfg Config, rng *rand.Rand) (*Workload, error) {
	if rng == nil {
		return nil, fmt.Errorf("%w: nil rng", ErrInvalidConfig)
	}
	mix, err := cfg.mixes()
	if err != nil {
		return nil, err
	}
	cfg.Intervals = append([]Mix(nil), cfg.Intervals...)
	w := &Workload{
		cfg:        cfg,
		mix:        mix,
		phaseSeed:  rng.Uint64(),
		jitterSeed: rng.Uint64(),
		jitter:     int64(cfg.Jitter),
		span:       2*uint64(cfg.Jitter) + 1,
		weight:     max(cfg.Weight, 1),
	}
	n := cfg.Datapoints
	if w.weight > 1 {
		w.ids = sampleIDs(cfg.Datapoints, w.weight, cfg.Partitions, splitmix(w.phaseSeed^sampleSalt))
		n = len(w.ids)
	}
	w.keys = make([]keyState, n)
	fractions := make([]float64, len(mix))
	for i, m := range mix {
		fractions[i] = m.Fraction
		w.intervals = append(w.intervals, m.Interval)
	}
	w.counts = apportion(n, fractions)
	w.counters = int(math.Round(cfg.CounterFraction * float64(n)))
	for i, c := range w.counts {
		w.rate += float64(c) / mix[i].Interval.Seconds()
	}
	w.assign(rng)
	var buf [KeyLen]byte
	for k := range w.keys {
		w.keys[k].part = uint16(KafkaPartition(w.AppendKey(buf[:0], uint32(k)), cfg.Partitions))
	}
	if w.ids != nil {
		w.stratifyPhases()
	}
	w.wheel = newWheel(slices.Min(w.intervals), slices.Max(w.intervals), cfg.Jitter, n)
	for k := range w.keys {
		w.wheel.add(uint32(k), w.due(uint32(k), 0))
	}
	return w, nil
}

// assign deals classes and counter flags to keys in exact proportions by sequential
// sampling: key k joins class c with probability (keys class c still needs) / (keys
// left), and likewise for the counter flag. Every assignment with the right counts is
// equally likely, and no permutation of all keys is materialised.
func (w *Workload) assign(rng *rand.Rand) {
	need := append([]int(nil), w.counts...)
	countersLeft := w.counters
	for k := range w.keys {
		left := len(w.keys) - k
		u := rng.IntN(left)
		class := 0
		for u >= need[class] {
			u -= need[class]
			class++
		}
		need[class]--
		meta := uint8(class)
		if rng.IntN(left) < countersLeft {
			meta |= counterBit
			countersLeft--
		}
		w.keys[k].meta = meta
	}
	if countersLeft != 0 {
		panic(fmt.Sprintf("workload: %d counters left unassigned", countersLeft))
	}
}

// Partition is the partition of key k under Kafka's default partitioner (see
// KafkaPartition), precomputed at New.
func (w *Workload) Partition(k uint32) int32 { return int32(w.keys[k].part) }

// IsCounter reports whether key k is a counter (needs the previous value as context)
// rather than a gauge.
func (w *Workload) IsCounter(k uint32) bool { return w.keys[k].meta&counterBit != 0 }

// Interval is the collection interval of key k.
func (w *Workload) Interval(k uint32) time.Duration { return w.intervals[w.keys[k].meta&^counterBit] }

// Seq is the sequence number of the last message emitted for k (0 before its first).
func (w *Workload) Seq(k uint32) uint32 { return w.keys[k].seq }

// Rate is the mean number of messages per second over all keys.
func (w *Workload) Rate() float64 { return w.rate }

// Datapoints is the number of keys simulated (with sampling, fewer than the
// datapoints they stand for: see Weight).
func (w *Workload) Datapoints() int { return len(w.keys) }

// Weight is how many datapoints each simulated key stands for (1 without sampling).
func (w *Workload) Weight() int { return w.weight }

// Partitions is the partition count keys are hashed over.
func (w *Workload) Partitions() int { return w.cfg.Partitions }

// ContextBytes is the size of one encoded context (see AppendContext).
func (w *Workload) ContextBytes() int { return w.cfg.ContextBytes }

// Counters is the number of counter keys: round(CounterFraction * Datapoints).
func (w *Workload) Counters() int { return w.counters }

// Classes returns, for each interval class in Config order (one class when Config.Interval
// is set), its interval and the exact number of keys in it.
func (w *Workload) Classes() []Class {
	out := make([]Class, len(w.mix))
	for i, m := range w.mix {
		out[i] = Class{Interval: m.Interval, Keys: w.counts[i]}
	}
	return out
}

// Class is one interval class of a workload and its exact key count.
type Class struct {
	// Interval is the collection interval of the class.
	Interval time.Duration
	// Keys is how many keys the class holds.
	Keys int
}

// AppendContext appends the context of key k as of message seq, ContextBytes long
// (see the package-level AppendContext for the layout).
func (w *Workload) AppendContext(dst []byte, k, seq uint32) []byte {
	return AppendContext(dst, k, seq, w.cfg.ContextBytes)
}

// footprint is the memory the workload holds for its keys and schedule, in bytes.
func (w *Workload) footprint() int {
	return keyStateBytes*cap(w.keys) + 4*cap(w.ids) + w.wheel.bytes()
}
