package promstore

import (
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/spillway-sim/spillway/core"
)

func TestOptions(t *testing.T) {
	labels := prometheus.Labels{"store": "rates"}
	buckets := []float64{0.5, 1}
	tests := []struct {
		name       string
		opts       []Option
		mutate     func() // run after the options are applied: must not affect them
		wantNS     string
		wantLabels prometheus.Labels
		wantBkts   []float64
	}{
		{name: "defaults", wantNS: "spillway", wantBkts: DefaultDurationBuckets},
		{name: "empty namespace", opts: []Option{Namespace("")}, wantNS: "", wantBkts: DefaultDurationBuckets},
		{
			name:   "labels and buckets are copied",
			opts:   []Option{Namespace("x"), ConstLabels(labels), DurationBuckets(buckets...)},
			mutate: func() { labels["store"] = "changed"; buckets[0] = 9 },
			wantNS: "x", wantLabels: prometheus.Labels{"store": "rates"}, wantBkts: []float64{0.5, 1},
		},
		{name: "last option wins", opts: []Option{Namespace("a"), Namespace("b")}, wantNS: "b", wantBkts: DefaultDurationBuckets},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newConfig(tc.opts)
			if tc.mutate != nil {
				tc.mutate()
			}
			if c.namespace != tc.wantNS {
				t.Errorf("namespace = %q, want %q", c.namespace, tc.wantNS)
			}
			if len(c.constLabels) != len(tc.wantLabels) {
				t.Errorf("const labels = %v, want %v", c.constLabels, tc.wantLabels)
			}
			for k, v := range tc.wantLabels {
				if c.constLabels[k] != v {
					t.Errorf("const label %s = %q, want %q", k, c.constLabels[k], v)
				}
			}
			if !slices.Equal(c.bucketSeconds, tc.wantBkts) {
				t.Errorf("buckets = %v, want %v", c.bucketSeconds, tc.wantBkts)
			}
		})
	}
}

func TestDefaultDurationBucketsSpanMillisecondsToMinutes(t *testing.T) {
	checkBuckets(DefaultDurationBuckets) // panics if not strictly increasing
	if first, last := DefaultDurationBuckets[0], DefaultDurationBuckets[len(DefaultDurationBuckets)-1]; first != 0.001 || last != 300 {
		t.Fatalf("buckets span [%g, %g] s, want [0.001, 300] (1 ms to max.poll.interval.ms)", first, last)
	}
}

func TestBadBucketsPanic(t *testing.T) {
	tests := []struct {
		name    string
		buckets []float64
		want    string // in the panic message
	}{
		{name: "empty", buckets: nil, want: "at least one bucket"},
		{name: "equal", buckets: []float64{1, 1}, want: "bucket 1 (1) <= bucket 0 (1)"},
		{name: "decreasing", buckets: []float64{0.1, 5, 2}, want: "bucket 2 (2) <= bucket 1 (5)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := panicMessage(t, func() { New(DurationBuckets(tc.buckets...)) })
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("panic %q does not contain %q", msg, tc.want)
			}
		})
	}
}

func TestNamespaceAndConstLabelsReachEverySeries(t *testing.T) {
	m := New(Namespace("acme"), ConstLabels(prometheus.Labels{"store": "rates"}))
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 10 {
		t.Fatalf("gathered %d families, want 10", len(mfs))
	}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "acme_") {
			t.Errorf("family %s lacks the namespace prefix", mf.GetName())
		}
		for _, s := range mf.GetMetric() {
			found := false
			for _, lp := range s.GetLabel() {
				found = found || (lp.GetName() == "store" && lp.GetValue() == "rates")
			}
			if !found {
				t.Errorf("a series of %s lacks store=\"rates\": %v", mf.GetName(), s.GetLabel())
			}
		}
	}
	if n := testutil.CollectAndCount(New(Namespace(""))); n != 2+3+len(core.Reasons())+2+1+1+1+6+1 {
		t.Fatalf("collected %d series, want every series present at 0", n)
	}
}

// panicMessage runs f and returns what it panicked with, failing the test if it did not.
func panicMessage(t *testing.T, f func()) (msg string) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("did not panic")
		}
		s, ok := r.(string)
		if !ok {
			t.Fatalf("panicked with %T %v, want a string", r, r)
		}
		msg = s
	}()
	f()
	return ""
}
