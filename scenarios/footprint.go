package scenarios

import (
	"math"
	"time"
)

// Estimates of the simulator's own memory per unit, measured by
// BenchmarkFootprint in bench/ (live Go heap after a GC). They size the simulator
// process, not the modelled Redis.
const (
	// miniredisBytesPerKey is one spilled key held by a modelled Redis node with a
	// 64-byte context (77-byte envelope): miniredis's maps 262 B plus the node
	// model's accounting (memory classes, expiry index, eviction pool) 278 B;
	// ~1 B more per extra value byte.
	miniredisBytesPerKey = 540
	// coreBytesPerKey is one key's entry in a pod's core.Store, beyond the
	// context bytes themselves.
	coreBytesPerKey = 110
	// logBytesPerRecord is one record retained by the fake log.
	logBytesPerRecord = 16
	// modelBytesPerKey is the workload's per-key state and timing wheel (17 B),
	// the key's name (27 B) and the ground truth (5 B).
	modelBytesPerKey = 50
	// logRetention bounds how much of the run the fake log holds at once: it
	// trims every 10 s below the committed offsets, so it holds the records of
	// the consumers' lag, not of the whole run. Ten minutes of the whole log
	// covers the longest pauses and outages the shipped scenarios have.
	logRetention = 10 * time.Minute
	// baseBytes is the process itself: runtime, engine, report buffers.
	baseBytes = 64 << 20
)

// EstimateFootprint returns a rough estimate, in bytes, of the simulator's own
// memory for the heaviest run of s (runs execute one at a time), so a CLI can
// refuse a run the machine cannot hold. It assumes every key is held locally
// and, unless the strategy is memory-only, in miniredis; and that the fake log
// holds up to logRetention of records. It is not the modelled Redis's memory:
// that is a result of the run.
func EstimateFootprint(s *Scenario) int64 {
	if runs, err := s.SweepPoints(); err == nil && (len(s.Variants) > 0 || s.Sweep != nil) {
		var most int64
		for _, r := range runs {
			most = max(most, footprint(r.Scenario))
		}
		return most
	}
	return footprint(s)
}

func footprint(s *Scenario) int64 {
	return footprintAt(s, s.Workload.SampleRate.Weight())
}

// footprintAt is footprint with each simulated datapoint standing for weight.
func footprintAt(s *Scenario, weight int) int64 {
	keys := float64(max(1, s.Workload.Datapoints/max(weight, 1)))
	ctx := float64(s.Workload.ContextBytes)
	var records float64
	for _, share := range s.Workload.Mix() {
		if share.Interval > 0 {
			records += keys * share.Fraction * float64(min(time.Duration(s.Duration), logRetention)) /
				float64(share.Interval)
		}
	}
	total := float64(baseBytes) + keys*(coreBytesPerKey+ctx+modelBytesPerKey) + records*logBytesPerRecord
	if s.State.Strategy != StrategyMemoryOnly {
		total += keys * (miniredisBytesPerKey + math.Max(0, ctx-64))
	}
	if total > math.MaxInt64/2 {
		return math.MaxInt64 / 2
	}
	return int64(total)
}
