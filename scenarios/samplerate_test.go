package scenarios

import (
	"strings"
	"testing"
)

func TestSampleRateField(t *testing.T) {
	base := "version: 1\nworkload:\n  datapoints: 1000\n"
	for _, tc := range []struct {
		text, want string
		weight     int
		auto       bool
	}{
		{text: "  sample_rate: 0.1\n", weight: 10},
		{text: "  sample_rate: 1\n", weight: 1},
		{text: "  sample_rate: 0.3\n", weight: 3},
		{text: "  sample_rate: auto\n", weight: 1, auto: true},
		{text: "", weight: 1},
		{text: "  sample_rate: 0\n", want: "x.yaml:4: workload.sample_rate: 0 is outside (0, 1]"},
		{text: "  sample_rate: 1.5\n", want: "x.yaml:4: workload.sample_rate: 1.5 is outside (0, 1]"},
		{text: "  sample_rate: -0.1\n", want: "x.yaml:4: workload.sample_rate: -0.1 is outside (0, 1]"},
		{text: "  sample_rate: lots\n", want: `x.yaml:4: workload.sample_rate: "lots" is not a number in (0, 1] or auto`},
		{text: "  sample_rate: 0.0001\n", want: "x.yaml:4: workload.sample_rate: 0.0001 keeps no datapoint of 1000"},
	} {
		sc, err := Parse("x.yaml", []byte(base+tc.text))
		if tc.want != "" {
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%q: error %v, want %q", tc.text, err, tc.want)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tc.text, err)
		}
		if got := sc.Workload.SampleRate.Weight(); got != tc.weight || sc.Workload.SampleRate.IsAuto() != tc.auto {
			t.Errorf("%q: weight %d auto %v, want %d %v", tc.text, got, sc.Workload.SampleRate.IsAuto(), tc.weight, tc.auto)
		}
	}
}

func TestAutoWeightFitsBudget(t *testing.T) {
	sc, err := Parse("x.yaml", []byte("version: 1\nworkload: {datapoints: 50000000, sample_rate: auto, context_bytes: 256}\n"))
	if err != nil {
		t.Fatal(err)
	}
	w := AutoWeight(sc, 1<<30)
	if w <= 1 || footprintAt(sc, w) > 1<<30 || footprintAt(sc, w-1) <= 1<<30 {
		t.Fatalf("auto weight %d: footprint %d (at %d: %d), budget %d", w, footprintAt(sc, w), w-1, footprintAt(sc, w-1), 1<<30)
	}
	small, _ := Parse("x.yaml", []byte("version: 1\nworkload: {datapoints: 1000, sample_rate: auto}\n"))
	if w := AutoWeight(small, 0); w != 1 {
		t.Errorf("a small scenario under auto got weight %d, want 1 (every datapoint)", w)
	}
}

func TestSampleRateRefusedOnStreams(t *testing.T) {
	_, err := Parse("x.yaml", []byte("version: 1\nworkload: {datapoints: 1000, sample_rate: 0.1}\nlog: {kind: redis-streams}\n"))
	if err == nil || !strings.Contains(err.Error(), "x.yaml:2: workload.sample_rate: 0.1: a Redis Streams log runs every datapoint") {
		t.Fatalf("error %v", err)
	}
}

func TestSampleRateAbovePollBatchRefused(t *testing.T) {
	_, err := Parse("x.yaml", []byte("version: 1\nworkload: {datapoints: 4000000, sample_rate: 0.001}\nlog: {poll_batch: 500}\n"))
	if err == nil || !strings.Contains(err.Error(), "x.yaml:2: workload.sample_rate: 0.001 makes each datapoint stand for 1000, more than log.poll_batch (500)") {
		t.Fatalf("error %v", err)
	}
}
