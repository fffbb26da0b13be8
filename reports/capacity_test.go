package reports

import (
	"math"
	"testing"

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

	if len(c.fork) != 2 {
		t.Fatalf("fork = %+v", c.fork)
	}
	f := c.fork[0] // memory-only: used 1 MiB, RSS 5.1 MiB of which COW 4 MiB at 6 min
	if f.systemBytes != 64*mib || f.maxmemoryBytes != 32*mib || f.forks != 1 || f.ooms != 0 {
		t.Errorf("fork fit = %+v", f)
	}
	if math.Abs(f.footprintRatio-5.1) > 1e-9 || math.Abs(f.fragmentation-1.1) > 1e-9 ||
		math.Abs(f.peakFootprintBytes-5.1*mib) > 1 {
		t.Errorf("ratios: footprint %v fragmentation %v peak %v", f.footprintRatio, f.fragmentation,
			f.peakFootprintBytes)
	}
	if math.Abs(f.observedMax()-64*mib/5.1) > 1 || math.Abs(f.worstCaseMax()-64*mib/2.2) > 1 {
		t.Errorf("observed max %v, worst case max %v", f.observedMax(), f.worstCaseMax())
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
	if c := v.capacity(); len(c.memory)+len(c.grace)+len(c.loss)+len(c.fork) != 0 {
		t.Errorf("recommendations without data: %+v", c)
	}
}
