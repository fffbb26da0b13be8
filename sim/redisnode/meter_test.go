package redisnode

import (
	"context"
	"testing"
	"time"
)

func TestMeterLanes(t *testing.T) {
	m := &Meter{Budget: 10 * time.Millisecond, Lead: time.Millisecond}
	if m.Elapsed() != time.Millisecond {
		t.Fatalf("no calls: %v", m.Elapsed())
	}
	if !m.charge(0, 2*time.Millisecond) || !m.charge(3, 5*time.Millisecond) || !m.charge(3, 4*time.Millisecond) {
		t.Fatal("charges within the budget refused")
	}
	if m.charge(3, time.Millisecond) { // lane 3 at 10 ms: one more passes the budget
		t.Fatal("charge past the budget accepted")
	}
	if m.Elapsed() != 10*time.Millisecond || m.Calls() != 3 {
		t.Fatalf("elapsed %v calls %d", m.Elapsed(), m.Calls())
	}
}

func TestMeterFromContext(t *testing.T) {
	m := &Meter{}
	got, lane := meterFrom(WithMeter(context.Background(), m))
	if got != m || lane != 0 {
		t.Fatalf("meter %p lane %d", got, lane)
	}
	if got, _ := meterFrom(context.Background()); got != nil {
		t.Fatal("meter from an empty context")
	}
}
