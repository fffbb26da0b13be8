package redisnode

import (
	"testing"
	"time"
)

func TestExpiryIndex(t *testing.T) {
	x := newExpiryIndex()
	x.set("b", 2*time.Second)
	x.set("a", 2*time.Second)
	x.set("c", time.Second)
	x.set("c", 3*time.Second) // moved later: the old heap entry is stale
	x.set("d", time.Second)
	x.clear("d")
	if at, ok := x.next(); !ok || at != 2*time.Second {
		t.Fatalf("next = %v %v", at, ok)
	}
	var got []string
	for {
		k, ok := x.popDue(2 * time.Second)
		if !ok {
			break
		}
		got = append(got, k)
	}
	if len(got) != 2 || got[0] != "a" || got[1] != "b" || x.len() != 1 {
		t.Fatalf("due at 2 s: %v, %d left", got, x.len())
	}
	if k, ok := x.popDue(3 * time.Second); !ok || k != "c" {
		t.Fatalf("due at 3 s: %q %v", k, ok)
	}
	if _, ok := x.next(); ok || x.len() != 0 {
		t.Fatal("index not empty")
	}
}
