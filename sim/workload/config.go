package workload

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Limits that New enforces. They keep keys a fixed 11 bytes, partitions in a uint16,
// mix classes in 7 bits and the timing wheel small (see wheel.go).
const (
	// MaxDatapoints is the largest Config.Datapoints: keys are "dp:" + 8 digits.
	MaxDatapoints = 100_000_000
	// MaxPartitions is the largest Config.Partitions (partitions are kept in a uint16).
	MaxPartitions = 1 << 16
	// MaxMixes is the largest number of entries in Config.Intervals.
	MaxMixes = 127
	// MinInterval is the shortest collection interval.
	MinInterval = time.Millisecond
	// MaxInterval is the longest collection interval (a daily datasource).
	MaxInterval = 24 * time.Hour
	// MinContextBytes is the smallest context: the 4-byte seq and 4-byte key id.
	MinContextBytes = 8
	// MaxContextBytes is the largest context New accepts.
	MaxContextBytes = 1 << 20
)

// ErrInvalidConfig is wrapped by every error New returns for a bad Config; the message
// names the offending field with its scenario (YAML) name.
var ErrInvalidConfig = errors.New("workload: invalid config")

// Mix is one entry of an interval mix: Fraction of the datapoints emit every Interval.
type Mix struct {
	// Fraction is the share of datapoints in this class, in (0, 1]. The fractions of a
	// mix sum to 1.
	Fraction float64
	// Interval is the collection interval of the class.
	Interval time.Duration
}

// Config is the scenario's workload block (docs/design.md, "scenario contract").
type Config struct {
	// Datapoints is the number of distinct keys, ids 0..Datapoints-1.
	Datapoints int
	// Interval is the collection interval of every key. Set it or Intervals, not both.
	Interval time.Duration
	// Intervals is a mix of intervals, assigned to keys in exact proportions.
	Intervals []Mix
	// Jitter bounds the per-emission offset, drawn uniformly from [-Jitter, +Jitter].
	// It must be less than half the shortest interval so a key's messages stay in order.
	Jitter time.Duration
	// CounterFraction is the share of keys that need context (counters), in [0, 1].
	CounterFraction float64
	// ContextBytes is the size of one encoded context before compression (>= 8).
	ContextBytes int
	// Partitions is the number of partitions of the topic the keys are hashed over.
	Partitions int
	// Weight, above 1, samples the datapoints (sample.go): round(Datapoints /
	// Weight) of the ids 0..Datapoints-1, chosen by a hash, are simulated, each
	// standing for Weight datapoints. 0 or 1: every datapoint.
	Weight int
}

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
}

// mixes validates cfg and returns its interval classes (a single class for Interval).
func (cfg *Config) mixes() ([]Mix, error) {
	if cfg.Datapoints < 1 || cfg.Datapoints > MaxDatapoints {
		return nil, invalid("datapoints", "%d is not between 1 and %d", cfg.Datapoints, MaxDatapoints)
	}
	if cfg.Weight < 0 || cfg.Weight > cfg.Datapoints {
		return nil, invalid("sample_rate", "weight %d is not between 1 and the %d datapoints", cfg.Weight, cfg.Datapoints)
	}
	var mix []Mix
	switch {
	case cfg.Interval != 0 && len(cfg.Intervals) > 0:
		return nil, invalid("interval", "set interval or intervals, not both")
	case len(cfg.Intervals) > 0:
		if len(cfg.Intervals) > MaxMixes {
			return nil, invalid("intervals", "%d entries, at most %d", len(cfg.Intervals), MaxMixes)
		}
		sum := 0.0
		for i, m := range cfg.Intervals {
			field := fmt.Sprintf("intervals[%d]", i)
			if !(m.Fraction > 0 && m.Fraction <= 1) {
				return nil, invalid(field+".fraction", "%v is not in (0, 1]", m.Fraction)
			}
			if err := checkInterval(field+".interval", m.Interval); err != nil {
				return nil, err
			}
			sum += m.Fraction
		}
		if math.Abs(sum-1) > 1e-9 {
			return nil, invalid("intervals", "fractions sum to %v, want 1", sum)
		}
		mix = append(mix, cfg.Intervals...)
	case cfg.Interval != 0:
		if err := checkInterval("interval", cfg.Interval); err != nil {
			return nil, err
		}
		mix = []Mix{{Fraction: 1, Interval: cfg.Interval}}
	default:
		return nil, invalid("interval", "one of interval or intervals is required")
	}
	shortest := mix[0].Interval
	for _, m := range mix {
		shortest = min(shortest, m.Interval)
	}
	if cfg.Jitter < 0 || cfg.Jitter > (shortest-1)/2 { // 2*Jitter < shortest, without overflow
		return nil, invalid("jitter", "%v must be >= 0 and less than half the shortest interval %v", cfg.Jitter, shortest)
	}
	if !(cfg.CounterFraction >= 0 && cfg.CounterFraction <= 1) {
		return nil, invalid("counter_fraction", "%v is not in [0, 1]", cfg.CounterFraction)
	}
	if cfg.ContextBytes < MinContextBytes || cfg.ContextBytes > MaxContextBytes {
		return nil, invalid("context_bytes", "%d is not between %d and %d", cfg.ContextBytes, MinContextBytes, MaxContextBytes)
	}
	if cfg.Partitions < 1 || cfg.Partitions > MaxPartitions {
		return nil, invalid("partitions", "%d is not between 1 and %d", cfg.Partitions, MaxPartitions)
	}
	return mix, nil
}

func checkInterval(field string, d time.Duration) error {
	if d < MinInterval || d > MaxInterval {
		return invalid(field, "%v is not between %v and %v", d, MinInterval, MaxInterval)
	}
	return nil
}

// apportion splits n items over fractions in exact proportions by the largest-remainder
// method: every class gets floor(f*n), and the items left over go one each to the
// classes with the largest fractional parts (ties to the earlier class). The counts sum
// to n.
func apportion(n int, fractions []float64) []int {
	counts := make([]int, len(fractions))
	rem := make([]float64, len(fractions))
	left := n
	for i, f := range fractions {
		exact := float64(f * float64(n)) // explicit rounding: no fused multiply-add across platforms
		counts[i] = int(math.Floor(exact))
		rem[i] = exact - float64(counts[i])
		left -= counts[i]
	}
	for ; left > 0; left-- {
		best := 0
		for i := range rem {
			if rem[i] > rem[best] {
				best = i
			}
		}
		counts[best]++
		rem[best] = -1
	}
	for ; left < 0; left++ { // float rounding gave one too many: take from the smallest remainder
		worst := -1
		for i := range rem {
			if counts[i] > 0 && (worst < 0 || rem[i] < rem[worst]) {
				worst = i
			}
		}
		counts[worst]--
		rem[worst] = 2
	}
	return counts
}
