package engine

import (
	"cmp"
	"slices"
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

// TestQueueOrderMatchesSort is a property test against a dumb model: random
// schedules (many equal times, stops, events scheduling events) run in exactly
// the order of a stable sort by (time, insertion order), stopped events skipped.
func TestQueueOrderMatchesSort(t *testing.T) {
	tests := []struct {
		name   string
		events int
		times  int // distinct times drawn from; few times = many ties
		stopPc int // percent of events stopped before they run
	}{
		{name: "ties", events: 2000, times: 5},
		{name: "spread", events: 2000, times: 1_000_000},
		{name: "stops", events: 2000, times: 50, stopPc: 30},
		{name: "one", events: 1, times: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(9)
			rng := e.NewRand()
			type planned struct {
				at      time.Duration
				id      int
				stopped bool
			}
			var plan []planned
			var got []int
			var timers []*Timer
			// Half the events are scheduled up front, half by running events
			// (at or after their parent's time), as in the simulator.
			var schedule func(at time.Duration)
			schedule = func(at time.Duration) {
				id := len(plan)
				plan = append(plan, planned{at: at, id: id})
				timers = append(timers, e.Schedule(at, func() {
					got = append(got, id)
					if len(plan) < tt.events {
						schedule(e.Now() + time.Duration(rng.IntN(tt.times)))
					}
				}))
			}
			for i := 0; i < (tt.events+1)/2; i++ {
				schedule(time.Duration(rng.IntN(tt.times)))
			}
			for i := range timers {
				if rng.IntN(100) < tt.stopPc {
					if !timers[i].Stop() {
						t.Fatalf("Stop of pending timer %d reported false", i)
					}
					plan[i].stopped = true
				}
			}
			e.Run()
			var want []int
			live := slices.DeleteFunc(slices.Clone(plan), func(p planned) bool { return p.stopped })
			slices.SortStableFunc(live, func(a, b planned) int { return cmp.Compare(a.at, b.at) })
			// Creation order is seq order, so a stable sort by time is (time, seq).
			for _, p := range live {
				want = append(want, p.id)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("ran %d events in a different order than (time, seq): first difference at %d",
					len(got), firstDiff(got, want))
			}
			if e.Pending() != 0 || e.Steps() != uint64(len(want)) {
				t.Fatalf("pending=%d steps=%d, want 0 and %d", e.Pending(), e.Steps(), len(want))
			}
		})
	}
}

func firstDiff(a, b []int) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestStopSemantics: Stop reports true once, only while the event is queued;
// a Timer whose event ran (or is running) cannot stop anything, however many
// events were scheduled after it (Timers are never reused).
func TestStopSemantics(t *testing.T) {
	tests := []struct {
		name  string
		later int // events scheduled after the first one ran (more than a slab)
	}{
		{name: "none", later: 0},
		{name: "within-slab", later: 3},
		{name: "past-several-slabs", later: 3*timerSlab + 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(1)
			var self *Timer
			stoppedSelf := true
			first := e.After(time.Second, func() { stoppedSelf = self.Stop() })
			self = first
			e.Run()
			if stoppedSelf {
				t.Fatal("Stop from inside the running event reported true")
			}
			ran := 0
			for i := 0; i < tt.later; i++ {
				e.After(time.Duration(i), func() { ran++ })
			}
			if first.Stop() {
				t.Fatal("Stop of a timer that ran reported true")
			}
			e.Run()
			if ran != tt.later {
				t.Fatalf("ran %d of %d later events: a stale Stop cancelled one", ran, tt.later)
			}
			if first.At() != time.Second {
				t.Fatalf("At = %v, want 1s", first.At())
			}
			var nilTimer *Timer
			if nilTimer.Stop() {
				t.Fatal("Stop of a nil timer reported true")
			}
		})
	}
}

// TestPendingAndNextWithStops: stopped events count in Pending until they reach
// the head; Next skips them.
func TestPendingAndNextWithStops(t *testing.T) {
	e := New(1)
	a := e.After(time.Second, func() {})
	e.After(2*time.Second, func() {})
	b := e.After(3*time.Second, func() {})
	a.Stop()
	b.Stop()
	if e.Pending() != 3 {
		t.Fatalf("pending = %d, want 3 (stopped events stay until the head)", e.Pending())
	}
	if at, ok := e.Next(); !ok || at != 2*time.Second {
		t.Fatalf("next = %v %v, want 2s true", at, ok)
	}
	if e.Pending() != 2 {
		t.Fatalf("pending = %d, want 2 after Next dropped the stopped head", e.Pending())
	}
	if !e.Step() || e.Now() != 2*time.Second {
		t.Fatalf("step: now = %v, want 2s", e.Now())
	}
	if e.Step() {
		t.Fatal("Step ran a stopped event")
	}
	if _, ok := e.Next(); ok || e.Pending() != 0 {
		t.Fatalf("next ok=%v pending=%d, want an empty queue", ok, e.Pending())
	}
	if e.Steps() != 1 {
		t.Fatalf("steps = %d, want 1", e.Steps())
	}
}

// BenchmarkScheduleStep is the engine's own cost per event on a queue holding
// about a thousand events, as a simulator run does: one pop and one push.
func BenchmarkScheduleStep(b *testing.B) {
	e := New(1)
	rng := e.NewRand()
	var fn func()
	fn = func() { e.After(time.Duration(rng.IntN(1000))*time.Millisecond, fn) }
	for range 1000 {
		e.After(time.Duration(rng.IntN(1000))*time.Millisecond, fn)
	}
	b.ResetTimer()
	for range b.N {
		e.Step()
	}
}

// TestAtSurvivesStopAndRun: At reports the scheduled time whatever became of
// the event, time zero included.
func TestAtSurvivesStopAndRun(t *testing.T) {
	tests := []struct {
		name string
		at   time.Duration
		stop bool
	}{
		{name: "zero/pending", at: 0},
		{name: "zero/stopped", at: 0, stop: true},
		{name: "later/stopped", at: time.Hour, stop: true},
		{name: "later/run", at: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(1)
			tm := e.Schedule(tt.at, func() {})
			if got := tm.At(); got != tt.at {
				t.Fatalf("pending At = %v, want %v", got, tt.at)
			}
			if tt.stop {
				tm.Stop()
			}
			e.Run()
			if got := tm.At(); got != tt.at {
				t.Fatalf("At = %v after stop=%v and Run, want %v", got, tt.stop, tt.at)
			}
			if want := uint64(1); tt.stop == (e.Steps() == want) {
				t.Fatalf("steps = %d with stop=%v", e.Steps(), tt.stop)
			}
		})
	}
}
