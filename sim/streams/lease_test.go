package streams

import (
	"context"
	"testing"
	"time"
)

// TestLeases: one holder per stream, epochs grow with every holder, a
// heartbeat keeps only the holder's leases and counts the live members, and a
// lease that expires is free for the next consumer.
func TestLeases(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			now := time.Unix(1_700_000_000, 0)
			a := NewLeases(b.rdb, "a", 10*time.Second)
			c := NewLeases(b.rdb, "c", 10*time.Second)
			got, err := a.Acquire(ctx, []int32{0, 1, 2}, 2)
			if err != nil || got[0] != 1 || got[1] != 1 || got[2] != 0 {
				t.Fatalf("a.Acquire = %v, %v; want [1 1 0] (two of three, epoch 1)", got, err)
			}
			got, _ = c.Acquire(ctx, []int32{0, 1, 2}, 3)
			if got[0] != 0 || got[1] != 0 || got[2] != 1 {
				t.Fatalf("c.Acquire = %v; want [0 0 1] (only the free stream)", got)
			}
			kept, members, err := a.Heartbeat(ctx, []int32{0, 1, 2}, now)
			if err != nil || !kept[0] || !kept[1] || kept[2] || members != 1 {
				t.Fatalf("a.Heartbeat = %v, %d, %v; want [true true false], 1 member", kept, members, err)
			}
			if _, members, _ = c.Heartbeat(ctx, []int32{2}, now); members != 2 {
				t.Fatalf("members = %d, want 2", members)
			}
			if n, _ := a.Release(ctx, []int32{1, 2}, false); n != 1 {
				t.Fatalf("a.Release = %d, want 1 (stream 2 is c's)", n)
			}
			if got, _ = c.Acquire(ctx, []int32{1}, 1); got[0] != 2 {
				t.Fatalf("c takes stream 1 in epoch %d, want 2", got[0])
			}
			// a stops renewing: its lease on stream 0 expires and c can take it.
			if b.mr != nil {
				b.mr.FastForward(11 * time.Second)
			} else {
				// The real server expires on its own clock; a DEL stands for the expiry
				// (no sleeping in tests). Its TTL is checked instead.
				if ttl := b.rdb.PTTL(ctx, LeaseKey(0)).Val(); ttl <= 0 || ttl > 10*time.Second {
					t.Fatalf("lease TTL %v, want (0, 10s]", ttl)
				}
				b.rdb.Del(ctx, LeaseKey(0))
			}
			if got, _ = c.Acquire(ctx, []int32{0}, 1); got[0] != 2 {
				t.Fatalf("after expiry c takes stream 0 in epoch %d, want 2", got[0])
			}
			if kept, _, _ = a.Heartbeat(ctx, []int32{0}, now.Add(11*time.Second)); kept[0] {
				t.Fatal("a's heartbeat kept a lease c holds")
			}
			if _, members, _ = a.Heartbeat(ctx, nil, now.Add(25*time.Second)); members != 1 {
				t.Fatalf("members = %d, want 1 (c's registration expired at +10s)", members)
			}
		})
	}
}
