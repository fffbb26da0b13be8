package broker

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestSetHelpers(t *testing.T) {
	tests := []struct {
		name            string
		a, b            []int32
		wantDiff, wantU string
	}{
		{"disjoint", []int32{1, 3}, []int32{2, 4}, "[1 3]", "[1 2 3 4]"},
		{"overlap", []int32{1, 2, 3}, []int32{2, 5}, "[1 3]", "[1 2 3 5]"},
		{"empty a", nil, []int32{2}, "[]", "[2]"},
		{"empty b", []int32{0, 9}, nil, "[0 9]", "[0 9]"},
		{"equal", []int32{4, 7}, []int32{4, 7}, "[]", "[4 7]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fmt.Sprint(difference(tt.a, tt.b)); got != tt.wantDiff {
				t.Errorf("difference = %s, want %s", got, tt.wantDiff)
			}
			if got := fmt.Sprint(union(tt.a, tt.b)); got != tt.wantU {
				t.Errorf("union = %s, want %s", got, tt.wantU)
			}
		})
	}
}

// TestCallbacksAreEventsInOrder: Join returns before any callback runs; a
// paused member's callbacks wait for Resume and arrive in order, revoke
// before assign.
func TestCallbacksAreEventsInOrder(t *testing.T) {
	h := newHarness(t, testConfig(AssignorRange), 4)
	f := h.join("m0", "")
	if f.assigns != 0 {
		t.Fatal("Assign ran inside Join")
	}
	h.settle(time.Minute)
	t0 := h.eng.Now()
	h.join("m1", "")
	mustNoErr(t, h.g.Pause("m0")) // before the Revoke event runs
	h.eng.RunUntil(t0 + 10*time.Second)
	mustNoErr(t, h.g.Resume("m0"))
	h.settle(time.Minute)
	want := "1m10s m0 revoke gen=1 [0 1 2 3]\n1m13s m0 assign gen=2 owned=[0 1] added=[0 1]"
	if got := grepJournal(h.j, "1m10s m0", "1m13s m0"); got != want {
		t.Fatalf("m0's callbacks:\n%s\nwant\n%s", got, want)
	}
}

func TestDoneTwicePanics(t *testing.T) {
	h := newHarness(t, testConfig(AssignorRange), 2)
	h.startGroup(1, false)
	f := h.fakes["m0"]
	f.hang = true
	h.join("m1", "")
	h.eng.RunUntil(h.eng.Now())
	if f.doneFn == nil {
		t.Fatal("no revoke")
	}
	f.doneFn()
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), "called done twice") {
			t.Fatalf("panic = %v", r)
		}
	}()
	f.doneFn()
}
