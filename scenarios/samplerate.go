package scenarios

import (
	"fmt"
	"strconv"

	"gopkg.in/yaml.v3"
)

// SampleRate is workload.sample_rate: the share of datapoints the simulator runs,
// each standing for 1/rate datapoints (spatial sampling, as in SHARDS: Waldspurger
// et al., "Efficient MRC Construction with SHARDS", FAST '15). It is a number in
// (0, 1], or "auto" (SampleRateAuto): the largest rate whose footprint estimate
// fits the memory the simulator may use.
type SampleRate float64

// SampleRateAuto is the value of "auto".
const SampleRateAuto SampleRate = -1

// IsAuto reports whether the rate is "auto".
func (r SampleRate) IsAuto() bool { return r == SampleRateAuto }

// String returns "auto" or the number.
func (r SampleRate) String() string {
	if r.IsAuto() {
		return "auto"
	}
	return strconv.FormatFloat(float64(r), 'g', -1, 64)
}

// MarshalYAML writes "auto" or the number.
func (r SampleRate) MarshalYAML() (any, error) {
	if r.IsAuto() {
		return "auto", nil
	}
	return float64(r), nil
}

// UnmarshalYAML lets plain yaml.v3 decoding read a SampleRate, with the loader's rules.
func (r *SampleRate) UnmarshalYAML(n *yaml.Node) error {
	v, msg := decodeSampleRate(n)
	if msg != "" {
		return fmt.Errorf("line %d: %s", n.Line, msg)
	}
	*r = v
	return nil
}

// ParseSampleRate parses "auto" or a number in (0, 1].
func ParseSampleRate(s string) (SampleRate, error) {
	v, msg := parseSampleRateText(s)
	if msg != "" {
		return 0, fmt.Errorf("scenarios: %s", msg)
	}
	return v, nil
}

func decodeSampleRate(n *yaml.Node) (SampleRate, string) {
	if n.Kind != yaml.ScalarNode {
		return 0, fmt.Sprintf("expected a number in (0, 1] or auto, got %s", describe(n))
	}
	return parseSampleRateText(n.Value)
}

func parseSampleRateText(s string) (SampleRate, string) {
	if s == "auto" {
		return SampleRateAuto, ""
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Sprintf("%q is not a number in (0, 1] or auto", s)
	}
	if !(v > 0 && v <= 1) {
		return 0, fmt.Sprintf("%s is outside (0, 1] (1 runs every datapoint; 0.01 runs one in 100)", s)
	}
	return SampleRate(v), ""
}

// Weight is how many datapoints each simulated one stands for at rate r: the
// nearest whole number to 1/r (at least 1). A whole weight keeps every count the
// simulator scales an integer; the rate the run really used is 1/Weight.
func (r SampleRate) Weight() int {
	if r.IsAuto() || r <= 0 || r >= 1 {
		return 1
	}
	return max(1, int(1/float64(r)+0.5))
}

// DefaultSampleBudget is the simulator memory "auto" sizes a run for when the
// caller states none: a fixed figure, so that an auto rate gives the same run on
// every machine unless a budget is given.
const DefaultSampleBudget = 2 << 30

// AutoWeight is the weight "auto" picks for s: the smallest whole weight (the
// largest rate 1/weight) whose footprint estimate (EstimateFootprint) fits
// budget bytes (DefaultSampleBudget when budget ≤ 0). A rate that is not auto
// gives its own Weight.
func AutoWeight(s *Scenario, budget int64) int {
	if !s.Workload.SampleRate.IsAuto() {
		return s.Workload.SampleRate.Weight()
	}
	if budget <= 0 {
		budget = DefaultSampleBudget
	}
	n := max(1, s.Workload.Datapoints)
	// footprintAt falls as the weight grows: find the smallest that fits.
	lo, hi := 1, n
	if footprintAt(s, hi) > budget {
		return hi
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if footprintAt(s, mid) <= budget {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}
