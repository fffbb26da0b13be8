package summary

import (
	"math"

	"github.com/montanaflynn/stats"
	"gonum.org/v1/gonum/stat/distuv"
)

// Confidence is the level of the intervals Interval computes: 95 %.
const Confidence = 0.95

// Interval is a metric over the seeds of a repeated run: the mean of its
// values and the two-sided 95 % confidence interval of that mean from
// Student's t distribution, mean ± t(0.975, n-1) × s / √n, with s the sample
// standard deviation. The interval assumes the seeds' values are independent
// draws from one distribution (the seeds are; the metric's distribution may
// be far from normal, and with few seeds the interval is then only a guide).
type Interval struct {
	// N is the number of values.
	N int
	// Mean is their mean (NaN for none).
	Mean float64
	// StdDev is the sample standard deviation (NaN below 2 values).
	StdDev float64
	// Low and High bound the 95 % confidence interval of the mean (NaN below
	// 2 values; both equal Mean when every value is the same).
	Low, High float64
}

// IntervalOf computes the Interval of values, in their order (the sums are
// taken in that order, so the same values give the same bits).
func IntervalOf(values []float64) Interval {
	iv := Interval{N: len(values), Mean: math.NaN(), StdDev: math.NaN(), Low: math.NaN(), High: math.NaN()}
	if len(values) == 0 {
		return iv
	}
	iv.Mean, _ = stats.Mean(values)
	if len(values) < 2 {
		return iv
	}
	iv.StdDev, _ = stats.StandardDeviationSample(values)
	half := TQuantile(len(values)-1) * iv.StdDev / math.Sqrt(float64(len(values)))
	iv.Low, iv.High = iv.Mean-half, iv.Mean+half
	return iv
}

// HalfWidth is (High - Low) / 2, NaN below 2 values.
func (iv Interval) HalfWidth() float64 { return (iv.High - iv.Low) / 2 }

// TQuantile is the two-sided 95 % critical value of Student's t distribution
// with df degrees of freedom: the 0.975 quantile (12.706 for df 1, 2.776 for
// df 4, 1.96 as df grows).
func TQuantile(df int) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Quantile(1 - (1-Confidence)/2)
}
