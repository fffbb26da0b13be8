package calibration

import (
	"math"
	"testing"
	"time"
)

func TestServiceTimeFormula(t *testing.T) {
	c := Default()
	c.Latency.MGet = OpCost{PerOpNanos: 1000, PerKeyNanos: 500, PerByteNanos: 0.25}
	c.Latency.Get = OpCost{PerOpNanos: 1500, PerByteNanos: 0.5}
	tests := []struct {
		name        string
		op          OpKind
		keys, bytes int
		want        time.Duration
	}{
		{name: "mget 10 keys 1000 bytes", op: OpMGet, keys: 10, bytes: 1000, want: 1000 + 5000 + 250},
		{name: "mget nothing", op: OpMGet, keys: 0, bytes: 0, want: 1000},
		{name: "get 4 KiB", op: OpGet, keys: 1, bytes: 4096, want: 1500 + 2048},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.ServiceTime(tc.op, tc.keys, tc.bytes); got != tc.want {
				t.Fatalf("ServiceTime(%s, %d, %d) = %v, want %v", tc.op, tc.keys, tc.bytes, got, tc.want)
			}
		})
	}
}

// The shipped fit predicts each shipped service measurement within 50%: the
// measurements are noisy (shared 2-core VM) and the model is linear.
func TestServiceTimeMatchesShippedMeasurements(t *testing.T) {
	c := Default()
	seen := map[OpKind]bool{}
	for _, r := range c.Measurements.Service {
		seen[r.Op] = true
		model := float64(c.ServiceTime(r.Op, r.KeysPerCmd, r.BytesPerCmd))
		if e := math.Abs(model/r.ServerCPUNanosPerCmd - 1); e > 0.5 {
			t.Errorf("%s keys=%d bytes=%d: model %.0f ns vs measured %.0f ns (%.0f%% off)",
				r.Op, r.KeysPerCmd, r.BytesPerCmd, model, r.ServerCPUNanosPerCmd, e*100)
		}
	}
	for _, op := range OpKinds {
		if !seen[op] {
			t.Errorf("no shipped measurement of %s", op)
		}
	}
}

func TestServiceTimeMonotonic(t *testing.T) {
	c := Default()
	for _, op := range OpKinds {
		if c.ServiceTime(op, 1, 0) <= 0 {
			t.Errorf("%s costs nothing", op)
		}
		for _, keys := range []int{1, 10, 100} {
			for _, bytes := range []int{0, 100, 10_000} {
				base := c.ServiceTime(op, keys, bytes)
				if c.ServiceTime(op, keys+1, bytes) < base || c.ServiceTime(op, keys, bytes+1000) < base {
					t.Errorf("%s: more keys or bytes cost less than %d keys %d bytes", op, keys, bytes)
				}
			}
		}
	}
	// A script writing 100 keys costs more than one SET, and an MGET of 100 keys more
	// than one GET.
	if c.ServiceTime(OpEvalSHA, 100, 6400) <= c.ServiceTime(OpSetPX, 1, 64) {
		t.Error("EVALSHA of 100 keys is not dearer than one SET")
	}
	if c.ServiceTime(OpMGet, 100, 6400) <= c.ServiceTime(OpGet, 1, 64) {
		t.Error("MGET of 100 keys is not dearer than one GET")
	}
}

func TestCostOfUnknownOp(t *testing.T) {
	c := Default()
	if _, err := c.Latency.Cost("HGETALL"); err == nil {
		t.Fatal("Cost accepted an unknown op")
	}
	for _, op := range OpKinds {
		if _, err := c.Latency.Cost(op); err != nil {
			t.Fatalf("Cost(%s): %v", op, err)
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("ServiceTime of an unknown op did not panic")
		}
	}()
	c.ServiceTime("HGETALL", 1, 1)
}

func TestServiceTimePanicsOnNegativeCounts(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	Default().ServiceTime(OpGet, 1, -1)
}

func TestRTT(t *testing.T) {
	c := Default()
	if c.RTT() != time.Duration(c.Latency.RTTNanos) || c.RTT() <= 0 {
		t.Fatalf("RTT() = %v, rtt_ns = %d", c.RTT(), c.Latency.RTTNanos)
	}
	if c.Latency.RTTP99Nanos < c.Latency.RTTNanos {
		t.Fatalf("p99 %d < p50 %d", c.Latency.RTTP99Nanos, c.Latency.RTTNanos)
	}
}
