package scenarios

import (
	"reflect"
	"testing"
	"time"
)

func TestWorkloadMix(t *testing.T) {
	w := Workload{Interval: Duration(time.Minute)}
	if got := w.Mix(); !reflect.DeepEqual(got, []IntervalShare{{Fraction: 1, Interval: Duration(time.Minute)}}) {
		t.Fatalf("Mix() = %v", got)
	}
	w.Intervals = []IntervalShare{{Fraction: 0.5, Interval: Duration(time.Second)}, {Fraction: 0.5, Interval: Duration(time.Hour)}}
	got := w.Mix()
	if !reflect.DeepEqual(got, w.Intervals) {
		t.Fatalf("Mix() = %v", got)
	}
	got[0].Fraction = 9
	if w.Intervals[0].Fraction != 0.5 {
		t.Fatal("Mix shares storage")
	}
}

func TestTTLFor(t *testing.T) {
	tests := []struct {
		name     string
		st       State
		interval time.Duration
		want     time.Duration
	}{
		{name: "intervals", st: State{TTLIntervals: 3}, interval: time.Minute, want: 3 * time.Minute},
		{name: "fixed", st: State{TTL: Duration(90 * time.Second)}, interval: time.Hour, want: 90 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.st.TTLFor(tt.interval); got != tt.want {
				t.Fatalf("TTLFor = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEventAction(t *testing.T) {
	n := 2
	tests := []struct {
		name string
		e    Event
		want string
	}{
		{name: "none", e: Event{}, want: ""},
		{name: "scale", e: Event{Scale: &n}, want: ActionScale},
		{name: "scale to zero", e: Event{Scale: new(int)}, want: ActionScale},
		{name: "bgsave", e: Event{BGSave: true}, want: ActionBGSave},
		{name: "latency", e: Event{Latency: &Latency{}}, want: ActionLatency},
		{name: "first of two", e: Event{Crash: &n, Corrupt: &n}, want: ActionCrash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.Action(); got != tt.want {
				t.Fatalf("Action() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAssignorCooperative(t *testing.T) {
	for _, a := range []Assignor{AssignorRange, AssignorRoundRobin, AssignorSticky} {
		if a.Cooperative() {
			t.Errorf("%s is eager", a)
		}
	}
	if !AssignorCooperativeSticky.Cooperative() {
		t.Error("cooperative-sticky is cooperative")
	}
}

func TestLineFallsBackToEnclosingField(t *testing.T) {
	s := mustLoad(t, "testdata/minimal.yaml")
	tests := []struct {
		name string
		path string
		want int
	}{
		{name: "written", path: "workload.datapoints", want: 4},
		{name: "defaulted in a written section", path: "workload.jitter", want: 3},
		{name: "defaulted section", path: "redis.rtt", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Line(tt.path); got != tt.want {
				t.Fatalf("Line(%q) = %d, want %d", tt.path, got, tt.want)
			}
		})
	}
	if New("x").Line("seed") != 0 || New("x").File() != "" {
		t.Fatal("a Go-built scenario has lines")
	}
}
