package redisnode

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/spillway-sim/spillway/core"
	"github.com/spillway-sim/spillway/sim/engine"
)

func newNode(t *testing.T, cfg Config) (*engine.Engine, *Node) {
	t.Helper()
	eng := engine.New(1)
	if cfg.Name == "" {
		cfg.Name = "redis-0"
	}
	n, err := New(eng, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return eng, n
}

func newStore(t *testing.T, eng *engine.Engine, n *Node, opts ...core.Opt) *core.Store[[]byte] {
	t.Helper()
	s, err := core.New[[]byte](n.NewClient(8), core.BytesCodec{},
		append([]core.Opt{core.WithClock(core.ClockFunc(eng.Time)), core.TTL(time.Minute), core.SpillBatch(100)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestExpiryInVirtualTime(t *testing.T) {
	eng, n := newNode(t, Config{RTT: 100 * time.Microsecond})
	var removed []string
	n.OnRemove(func(key string, why Removal) { removed = append(removed, why.String()+":"+key) })
	s := newStore(t, eng, n)
	for i := 0; i < 250; i++ {
		s.Put(0, fmt.Sprintf("k%03d", i), []byte("v"))
	}
	if _, err := s.SpillAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n.Keys() != 251 || n.Volatile() != 251 { // 250 entries + the fence
		t.Fatalf("keys=%d volatile=%d", n.Keys(), n.Volatile())
	}
	eng.RunUntil(59 * time.Second)
	n.Advance()
	if n.Keys() != 251 {
		t.Fatalf("expired early: %d keys", n.Keys())
	}
	eng.RunUntil(61 * time.Second)
	n.Advance()
	if n.Keys() != 1 || len(removed) != 250 || removed[0] != "expired:spill:{0}:k000" {
		t.Fatalf("after TTL: keys=%d removed=%d first=%v", n.Keys(), len(removed), removed[:1])
	}
	if st := n.Stats(); st.ExpiredKeys != 250 {
		t.Fatalf("stats %+v", st)
	}
}

func TestMeterChargesLanesAndCutsAtBudget(t *testing.T) {
	eng, n := newNode(t, Config{RTT: time.Millisecond})
	s := newStore(t, eng, n, core.SpillParallelism(4))
	for i := 0; i < 2000; i++ {
		s.Put(int32(i%2), fmt.Sprintf("k%04d", i), []byte("v"))
	}
	m := &Meter{Budget: 3500 * time.Microsecond} // 3 batches of 1 ms per worker fit
	rep, err := s.SpillAll(WithMeter(context.Background(), m))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	// 20 batches, 4 workers × 3 batches = 12 written.
	if rep.Written != 1200 || rep.Count(core.ReasonDeadline) != 800 {
		t.Fatalf("written %d, deadline %d", rep.Written, rep.Count(core.ReasonDeadline))
	}
	if m.Elapsed() != 3500*time.Microsecond {
		t.Fatalf("elapsed %v, want the budget", m.Elapsed())
	}
}

func TestDownRefusesAndRestoreOneRoundTrip(t *testing.T) {
	eng, n := newNode(t, Config{RTT: 200 * time.Microsecond})
	s := newStore(t, eng, n)
	s.Put(3, "a", []byte("1"))
	s.Put(3, "b", []byte("2"))
	if _, err := s.Spill(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	m := &Meter{}
	rr, err := s.Restore(WithMeter(context.Background(), m), []core.KeyRef{{Partition: 3, Key: "a"}, {Partition: 3, Key: "b"}, {Partition: 3, Key: "c"}})
	if err != nil || rr.Restored != 2 || rr.Missing != 1 || m.Calls() != 1 {
		t.Fatalf("restore %+v err %v calls %d", rr, err, m.Calls())
	}
	n.SetDown(true)
	s.Put(4, "x", []byte("1"))
	rep, err := s.Spill(context.Background(), 4)
	if err == nil || rep.Count(core.ReasonUnavailable) != 1 {
		t.Fatalf("spill to a down node: %+v %v", rep, err)
	}
	n.SetDown(false)
	if _, err := s.Spill(context.Background(), 4); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	if n.Stats().RejectedDown == 0 {
		t.Fatal("RejectedDown not counted")
	}
}
