package reports

import (
	"math"
	"testing"

	"github.com/spillway-sim/spillway/sim"
	"github.com/spillway-sim/spillway/sim/calibration"
)

func TestCapacity(t *testing.T) {
	_, res := fixture(t)
	v, err := newView(res)
	if err != nil {
		t.Fatal(err)
	}
	c := v.capacity()

	if len(c.memory) != 1 {
		t.Fatalf("memory needs: %+v", c.memory)
	}
	m := c.memory[0]
	cal := calibration.Default()
	wantUsed := cal.UsedMemory(500, 21, 73, true)
	if m.run != "spill" || m.peakKeys != 500 || m.meanValueBytes != 73 || m.keyBytes != 21 ||
		m.estUsedBytes != wantUsed || m.measuredUsedBytes != 9*mib || m.needBytes() != 9*mib {
		t.Errorf("memory need = %+v (want 500 keys of 73 B, 21-byte keys, used %d, measured 9 MiB)", m, wantUsed)
	}
	if m.ttl != "3 min" {
		t.Errorf("ttl %q", m.ttl)
	}

	if len(c.grace) != 1 || c.grace[0].spillSeconds != 0.0123 || c.grace[0].graceSeconds != 30 || !c.grace[0].fits() ||
		math.Abs(c.grace[0].headroomSeconds()-29.9877) > 1e-9 {
		t.Errorf("grace = %+v", c.grace)
	}

	if len(c.loss) != 2 {
		t.Fatalf("loss = %+v", c.loss)
	}
	if l := c.loss[0]; l.handoffs != 1 || l.lost != 700 || l.perHandoff(l.lost) != 700 || l.strategy != "memory-only" {
		t.Errorf("loss[0] = %+v", l)
	}
	if l := (lossPerHandoff{rebalances: 1}); !math.IsNaN(l.perHandoff(5)) {
		t.Error("per handoff with no handoff is not NaN")
	}

	if len(c.recs) != 2 {
		t.Fatalf("recommendations = %+v", c.recs)
	}
}

func TestRecommendFixture(t *testing.T) {
	_, res := fixture(t)
	if err := Recommend(res); err != nil {
		t.Fatal(err)
	}
	cal := calibration.Default()
	frag := cal.Memory.RSSFragmentationRatio
	// Both runs forked once without dying: φ is measured, the larger of RSS peak /
	// used then (10/5) and (frag × 5 + COW 4) / 5.
	phi := math.Max(2, frag+0.8)
	tests := []struct {
		name string
		want sim.Recommendations
	}{
		{"memory-only", sim.Recommendations{ForkSafeMaxmemoryBytes: int64(64 * mib / phi), SpillParallelism: 8,
			ForkFootprintRatio: math.Round(phi*1000) / 1000}},
		// 9 MiB used + 25 %; 500 keys at 10,000 keys per worker-second fit 2/3 of 30 s with one worker.
		{"spill", sim.Recommendations{MaxmemoryBytes: int64(math.Ceil(9 * mib * 1.25)),
			ForkSafeMaxmemoryBytes: int64(64 * mib / phi), SpillParallelism: 1,
			SystemMemoryBytes: int64(math.Ceil(math.Ceil(9*mib*1.25) * phi)), ForkFootprintRatio: math.Round(phi*1000) / 1000}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := res.Runs[i].Recommendations
			if got == nil || *got != tt.want {
				t.Fatalf("recommendations %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCapacityWithoutData(t *testing.T) {
	_, res := fixture(t)
	for _, r := range res.Runs {
		r.Summary = nil
		r.Series.Columns = []string{"t_s"}
		for i := range r.Series.Rows {
			r.Series.Rows[i] = r.Series.Rows[i][:1]
		}
	}
	v, err := newView(res)
	if err != nil {
		t.Fatal(err)
	}
	if c := v.capacity(); len(c.memory)+len(c.grace)+len(c.loss)+len(c.recs) != 0 {
		t.Errorf("recommendations without data: %+v", c)
	}
}
