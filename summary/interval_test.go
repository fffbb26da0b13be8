package summary

import (
	"math"
	"testing"
)

// TestTQuantile checks the critical values against a printed t table
// (two-sided 95 %).
func TestTQuantile(t *testing.T) {
	for _, tt := range []struct {
		df   int
		want float64
	}{{1, 12.706}, {2, 4.303}, {4, 2.776}, {9, 2.262}, {17, 2.110}, {29, 2.045}, {1000, 1.962}} {
		if got := TQuantile(tt.df); math.Abs(got-tt.want) > 0.0005 {
			t.Errorf("TQuantile(%d) = %.4f, want %.3f", tt.df, got, tt.want)
		}
	}
}

func TestIntervalOf(t *testing.T) {
	tests := []struct {
		name                string
		values              []float64
		mean, sd, low, high float64 // NaN: want NaN
	}{
		{name: "none", values: nil, mean: math.NaN(), sd: math.NaN(), low: math.NaN(), high: math.NaN()},
		{name: "one seed", values: []float64{3}, mean: 3, sd: math.NaN(), low: math.NaN(), high: math.NaN()},
		{name: "all equal", values: []float64{2, 2, 2}, mean: 2, sd: 0, low: 2, high: 2},
		// mean 3, s = sqrt(2.5) = 1.5811; half = 2.7764 * 1.5811 / sqrt(5) = 1.9632
		{name: "five seeds", values: []float64{1, 2, 3, 4, 5}, mean: 3, sd: 1.5811, low: 1.0368, high: 4.9632},
		// mean 0.5, s = 0.7071; half = 12.7062 * 0.7071 / sqrt(2) = 6.3531
		{name: "two seeds", values: []float64{0, 1}, mean: 0.5, sd: 0.7071, low: -5.8531, high: 6.8531},
	}
	near := func(got, want float64) bool {
		if math.IsNaN(want) {
			return math.IsNaN(got)
		}
		return math.Abs(got-want) < 1e-4
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iv := IntervalOf(tt.values)
			if iv.N != len(tt.values) || !near(iv.Mean, tt.mean) || !near(iv.StdDev, tt.sd) || !near(iv.Low, tt.low) ||
				!near(iv.High, tt.high) {
				t.Errorf("IntervalOf(%v) = %+v, want mean %v sd %v [%v, %v]", tt.values, iv, tt.mean, tt.sd, tt.low,
					tt.high)
			}
		})
	}
}
