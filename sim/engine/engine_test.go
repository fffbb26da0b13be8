package engine

import (
	"testing"
	"time"
)

func TestOrderByTimeThenSeq(t *testing.T) {
	e := New(1)
	var got []string
	e.Schedule(2*time.Second, func() { got = append(got, "b1") })
	e.Schedule(time.Second, func() { got = append(got, "a") })
	e.Schedule(2*time.Second, func() { got = append(got, "b2") })
	e.Schedule(2*time.Second, func() {
		got = append(got, "b3")
		e.After(0, func() { got = append(got, "b4-same-time-later-seq") })
	})
	e.Run()
	want := []string{"a", "b1", "b2", "b3", "b4-same-time-later-seq"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if e.Now() != 2*time.Second {
		t.Fatalf("now = %v, want 2s", e.Now())
	}
}

func TestStopAndRunUntil(t *testing.T) {
	e := New(1)
	ran := 0
	tm := e.After(time.Second, func() { ran++ })
	e.After(3*time.Second, func() { ran += 10 })
	if !tm.Stop() {
		t.Fatal("Stop of a pending timer reported false")
	}
	if tm.Stop() {
		t.Fatal("second Stop reported true")
	}
	e.RunUntil(2 * time.Second)
	if ran != 0 || e.Now() != 2*time.Second {
		t.Fatalf("ran=%d now=%v, want 0 and 2s", ran, e.Now())
	}
	e.RunUntil(time.Minute)
	if ran != 10 {
		t.Fatalf("ran=%d, want 10", ran)
	}
}

func TestSchedulingInThePastPanics(t *testing.T) {
	e := New(1)
	e.RunUntil(time.Second)
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	e.Schedule(time.Millisecond, func() {})
}

func TestRandDeterministicAndSeedSensitive(t *testing.T) {
	draw := func(seed uint64) [3]uint64 {
		e := New(seed)
		a, b := e.NewRand(), e.NewRand()
		return [3]uint64{a.Uint64(), b.Uint64(), a.Uint64()}
	}
	if draw(7) != draw(7) {
		t.Fatal("same seed gave different draws")
	}
	if draw(7) == draw(8) {
		t.Fatal("different seeds gave the same draws")
	}
}

func TestClockFollowsVirtualTime(t *testing.T) {
	e := New(1)
	e.RunUntil(90 * time.Second)
	if got := e.Clock()(); !got.Equal(Epoch.Add(90 * time.Second)) {
		t.Fatalf("clock = %v", got)
	}
}
