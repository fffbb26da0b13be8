package streams

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

func usedMemory(t *testing.T, b backend) int64 {
	t.Helper()
	info, err := b.rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	t.Fatal("no used_memory in INFO")
	return 0
}

// TestMemoryModelMatchesRedis re-measures the stream and PEL costs on a real
// server (miniredis has no INFO memory): within 25 % of the model.
func TestMemoryModelMatchesRedis(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends(t) {
		if b.mr != nil {
			continue
		}
		l := NewLog(b.rdb, Config{Streams: 1})
		if err := l.Create(ctx); err != nil {
			t.Fatal(err)
		}
		const n = 20000
		u0 := usedMemory(t, b)
		es := make([]Entry, n)
		for i := range es {
			es[i] = Entry{Offset: int64(i), Key: uint32(i * 7919 % 100000), Seq: uint32(1 + i%500), At: time.Duration(1e9 + int64(i)*37e6)}
		}
		for i := 0; i < n; i += 1000 {
			if _, err := l.Add(ctx, es[i:i+1000]); err != nil {
				t.Fatal(err)
			}
		}
		u1 := usedMemory(t, b)
		if _, err := l.Read(ctx, "c", []int64{n}); err != nil {
			t.Fatal(err)
		}
		u2 := usedMemory(t, b)
		perEntry, perPending := float64(u1-u0)/n, float64(u2-u1)/n
		t.Logf("redis-server: %.1f B per entry (model %d), %.1f B per pending entry (model %d)", perEntry, EntryBytes, perPending, PendingBytes)
		for _, c := range []struct {
			name       string
			got, model float64
		}{{"entry", perEntry, EntryBytes}, {"pending", perPending, PendingBytes}} {
			if c.got < 0.75*c.model || c.got > 1.25*c.model {
				t.Errorf("%s: %.1f B measured, model %.0f B: recalibrate memory.go", c.name, c.got, c.model)
			}
		}
	}
}
