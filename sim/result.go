package sim

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/spillway-sim/spillway/scenarios"
)

// Result is everything a run produced: plain data, ready for reports. Encoded as
// JSON it is byte-identical for the same scenario and seed.
type Result struct {
	Scenario string `json:"scenario"`
	Seed     uint64 `json:"seed"`
	// Repeat is how many seeds each variant and sweep point ran with
	// (scenario repeat), when more than one; absent otherwise.
	Repeat int          `json:"repeat,omitempty"`
	Runs   []*RunResult `json:"runs"`
	// Plan is what was run (not in JSON).
	Plan *scenarios.Plan `json:"-"`
}

// RunResult is one variant (or sweep point) of a scenario.
type RunResult struct {
	Label   string `json:"label"`
	Variant string `json:"variant"`
	Point   string `json:"point,omitempty"`
	// Seed is the run's seed when the scenario repeats every run over several
	// seeds (Result.Repeat); absent otherwise (the run's seed is then Result.Seed).
	Seed    *uint64 `json:"seed,omitempty"`
	Summary Summary `json:"summary"`
	// Recommendations are the run's capacity answers; package reports computes
	// them from the summary (reports.Recommend) before it writes results.json.
	// nil until then, and for a run without the Redis memory model's metrics.
	Recommendations *Recommendations `json:"recommendations,omitempty"`
	Series          Series           `json:"series"`
	Events          []Event          `json:"events"`
	Latency         []CDFPoint       `json:"latency_cdf"`
	// Sampling says how the run sampled the datapoints (workload.sample_rate);
	// nil when it simulated every one.
	Sampling *Sampling `json:"sampling,omitempty"`
	// Run is the planned run this result is of: its label, variant, sweep
	// point and resolved scenario (not in JSON; Label, Variant and Point repeat
	// it there).
	Run scenarios.Run `json:"-"`
}

// Recommendations are one run's machine-readable capacity answers, each derived
// from the run's own event-exact numbers (reports/recommend.go says how). Sizes are
// bytes. A size the run's Redis failed at (an OOM kill, a refused fork) is never
// recommended for the run's machine: ForkSafeMaxmemoryBytes stays below it.
type Recommendations struct {
	// MaxmemoryBytes is the maxmemory the spilled context needs: its peak used
	// memory (every datapoint's context when the run cut the peak short by evicting,
	// refusing writes or dying) plus 25 % headroom; 0 when the run stored nothing.
	MaxmemoryBytes int64 `json:"maxmemory_bytes"`
	// ForkSafeMaxmemoryBytes is the highest maxmemory whose footprint during a fork,
	// at this run's write rate, fits the run's system memory (0: no system memory set).
	ForkSafeMaxmemoryBytes int64 `json:"fork_safe_maxmemory_bytes"`
	// SpillParallelism is the fewest spill workers that write the largest handoff
	// spill in two thirds of the termination grace (the configured value when no
	// handoff spill wrote anything).
	SpillParallelism int `json:"spill_parallelism"`
	// SystemMemoryBytes is the machine memory MaxmemoryBytes needs through a fork at
	// this run's write rate.
	SystemMemoryBytes int64 `json:"system_memory_bytes"`
	// SystemMemoryShortfallBytes is SystemMemoryBytes minus the run's system
	// memory when that is positive: how much too small the machine is.
	SystemMemoryShortfallBytes int64 `json:"system_memory_shortfall_bytes"`
	// ForkFootprintRatio is the RSS, copied pages included, per byte of used memory
	// during a fork that the two fork-dependent answers assume.
	ForkFootprintRatio float64 `json:"fork_footprint_ratio"`
	// RedisNodesForCPU is the fewest Redis nodes that bring the busiest main thread
	// under 70 % busy (reports/hosts.go); absent when it is under already.
	RedisNodesForCPU int `json:"redis_nodes_for_cpu,omitempty"`
}

// Metric is one summary metric. Names are docs/design.md's contract.
type Metric struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"`
}

// Summary is the run's summary metrics in a fixed order.
type Summary []Metric

// Get returns the value of a metric.
func (s Summary) Get(name string) (float64, bool) {
	for _, m := range s {
		if m.Name == name {
			return m.Value, true
		}
	}
	return 0, false
}

// MarshalJSON writes the summary as an object with keys in the fixed order.
func (s Summary) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, m := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, m.Name)
		b = append(b, ':')
		b = appendFloat(b, m.Value)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads a summary written by MarshalJSON (order kept).
func (s *Summary) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return err
	}
	var out Summary
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		var v float64
		if err := dec.Decode(&v); err != nil {
			return err
		}
		out = append(out, Metric{Name: tok.(string), Value: v})
	}
	*s = out
	return nil
}

func appendFloat(b []byte, v float64) []byte {
	if v == float64(int64(v)) && v < 1e15 && v > -1e15 {
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', 10, 64)
}

// Series is the sampled time series: one row per sample, columns named once.
type Series struct {
	Columns []string    `json:"columns"`
	Rows    [][]float64 `json:"rows"`
}

// Column returns the values of a named column.
func (s Series) Column(name string) []float64 {
	for i, c := range s.Columns {
		if c == name {
			out := make([]float64, len(s.Rows))
			for j, r := range s.Rows {
				out[j] = r[i]
			}
			return out
		}
	}
	return nil
}

// Event is something that happened, for annotating plots and reading a run.
type Event struct {
	At     Duration `json:"at"`
	Kind   string   `json:"kind"`
	Detail string   `json:"detail"`
}

// CDFPoint is one point of a latency distribution.
type CDFPoint struct {
	Latency  Duration `json:"latency"`
	Fraction float64  `json:"fraction"`
}

// Duration marshals as a Go duration string ("1m30s") in JSON.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, time.Duration(d).String()), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// Sampling is how a sampled run stood for the scenario's datapoints
// (workload.sample_rate, docs/sampling.md).
type Sampling struct {
	// Rate is the share of datapoints simulated: 1/Weight (the requested rate
	// rounded so that each simulated datapoint stands for a whole number).
	Rate float64 `json:"rate"`
	// Weight is how many datapoints each simulated one stands for: every count,
	// rate and size in the run's results is scaled by it.
	Weight int `json:"weight"`
	// Datapoints is the scenario's datapoints; Simulated is how many ran.
	Datapoints int `json:"datapoints"`
	Simulated  int `json:"simulated_datapoints"`
	// Auto is true when the scenario asked for sample_rate: auto.
	Auto bool `json:"auto,omitempty"`
}
