package redisnode

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestKeyBytesIsTheKeyspaceEntry: KeyBytes gives what the memory model books
// for a key the node actually holds, for small (EMBSTR) and large (RAW) values,
// with and without a TTL.
func TestKeyBytesIsTheKeyspaceEntry(t *testing.T) {
	_, n := newNode(t, Config{})
	rdb := n.NewClient(1)
	ctx := context.Background()
	tests := []struct {
		name string
		key  string
		size int
		ttl  time.Duration
	}{
		{name: "embstr no ttl", key: "{spill:3}:dp:00000001", size: 20},
		{name: "embstr ttl", key: "{spill:3}:dp:00000002", size: 40, ttl: time.Minute},
		{name: "raw ttl", key: "{spill:13}:dp:00000003", size: 336, ttl: time.Minute},
		{name: "raw big", key: "{spill:13}:dp:00000004", size: 5000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := rdb.Set(ctx, tc.key, strings.Repeat("x", tc.size), tc.ttl).Err(); err != nil {
				t.Fatal(err)
			}
			n.mu.Lock()
			n.fold(nil, true)
			e := n.ks.get(tc.key)
			n.mu.Unlock()
			if e == nil {
				t.Fatal("the node does not hold the key")
			}
			got := n.KeyBytes(tc.key, tc.size, tc.ttl > 0)
			if got != e.bytes {
				t.Fatalf("KeyBytes %d, keyspace entry %d", got, e.bytes)
			}
			if floor := int64(len(tc.key) + tc.size); got <= floor {
				t.Fatalf("KeyBytes %d not above key + value %d", got, floor)
			}
		})
	}
}
