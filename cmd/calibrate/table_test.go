package main

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/spillway-sim/spillway/sim/calibration"
)

func TestErrPct(t *testing.T) {
	tests := []struct {
		name            string
		measured, model float64
		want            float64
	}{
		{name: "exact", measured: 100, model: 100, want: 0},
		{name: "over", measured: 100, model: 125, want: 25},
		{name: "under", measured: 200, model: 150, want: -25},
		{name: "both zero", measured: 0, model: 0, want: 0},
		{name: "zero measured", measured: 0, model: 1, want: math.Inf(1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := errPct(tc.measured, tc.model); got != tc.want {
				t.Fatalf("errPct(%v, %v) = %v, want %v", tc.measured, tc.model, got, tc.want)
			}
		})
	}
}

func TestPrintTableShowsEveryMeasurement(t *testing.T) {
	c := calibration.Default()
	var buf bytes.Buffer
	printTable(&buf, c)
	out := buf.String()
	for _, want := range []string{"USED MEMORY", "SERVICE", "FORK", "COW", "RTT", c.Machine.RedisVersion, "note:"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	rows := func(section string, n int) {
		t.Helper()
		var in bool
		got := 0
		for line := range strings.SplitSeq(out, "\n") {
			switch {
			case strings.HasPrefix(strings.TrimSpace(line), section):
				in = true
			case in && strings.TrimSpace(line) == "":
				in = false
			case in && strings.HasPrefix(line, " "):
				got++
			}
		}
		if got < n {
			t.Errorf("section %s has %d rows, want at least %d", section, got, n)
		}
	}
	rows("USED MEMORY", len(c.Measurements.UsedMemory))
	rows("COW", len(c.Measurements.COW))
}
