package scenarios

import "math"

// Estimates of the simulator's own memory per unit, to be refined by the
// benchmarks in bench/. They size the simulator process, not the modelled Redis.
const (
	// miniredisBytesPerKey is the Go heap of one key in miniredis with a 64-byte
	// value (measured: ~400 B; ~600 B with a 256-byte value, so ~1 B per extra
	// value byte).
	miniredisBytesPerKey = 400
	// coreBytesPerKey is one key's entry in a pod's core.Store, beyond the
	// context bytes themselves.
	coreBytesPerKey = 100
	// logBytesPerRecord is one record retained by the fake log.
	logBytesPerRecord = 16
	// modelBytesPerKey covers the workload's ground truth and the Redis models'
	// per-key state (memory accounting, expiry heap, eviction sampling).
	modelBytesPerKey = 50
	// baseBytes is the process itself: runtime, engine, report buffers.
	baseBytes = 64 << 20
)

// EstimateFootprint returns a rough estimate, in bytes, of the simulator's own
// memory for the heaviest run of s (runs execute one at a time), so a CLI can
// refuse a run the machine cannot hold. It assumes every key is held locally
// and, unless the strategy is memory-only, in miniredis; and that the fake log
// retains every record of the run (an upper bound). It is not the modelled
// Redis's memory: that is a result of the run.
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
	keys := float64(s.Workload.Datapoints)
	ctx := float64(s.Workload.ContextBytes)
	var records float64
	for _, share := range s.Workload.Mix() {
		if share.Interval > 0 {
			records += keys * share.Fraction * float64(s.Duration) / float64(share.Interval)
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
