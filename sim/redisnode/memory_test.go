package redisnode

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/spillway-sim/spillway/core"
	"github.com/spillway-sim/spillway/sim/calibration"
)

func TestPerKeyBytesMatchCalibration(t *testing.T) {
	cal := calibration.Default()
	m := newMemModel(&cal, 0)
	tests := []struct {
		name          string
		keyLen, value int
		ttl           bool
	}{
		{name: "tiny", keyLen: 1, value: 1},
		{name: "embstr limit", keyLen: 24, value: 44, ttl: true},
		{name: "raw just past embstr", keyLen: 24, value: 45},
		{name: "64 B with TTL", keyLen: 24, value: 64, ttl: true},
		{name: "1 KiB", keyLen: 40, value: 1024},
		{name: "long key sdshdr8", keyLen: 100, value: 256, ttl: true},
		{name: "64 KiB sdshdr32", keyLen: 24, value: 70000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := entry{key: strings.Repeat("k", tt.keyLen), kind: kindString, valueLen: int32(tt.value), volPos: -1}
			if tt.ttl {
				e.volPos = 0
			}
			if got, want := m.bytesOf(&e), cal.UsedMemoryPerKey(tt.keyLen, tt.value, tt.ttl); got != want {
				t.Fatalf("bytesOf = %d, calibration %d", got, want)
			}
		})
	}
}

// TestUsedMemoryAgainstMeasurements adds the calibration runs' keys to the model
// and compares used_memory with what redis-server reported (within 10 %).
func TestUsedMemoryAgainstMeasurements(t *testing.T) {
	cal := calibration.Default()
	t.Log("| keys | key B | value B | TTL | measured used | model used | error |")
	for _, run := range cal.Measurements.UsedMemory {
		name := fmt.Sprintf("%dx%d/ttl=%v", run.Keys, run.ValueBytes, run.TTL)
		t.Run(name, func(t *testing.T) {
			m := newMemModel(&cal, 0)
			m.baseline = run.UsedBeforeBytes
			e := entry{key: strings.Repeat("k", run.KeyBytes), kind: kindString, valueLen: int32(run.ValueBytes), volPos: -1}
			if run.TTL {
				e.volPos = 0
			}
			e.bytes = m.bytesOf(&e)
			// Incremental adds of a tenth of the keys must equal the closed form...
			for range run.Keys / 10 {
				m.add(&e)
			}
			if got, want := m.used(), cal.UsedMemory(run.Keys/10, run.KeyBytes, run.ValueBytes, run.TTL)-cal.Memory.BaselineUsedBytes+run.UsedBeforeBytes; got != want {
				t.Fatalf("incremental %d keys: %d, calibration.UsedMemory %d", run.Keys/10, got, want)
			}
			// ...which scales to the measured key count.
			m.keyBytes, m.nkeys = run.Keys*e.bytes, run.Keys
			if run.TTL {
				m.nvol = run.Keys
			}
			got, want := m.used(), run.UsedAfterBytes
			rel := float64(got-want) / float64(want)
			t.Logf("| %d | %d | %d | %v | %d | %d | %+.2f %% |", run.Keys, run.KeyBytes, run.ValueBytes, run.TTL, want, got, 100*rel)
			if math.Abs(rel) > 0.10 {
				t.Fatalf("model %d vs measured %d: %.1f %% off", got, want, 100*rel)
			}
		})
	}
}

func TestUsedMemoryThroughTheHook(t *testing.T) {
	tests := []struct {
		name     string
		keys     int
		valueLen int
		ttl      time.Duration
	}{
		{name: "small values", keys: 3000, valueLen: 16},
		{name: "64 B with TTL", keys: 5000, valueLen: 64, ttl: time.Hour},
		{name: "1 KiB", keys: 1500, valueLen: 1024},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, n := newNode(t, Config{})
			cal := calibration.Default()
			if got := n.Memory().UsedBytes; got != cal.Memory.BaselineUsedBytes {
				t.Fatalf("empty node used %d, want the baseline %d", got, cal.Memory.BaselineUsedBytes)
			}
			load(t, n.NewClient(2), tt.keys, tt.valueLen, tt.ttl)
			ms := n.Memory()
			want := cal.UsedMemory(int64(tt.keys), len("k:000000"), tt.valueLen, tt.ttl > 0)
			if ms.UsedBytes != want || ms.RSSBytes != cal.RSSBytes(want) || ms.Keys != int64(tt.keys) {
				t.Fatalf("used %d rss %d keys %d, want %d %d %d", ms.UsedBytes, ms.RSSBytes, ms.Keys, want, cal.RSSBytes(want), tt.keys)
			}
			if ms.PeakUsedBytes != want || ms.DatasetBytes != int64(tt.keys*(8+tt.valueLen)) {
				t.Fatalf("peak %d dataset %d", ms.PeakUsedBytes, ms.DatasetBytes)
			}
		})
	}
}

func TestDeletesReturnToBaseline(t *testing.T) {
	_, n := newNode(t, Config{BaselineUsed: 1000})
	base := n.Memory().UsedBytes
	rdb := n.NewClient(2)
	load(t, rdb, 2000, 100, time.Minute)
	ctx := context.Background()
	for i := 0; i < 2000; i += 2 {
		rdb.Del(ctx, fmt.Sprintf("k:%06d", i))
		rdb.GetDel(ctx, fmt.Sprintf("k:%06d", i+1))
	}
	rdb.SAdd(ctx, "set", "a", "bb", "ccc")
	if got := n.Memory(); got.Keys != 1 || got.UsedBytes <= base {
		t.Fatalf("after SADD: %+v", got)
	}
	rdb.SRem(ctx, "set", "a", "bb", "ccc")
	ms := n.Memory()
	if ms.UsedBytes != base || ms.Keys != 0 || ms.VolatileKeys != 0 || ms.DatasetBytes != 0 {
		t.Fatalf("after deleting everything: %+v, want used %d", ms, base)
	}
	if ms.PeakUsedBytes < base+2000*100 {
		t.Fatalf("peak %d lost", ms.PeakUsedBytes)
	}
}

func TestSetMembersGrowMemory(t *testing.T) {
	_, n := newNode(t, Config{})
	rdb := n.NewClient(2)
	ctx := context.Background()
	var prev int64
	for i := 1; i <= 4; i++ {
		members := make([]any, 100)
		for j := range members {
			members[j] = fmt.Sprintf("dp:%05d", i*100+j)
		}
		rdb.SAdd(ctx, "{spill:1}#keys", members...)
		used := n.Memory().UsedBytes
		if used <= prev {
			t.Fatalf("%d members: used %d, not above %d", i*100, used, prev)
		}
		prev = used
	}
	// 400 members of 8 bytes: a dictEntry (32) and an SDS (16) each, plus the table.
	e := n.ks.get("{spill:1}#keys")
	if e == nil || e.members != 400 || e.bytes < 400*48 || e.bytes > 400*48+8192 {
		t.Fatalf("set entry %+v", e)
	}
}

func TestExpiryReducesMemory(t *testing.T) {
	eng, n := newNode(t, Config{})
	s := newStore(t, eng, n.NewClient(9), core.TTL(30*time.Second)) // a pod's pool: spill parallelism (8) + 1
	for i := 0; i < 2000; i++ {
		s.Put(int32(i%8), fmt.Sprintf("dp:%05d", i), make([]byte, 64))
	}
	before := n.Memory().UsedBytes
	if _, err := s.SpillAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	spilled := n.Memory().UsedBytes
	if spilled < before+2000*100 {
		t.Fatalf("spill added %d bytes for 2000 keys", spilled-before)
	}
	eng.RunUntil(31 * time.Second)
	n.Advance()
	ms := n.Memory()
	if ms.Keys != 8 || ms.Expired != 2000 { // the fences outlive the entries
		t.Fatalf("after the TTL: %+v", ms)
	}
	if ms.UsedBytes > before+8*200 {
		t.Fatalf("used %d after expiry, was %d before the spill", ms.UsedBytes, before)
	}
}
