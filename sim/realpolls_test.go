package sim

import (
	"math"
	"testing"
)

// TestRealPollsShare: of the real polls a sampled window stands for, the share
// that has a key to restore or to write: all of them when every real poll
// carries many messages that do, one per such message when each carries one
// message, and 1 − (1 − f)^m in between. The sampled polls that carried no
// such message count, through the window, with the one that did.
func TestRealPollsShare(t *testing.T) {
	s := &settings{weight: 10}
	cases := []struct {
		name    string
		polls   float64
		k, msgs int
		want    float64
	}{
		{"one message per real poll, all put a key", 10, 1, 1, 10},
		{"one message per real poll, half of them put one", 20, 1, 2, 10},
		{"ten messages per real poll, 30 % put one", 10, 3, 10, 10 * (1 - math.Pow(0.7, 10))},
		{"no message put a key", 10, 0, 5, 0},
		// Not capped at the W × k real messages: the sampled count is an
		// estimate, and capping it at each window read ttl-bug's round trips 24 %
		// low at 0.02.
		{"more real polls than the sampled messages stand for", 40, 2, 2, 40},
	}
	for _, c := range cases {
		if got := s.share(c.polls, c.k, c.msgs); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: %v real polls, want %v", c.name, got, c.want)
		}
	}
	// The partitions (nodes) a real action of n keys touches, of p.
	for _, c := range []struct{ p, keys, want float64 }{
		{1, 50, 1}, {8, 1, 1}, {8, 1000, 8}, {4, 2, 4 * (1 - 0.75*0.75)},
	} {
		if got := touched(c.p, c.keys); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("touched(%v, %v) = %v, want %v", c.p, c.keys, got, c.want)
		}
	}
	// Partitions of 3 and 1 of 4 sampled keys, real actions of 2 keys: the
	// first is in 1 − (1/4)², the second in 1 − (3/4)² of them.
	if got, want := sharesOf([]int{3, 1}, 4, 2), (1-1.0/16)+(1-9.0/16); math.Abs(got-want) > 1e-9 {
		t.Errorf("sharesOf = %v, want %v", got, want)
	}
}
