package reports

import (
	"math"
	"testing"

	"github.com/spillway-sim/spillway/sim"
	"github.com/spillway-sim/spillway/sim/calibration"
)

// setMetric sets (or adds) a summary metric of r.
func setMetric(r *sim.RunResult, name string, v float64) {
	for i := range r.Summary {
		if r.Summary[i].Name == name {
			r.Summary[i].Value = v
			return
		}
	}
	r.Summary = append(r.Summary, sim.Metric{Name: name, Value: v})
}

// TestRecommendationsStayBelowFailures builds runs that failed at a given used
// memory and checks that no recommendation for their machine reaches it, and
// that the machine recommended for the context is consistent with the fork-safe
// limit (this machine's fork-safe maxmemory is below the context's maxmemory
// exactly when the machine is short).
func TestRecommendationsStayBelowFailures(t *testing.T) {
	tests := []struct {
		name    string
		set     map[string]float64
		failUse float64 // the used memory the run failed at
		capped  bool    // the failure level, not φ, sets the fork-safe maxmemory
	}{
		{name: "OOM kill far below the worst-case limit", failUse: 3 * mib, capped: true, set: map[string]float64{
			"redis_oom_kills": 1, "redis_oom_used_memory_bytes": 3 * mib, "redis_oom_rss_bytes": 64*mib + 4096,
			"redis_rss_peak_bytes": 64*mib + 4096, "redis_used_memory_at_rss_peak_bytes": 3 * mib}},
		{name: "OOM kill above the worst-case limit", failUse: 40 * mib, set: map[string]float64{
			"redis_oom_kills": 1, "redis_oom_used_memory_bytes": 40 * mib, "redis_oom_rss_bytes": 64*mib + 4096}},
		{name: "refused fork", failUse: 4 * mib, capped: true, set: map[string]float64{
			"redis_fork_failures": 1, "redis_fork_failed_used_memory_bytes": 4 * mib}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, res := fixture(t)
			run := res.Runs[1]
			for k, v := range tt.set {
				setMetric(run, k, v)
			}
			v, err := newView(res)
			if err != nil {
				t.Fatal(err)
			}
			rec, ok := recommend(v.runs[1])
			if !ok {
				t.Fatal("no recommendation")
			}
			safe := float64(rec.ForkSafeMaxmemoryBytes)
			if safe <= 0 || safe >= tt.failUse || (rec.capFrom != "") != tt.capped {
				t.Fatalf("fork-safe maxmemory %v with a failure at %v used (capped %q)", safe, tt.failUse, rec.capFrom)
			}
			// The fixture's fork completed (φ measured); one cut short by the OOM
			// killer says nothing about a whole save: every page is assumed.
			if frag := calibration.Default().Memory.RSSFragmentationRatio; rec.ooms > 0 && (rec.phi != 2*frag || rec.childBytes == 0) {
				t.Fatalf("φ %v, child %v: want the worst case 2 × %v", rec.phi, rec.childBytes, frag)
			}
			// The machine the context's maxmemory needs has it as its fork-safe maxmemory.
			implied := (rec.systemBytes - rec.childBytes) / safe // the ratio the fork-safe limit implies
			want := math.Ceil(float64(rec.MaxmemoryBytes)*math.Max(rec.phi, implied) + rec.childBytes)
			if math.Abs(float64(rec.SystemMemoryBytes)-want) > 1 {
				t.Fatalf("system memory %d, want %v", rec.SystemMemoryBytes, want)
			}
			if short := float64(rec.MaxmemoryBytes) > safe; short != rec.shortfall() {
				t.Fatalf("maxmemory %d above fork-safe %v: %v, but shortfall %d", rec.MaxmemoryBytes, safe, short,
					rec.SystemMemoryShortfallBytes)
			}
		})
	}
}
