package reports

import (
	"math"
	"testing"

	"github.com/spillway-sim/spillway/sim"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		v    float64
		want string
	}{
		{name: "bytes zero", kind: KindBytes, v: 0, want: "0 B"},
		{name: "bytes small", kind: KindBytes, v: 512, want: "512 B"},
		{name: "bytes KiB", kind: KindBytes, v: 1536, want: "1.5 KiB"},
		{name: "bytes MiB", kind: KindBytes, v: 1.2 * (1 << 20), want: "1.2 MiB"},
		{name: "bytes 35.1 MiB", kind: KindBytes, v: 35.1 * (1 << 20), want: "35.1 MiB"},
		{name: "bytes GiB", kind: KindBytes, v: 7 << 30, want: "7 GiB"},
		{name: "bytes 1000 GiB", kind: KindBytes, v: 1000 << 30, want: "1,000 GiB"},
		{name: "seconds zero", kind: KindSeconds, v: 0, want: "0 s"},
		{name: "seconds ns", kind: KindSeconds, v: 5e-9, want: "5 ns"},
		{name: "seconds µs", kind: KindSeconds, v: 20.48e-6, want: "20.5 µs"},
		{name: "seconds ms", kind: KindSeconds, v: 0.002031615, want: "2.03 ms"},
		{name: "seconds s", kind: KindSeconds, v: 35.08, want: "35.1 s"},
		{name: "seconds min", kind: KindSeconds, v: 144, want: "2.4 min"},
		{name: "seconds h", kind: KindSeconds, v: 5400 * 2, want: "3 h"},
		{name: "seconds negative", kind: KindSeconds, v: -5.2, want: "-5.2 s"},
		{name: "ratio", kind: KindRatio, v: 0.0043, want: "0.43 %"},
		{name: "ratio rounded", kind: KindRatio, v: 0.034486, want: "3.45 %"},
		{name: "ratio one", kind: KindRatio, v: 1, want: "100 %"},
		{name: "ratio tiny", kind: KindRatio, v: 0.0000123, want: "0.00123 %"},
		{name: "count", kind: KindCount, v: 599955, want: "599,955"},
		{name: "count big fraction", kind: KindCount, v: 7000.4, want: "7,000"},
		{name: "count small fraction", kind: KindCount, v: 3.456, want: "3.46"},
		{name: "count negative", kind: KindCount, v: -1234567, want: "-1,234,567"},
		{name: "NaN", kind: KindCount, v: math.NaN(), want: "n/a"},
		{name: "Inf", kind: KindSeconds, v: math.Inf(1), want: "∞"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Format(tt.kind, tt.v); got != tt.want {
				t.Errorf("Format(%v, %v) = %q, want %q", tt.kind, tt.v, got, tt.want)
			}
		})
	}
}

func TestMetricKind(t *testing.T) {
	tests := []struct {
		name string
		m    sim.Metric
		want Kind
	}{
		{name: "contract ratio", m: sim.Metric{Name: "context_loss_ratio"}, want: KindRatio},
		{name: "contract bytes", m: sim.Metric{Name: "redis_rss_peak_bytes"}, want: KindBytes},
		{name: "contract bytes without suffix", m: sim.Metric{Name: "spill_bytes"}, want: KindBytes},
		{name: "contract seconds", m: sim.Metric{Name: "latency_p99"}, want: KindSeconds},
		{name: "contract count", m: sim.Metric{Name: "rebalances"}, want: KindCount},
		{name: "unit s", m: sim.Metric{Name: "restore_time_max", Unit: "s"}, want: KindSeconds},
		{name: "suffix bytes", m: sim.Metric{Name: "heap_bytes"}, want: KindBytes},
		{name: "suffix ratio", m: sim.Metric{Name: "hit_ratio"}, want: KindRatio},
		{name: "unknown", m: sim.Metric{Name: "crashes"}, want: KindCount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MetricKind(tt.m); got != tt.want {
				t.Errorf("MetricKind(%+v) = %v, want %v", tt.m, got, tt.want)
			}
		})
	}
	if got := FormatMetric(sim.Metric{Name: "spill_duration_max", Value: 0.0123}); got != "12.3 ms" {
		t.Errorf("FormatMetric = %q", got)
	}
}

func TestGroup(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "short", in: "999", want: "999"},
		{name: "thousand", in: "1000", want: "1,000"},
		{name: "million with fraction", in: "1234567.5", want: "1,234,567.5"},
		{name: "negative", in: "-12345", want: "-12,345"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := group(tt.in); got != tt.want {
				t.Errorf("group(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
