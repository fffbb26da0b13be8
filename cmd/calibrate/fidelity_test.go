package main

import (
	"math/rand/v2"
	"testing"

	"github.com/spillway-sim/spillway/sim/calibration"
	"github.com/spillway-sim/spillway/sim/workload"
)

func TestFidelityKeyIsTheSimulatorsKey(t *testing.T) {
	if got, want := fidelityKey(31), workload.RedisKey(7, "dp:00000031"); got != want {
		t.Fatalf("fidelityKey(31) = %q, want %q", got, want)
	}
	if id, ok := workload.ParseKey(fidelityKey(1234567)); !ok || id != 1234567 {
		t.Fatalf("ParseKey(fidelityKey(1234567)) = %d, %v", id, ok)
	}
}

func TestPickKeyFollowsThePattern(t *testing.T) {
	tests := []struct {
		name    string
		fc      calibration.FidelityCase
		wantHot float64 // share of writes to hot ids
	}{
		{name: "uniform", fc: calibration.FidelityCase{Pattern: calibration.PatternUniform, Keys: 100_000}, wantHot: 0.01},
		{name: "hot", fc: calibration.FidelityCase{Pattern: calibration.PatternHot, Keys: 100_000,
			HotKeyFraction: hotKeyFraction, HotWriteFraction: hotWriteFraction}, wantHot: hotWriteFraction},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			const n = 200_000
			hot := 0
			distinct := map[int64]bool{}
			for range n {
				id := pickKey(tt.fc, rng)
				if id < 0 || id >= tt.fc.Keys {
					t.Fatalf("id %d outside [0, %d)", id, tt.fc.Keys)
				}
				if id%100 == 0 {
					hot++
					distinct[id] = true
				}
			}
			if share := float64(hot) / n; share < tt.wantHot-0.01 || share > tt.wantHot+0.01 {
				t.Fatalf("%.3f of the writes went to hot ids, want %.3f", share, tt.wantHot)
			}
			if len(distinct) < 800 {
				t.Fatalf("only %d of the 1000 hot ids written", len(distinct))
			}
		})
	}
}
