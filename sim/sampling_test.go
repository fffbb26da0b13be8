//go:build !race

// The sampling validation runs whole scenarios three times each: too slow for
// the race detector, it runs in make test's non-race step (with the goldens).

package sim

import (
	"context"
	"math"
	"os"
	"testing"

	"github.com/spillway-sim/spillway/scenarios"
)

// TestSampledMatchesExact runs scenarios exact and at sample rates 0.1 and 0.02
// and holds the sampled runs to docs/sampling.md's tolerances:
// context_loss_ratio within max(10 % relative, 0.002 absolute); used, RSS and COW
// peaks within 5 %; spill_duration_max within 10 %. The scenarios are those the
// table in docs/sampling.md shows passing at their shipped sizes, and one at
// 200,000 datapoints (testdata/sampling).
func TestSampledMatchesExact(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	type source struct{ name, file string }
	for _, src := range []source{{name: "scale-in"}, {name: "write-through-cost"}, {file: "testdata/sampling/sampled-mid.yaml"}} {
		label := src.name + src.file
		t.Run(label, func(t *testing.T) {
			t.Parallel()
			open := func() *scenarios.Scenario {
				var sc *scenarios.Scenario
				var err error
				if src.file != "" {
					b, rerr := os.ReadFile(src.file)
					if rerr != nil {
						t.Fatal(rerr)
					}
					sc, err = scenarios.Parse(src.file, b)
				} else {
					sc, err = scenarios.Open(src.name)
				}
				if err != nil {
					t.Fatal(err)
				}
				return sc
			}
			exact, err := runAll(t, context.Background(), open(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, rate := range []string{"0.1", "0.02"} {
				sc, err := open().With(map[string]any{"workload.sample_rate": rate})
				if err != nil {
					t.Fatal(err)
				}
				got, err := runAll(t, context.Background(), sc, Options{})
				if err != nil {
					t.Fatal(err)
				}
				for i, e := range exact.Runs {
					g := got.Runs[i]
					if g.Sampling == nil || g.Sampling.Rate != mustFloat(t, rate) {
						t.Fatalf("%s at %s: sampling %+v", e.Label, rate, g.Sampling)
					}
					check := func(metric string, rel, abs float64) {
						ev, _ := e.Summary.Get(metric)
						gv, _ := g.Summary.Get(metric)
						if lim := math.Max(rel*math.Abs(ev), abs); math.Abs(gv-ev) > lim+1e-12 {
							t.Errorf("%s at rate %s: %s = %g, exact %g (allowed ±%g)", e.Label, rate, metric, gv, ev, lim)
						}
					}
					check("context_loss_ratio", 0.10, 0.002)
					check("redis_used_memory_peak_bytes", 0.05, 0)
					check("redis_rss_peak_bytes", 0.05, 0)
					check("redis_cow_peak_bytes", 0.05, 0)
					check("spill_duration_max", 0.10, 0)
				}
			}
		})
	}
}

func mustFloat(t *testing.T, s string) float64 {
	t.Helper()
	r, err := scenarios.ParseSampleRate(s)
	if err != nil {
		t.Fatal(err)
	}
	return float64(r)
}
