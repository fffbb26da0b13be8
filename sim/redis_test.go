package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim/calibration"
)

// TestCalibratedDefaults: the fork and snapshot defaults are 0, which the nodes
// resolve to the shipped calibration, and the defaults table quotes the
// calibration's numbers (so a new `make calibrate` that moves them fails here
// until the table says so).
func TestCalibratedDefaults(t *testing.T) {
	cal := calibration.Default()
	quotes := map[string]string{
		"redis.persistence.snapshot_rate": fmt.Sprintf("%.1f MB/s", cal.Fork.SnapshotBytesPerSec/1e6),
		"redis.model.fork_time_base":      fmt.Sprintf("%.1f ms", cal.Fork.BaseNanos/1e6),
		"redis.model.fork_time_per_gib":   fmt.Sprintf("%.2f ms/GiB", cal.Fork.NanosPerGiB/1e6),
	}
	found := 0
	for _, d := range scenarios.Defaults() {
		q, ok := quotes[d.Path]
		if !ok {
			continue
		}
		found++
		if strings.Trim(d.Value, "0s") != "" || !d.ZeroMeaningful {
			t.Errorf("%s defaults to %q: want 0 (calibrated), kept when written", d.Path, d.Value)
		}
		if !strings.Contains(d.Source, "calibration.json") || !strings.Contains(d.Source, q) {
			t.Errorf("%s: the source %q does not quote the calibration (%s)", d.Path, d.Source, q)
		}
	}
	if found != len(quotes) {
		t.Fatalf("found %d of the %d calibrated defaults", found, len(quotes))
	}

	sc := scenario(t, "")
	f := &redisFleet{r: &runner{sc: sc}, rng: rand.New(rand.NewPCG(1, 2))}
	cfg := f.nodeConfig("n")
	if cfg.SnapshotRate != 0 || cfg.ForkTimeBase != 0 || cfg.ForkTimePerGiB != 0 || cfg.OvercommitPre52 {
		t.Fatalf("a default scenario overrides the calibration: %+v", cfg)
	}
	sc.Redis.Persistence.SnapshotRate = 50 * scenarios.MiB
	sc.Redis.Model.ForkTimeBase = scenarios.Duration(time.Millisecond)
	sc.Redis.Model.ForkTimePerGiB = scenarios.Duration(20 * time.Millisecond)
	sc.Redis.OvercommitHeuristic = scenarios.OvercommitPre52
	cfg = f.nodeConfig("n")
	if cfg.SnapshotRate != 50<<20 || cfg.ForkTimeBase != time.Millisecond || cfg.ForkTimePerGiB != 20*time.Millisecond ||
		!cfg.OvercommitPre52 {
		t.Fatalf("the scenario's overrides did not reach the node: %+v", cfg)
	}
}
