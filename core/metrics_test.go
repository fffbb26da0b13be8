package core

import (
	"context"
	"sync"
	"testing"
	"time"
)

type recordingMetrics struct {
	mu       sync.Mutex
	spills   []int
	restores []int
}

func (m *recordingMetrics) ObserveSpill(r *SpillReport) {
	m.mu.Lock()
	m.spills = append(m.spills, r.Written)
	m.mu.Unlock()
}

func (m *recordingMetrics) ObserveRestore(r *RestoreReport) {
	m.mu.Lock()
	m.restores = append(m.restores, r.Restored)
	m.mu.Unlock()
}

func TestMetricsSinkAndStats(t *testing.T) {
	rdb := backends(t)[0].client(t)
	m := &recordingMetrics{}
	clk := newFakeClock()
	s, err := New[[]byte](rdb, BytesCodec{}, Namespace("spill"), WithMetrics(m), WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	fill(s, 1, 20, ctxValue)
	if _, err := s.Spill(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Restore(context.Background(), []KeyRef{{1, "dp:000003"}, {1, "nope"}}); err != nil {
		t.Fatal(err)
	}
	s.Get(1, "dp:000003")
	s.Get(1, "dp:000004")
	if len(m.spills) != 1 || m.spills[0] != 20 || len(m.restores) != 1 || m.restores[0] != 1 {
		t.Fatalf("sink saw spills %v restores %v", m.spills, m.restores)
	}
	st := s.Stats()
	if st.SpilledKeys != 20 || st.Restored != 1 || st.RedisMisses != 1 || st.LocalHits != 1 || st.LocalMisses != 1 ||
		st.Dropped != 20 || st.SpillWireBytes == 0 || st.SpillMax != 0 || st.SpillDuration != 0*time.Second {
		t.Fatalf("stats = %+v", st)
	}
}
