package promstore

import (
	"fmt"
	"maps"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultNamespace is the prefix of every metric name unless Namespace overrides it.
const DefaultNamespace = "spillway"

// DefaultDurationBuckets are the upper bounds, in seconds, of the spill and restore
// duration histograms: 1 ms (a restore round trip on a LAN) to 5 min (the default
// Kafka max.poll.interval.ms, the longest a revoke spill can be given).
var DefaultDurationBuckets = []float64{
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5, 10, 30, 60, 120, 300,
}

// Option configures New and NewStatsCollector. Each option's doc says the default
// it overrides.
type Option func(*config)

type config struct {
	namespace     string
	constLabels   prometheus.Labels
	bucketSeconds []float64
}

func defaultConfig() config {
	return config{namespace: DefaultNamespace, bucketSeconds: DefaultDurationBuckets}
}

func newConfig(opts []Option) config {
	c := defaultConfig()
	for _, o := range opts {
		o(&c)
	}
	return c
}

// Namespace sets the prefix of every metric name (default "spillway"); "" leaves
// names unprefixed ("spill_duration_seconds").
func Namespace(ns string) Option { return func(c *config) { c.namespace = ns } }

// ConstLabels adds labels with fixed values to every series (default none), e.g.
// {"store": "rates"} when one process registers the metrics of several stores.
// The map is copied. Label names are checked when the collector is registered.
func ConstLabels(labels prometheus.Labels) Option {
	return func(c *config) { c.constLabels = maps.Clone(labels) }
}

// DurationBuckets sets the upper bounds, in seconds, of the duration histograms
// (default DefaultDurationBuckets). The slice is copied. New panics if it is empty
// or not strictly increasing.
func DurationBuckets(seconds ...float64) Option {
	return func(c *config) { c.bucketSeconds = append([]float64(nil), seconds...) }
}

// checkBuckets panics unless b is non-empty and strictly increasing: a histogram
// with such buckets cannot be built (prometheus.NewHistogram panics too, with less context).
func checkBuckets(b []float64) {
	if len(b) == 0 {
		panic("promstore: DurationBuckets needs at least one bucket")
	}
	for i := 1; i < len(b); i++ {
		if b[i] <= b[i-1] {
			panic(fmt.Sprintf("promstore: DurationBuckets must be strictly increasing: bucket %d (%g) <= bucket %d (%g)",
				i, b[i], i-1, b[i-1]))
		}
	}
}
