package workload

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func validConfig() Config {
	return Config{
		Datapoints:      1000,
		Interval:        time.Minute,
		Jitter:          5 * time.Second,
		CounterFraction: 0.7,
		ContextBytes:    64,
		Partitions:      24,
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		field  string // must appear in the error
	}{
		{name: "no datapoints", mutate: func(c *Config) { c.Datapoints = 0 }, field: "datapoints"},
		{name: "too many datapoints", mutate: func(c *Config) { c.Datapoints = MaxDatapoints + 1 }, field: "datapoints"},
		{name: "no interval", mutate: func(c *Config) { c.Interval = 0 }, field: "interval"},
		{name: "both interval and intervals", mutate: func(c *Config) {
			c.Intervals = []Mix{{Fraction: 1, Interval: time.Minute}}
		}, field: "not both"},
		{name: "interval too short", mutate: func(c *Config) { c.Interval, c.Jitter = time.Microsecond, 0 }, field: "interval"},
		{name: "interval too long", mutate: func(c *Config) { c.Interval = 25 * time.Hour }, field: "interval"},
		{name: "negative interval", mutate: func(c *Config) { c.Interval = -time.Second }, field: "interval"},
		{name: "fractions do not sum to 1", mutate: func(c *Config) {
			c.Interval = 0
			c.Intervals = []Mix{{Fraction: 0.5, Interval: time.Minute}, {Fraction: 0.4, Interval: time.Hour}}
		}, field: "intervals: fractions sum"},
		{name: "zero fraction", mutate: func(c *Config) {
			c.Interval = 0
			c.Intervals = []Mix{{Fraction: 0, Interval: time.Minute}, {Fraction: 1, Interval: time.Hour}}
		}, field: "intervals[0].fraction"},
		{name: "NaN fraction", mutate: func(c *Config) {
			c.Interval = 0
			c.Intervals = []Mix{{Fraction: math.NaN(), Interval: time.Minute}}
		}, field: "intervals[0].fraction"},
		{name: "bad mix interval", mutate: func(c *Config) {
			c.Interval = 0
			c.Intervals = []Mix{{Fraction: 0.5, Interval: time.Minute}, {Fraction: 0.5, Interval: 0}}
		}, field: "intervals[1].interval"},
		{name: "too many mixes", mutate: func(c *Config) {
			c.Interval = 0
			for range MaxMixes + 1 {
				c.Intervals = append(c.Intervals, Mix{Fraction: 1.0 / (MaxMixes + 1), Interval: time.Hour})
			}
		}, field: "intervals"},
		{name: "jitter half the interval", mutate: func(c *Config) { c.Jitter = 30 * time.Second }, field: "jitter"},
		{name: "jitter half the shortest mix interval", mutate: func(c *Config) {
			c.Interval = 0
			c.Intervals = []Mix{{Fraction: 0.1, Interval: 10 * time.Second}, {Fraction: 0.9, Interval: time.Hour}}
			c.Jitter = 5 * time.Second
		}, field: "jitter"},
		{name: "negative jitter", mutate: func(c *Config) { c.Jitter = -1 }, field: "jitter"},
		{name: "jitter so large that twice it overflows", mutate: func(c *Config) { c.Jitter = 1<<62 + 1 }, field: "jitter"},
		{name: "counter fraction above 1", mutate: func(c *Config) { c.CounterFraction = 1.5 }, field: "counter_fraction"},
		{name: "counter fraction NaN", mutate: func(c *Config) { c.CounterFraction = math.NaN() }, field: "counter_fraction"},
		{name: "context too small", mutate: func(c *Config) { c.ContextBytes = 7 }, field: "context_bytes"},
		{name: "context too large", mutate: func(c *Config) { c.ContextBytes = MaxContextBytes + 1 }, field: "context_bytes"},
		{name: "no partitions", mutate: func(c *Config) { c.Partitions = 0 }, field: "partitions"},
		{name: "too many partitions", mutate: func(c *Config) { c.Partitions = MaxPartitions + 1 }, field: "partitions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig()
			tt.mutate(&cfg)
			w, err := New(cfg, rand.New(rand.NewPCG(1, 2)))
			if err == nil {
				t.Fatalf("New accepted %+v", cfg)
			}
			if w != nil {
				t.Fatal("New returned a workload with an error")
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error %v does not wrap ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("error %q does not name %q", err, tt.field)
			}
		})
	}
}

func TestNewAcceptsEdges(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{name: "defaults", mutate: func(*Config) {}},
		{name: "one datapoint", mutate: func(c *Config) { c.Datapoints = 1 }},
		{name: "jitter just under half", mutate: func(c *Config) { c.Jitter = 30*time.Second - 1 }},
		{name: "no jitter", mutate: func(c *Config) { c.Jitter = 0 }},
		{name: "shortest interval", mutate: func(c *Config) { c.Interval, c.Jitter = MinInterval, 0 }},
		{name: "longest interval", mutate: func(c *Config) { c.Interval = MaxInterval }},
		{name: "all counters", mutate: func(c *Config) { c.CounterFraction = 1 }},
		{name: "all gauges", mutate: func(c *Config) { c.CounterFraction = 0 }},
		{name: "smallest context", mutate: func(c *Config) { c.ContextBytes = MinContextBytes }},
		{name: "most partitions", mutate: func(c *Config) { c.Partitions = MaxPartitions }},
		{name: "fractions sum to 1 within rounding", mutate: func(c *Config) {
			c.Interval = 0
			c.Intervals = []Mix{{Fraction: 0.1, Interval: time.Minute}, {Fraction: 0.2, Interval: time.Hour}, {Fraction: 0.7, Interval: 10 * time.Minute}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig()
			tt.mutate(&cfg)
			if _, err := New(cfg, rand.New(rand.NewPCG(1, 2))); err != nil {
				t.Fatalf("New(%+v): %v", cfg, err)
			}
		})
	}
}

func TestNewRejectsNilRand(t *testing.T) {
	if _, err := New(validConfig(), nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("New with nil rng: err = %v, want ErrInvalidConfig", err)
	}
}

func TestNewCopiesIntervals(t *testing.T) {
	cfg := validConfig()
	cfg.Interval = 0
	cfg.Intervals = []Mix{{Fraction: 0.5, Interval: time.Minute}, {Fraction: 0.5, Interval: time.Hour}}
	w, err := New(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Intervals[0].Interval = time.Second
	if got := w.Classes()[0].Interval; got != time.Minute {
		t.Fatalf("caller's slice changed the workload: class 0 interval = %v", got)
	}
}

func TestApportion(t *testing.T) {
	tests := []struct {
		name      string
		n         int
		fractions []float64
		want      []int
	}{
		{name: "exact", n: 10, fractions: []float64{0.1, 0.9}, want: []int{1, 9}},
		{name: "thirds: remainder to the earliest largest", n: 7, fractions: []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}, want: []int{3, 2, 2}},
		{name: "largest remainder wins", n: 10, fractions: []float64{0.14, 0.36, 0.5}, want: []int{1, 4, 5}},
		{name: "one item", n: 1, fractions: []float64{0.3, 0.7}, want: []int{0, 1}},
		{name: "float sum slightly under 1", n: 1000, fractions: []float64{0.1, 0.2, 0.7}, want: []int{100, 200, 700}},
		{name: "large", n: 10_000_000, fractions: []float64{0.1, 0.9}, want: []int{1_000_000, 9_000_000}},
		{name: "single class", n: 12345, fractions: []float64{1}, want: []int{12345}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := apportion(tt.n, tt.fractions)
			for i := range tt.want {
				if got[i] != tt.want[i] {
					t.Fatalf("apportion(%d, %v) = %v, want %v", tt.n, tt.fractions, got, tt.want)
				}
			}
		})
	}
}
