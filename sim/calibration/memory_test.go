package calibration

import (
	"math"
	"testing"
)

// redisModel returns a calibration with the Redis 7.0 source constants and quantum q.
func redisModel(t *testing.T, q int64) Calibration {
	t.Helper()
	return Calibration{Memory: RedisMemory(q, 1_000_000)}
}

func TestSizeClass(t *testing.T) {
	tests := []struct {
		name    string
		quantum int64
		in      int64
		want    int64
	}{
		{name: "zero", quantum: 16, in: 0, want: 0},
		{name: "tiny 1", quantum: 16, in: 1, want: 8},
		{name: "tiny 8", quantum: 16, in: 8, want: 8},
		{name: "quantum", quantum: 16, in: 9, want: 16},
		{name: "dictEntry 24", quantum: 16, in: 24, want: 32},
		{name: "embstr of 16 bytes", quantum: 16, in: 36, want: 48},
		{name: "embstr of 44 bytes", quantum: 16, in: 64, want: 64},
		{name: "sds8 of 64 bytes", quantum: 16, in: 68, want: 80},
		{name: "128 exact", quantum: 16, in: 128, want: 128},
		{name: "first 32-spaced", quantum: 16, in: 129, want: 160},
		{name: "sds16 of 256 bytes", quantum: 16, in: 262, want: 320},
		{name: "sds16 of 1024 bytes", quantum: 16, in: 1030, want: 1280},
		{name: "4 KiB", quantum: 16, in: 4096, want: 4096},
		{name: "just above 4 KiB", quantum: 16, in: 4097, want: 5120},
		{name: "large 16 KiB+1", quantum: 16, in: 16385, want: 20480},
		{name: "8 MiB table", quantum: 16, in: 8 << 20, want: 8 << 20},
		{name: "quantum 8: 9", quantum: 8, in: 9, want: 16},
		{name: "quantum 8: dictEntry", quantum: 8, in: 24, want: 24},
		{name: "quantum 8: 36", quantum: 8, in: 36, want: 40},
		{name: "quantum 8: 65", quantum: 8, in: 65, want: 80},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := redisModel(t, tc.quantum).SizeClass(tc.in); got != tc.want {
				t.Fatalf("SizeClass(%d) with quantum %d = %d, want %d", tc.in, tc.quantum, got, tc.want)
			}
		})
	}
}

// The size classes the model computes are exactly the bins the calibrated server's
// jemalloc listed in MEMORY MALLOC-STATS.
func TestSizeClassMatchesMallocStats(t *testing.T) {
	c := Default()
	classes := c.Measurements.JemallocSmallClassesBytes
	if len(classes) < 20 {
		t.Fatalf("only %d size classes recorded", len(classes))
	}
	for i, cl := range classes {
		if got := c.SizeClass(cl); got != cl {
			t.Errorf("SizeClass(%d) = %d: a listed class must map to itself", cl, got)
		}
		if i > 0 && classes[i-1]+1 <= cl {
			// MALLOC-STATS omits classes no allocation used; the next model class above
			// the previous listed one must not skip past this one.
			if got := c.SizeClass(classes[i-1] + 1); got > cl {
				t.Errorf("SizeClass(%d) = %d, past the listed class %d", classes[i-1]+1, got, cl)
			}
		}
	}
}

func TestUsedMemoryPerKeyBreakdown(t *testing.T) {
	tests := []struct {
		name          string
		key, value    int
		ttl           bool
		want          int64
		wantValueOnly int64
	}{
		// dictEntry 32 + key sds5(1+24+1 -> 32) + embstr(16+3+16+1=36 -> 48)
		{name: "16-byte value", key: 24, value: 16, want: 112, wantValueOnly: 48},
		{name: "16-byte value with TTL", key: 24, value: 16, ttl: true, want: 144, wantValueOnly: 48},
		// largest EMBSTR: 16+3+44+1 = 64
		{name: "44-byte value is embstr", key: 24, value: 44, want: 128, wantValueOnly: 64},
		// RAW: robj 16 + sds8 3+45+1=49 -> 64
		{name: "45-byte value is raw", key: 24, value: 45, want: 144, wantValueOnly: 80},
		{name: "64-byte value", key: 24, value: 64, want: 160, wantValueOnly: 96},
		{name: "256-byte value (sds16)", key: 24, value: 256, want: 400, wantValueOnly: 336},
		{name: "1024-byte value", key: 24, value: 1024, ttl: true, want: 1392, wantValueOnly: 1296},
		// key of 32 bytes leaves sdshdr5: sds8 3+32+1=36 -> 48
		{name: "32-byte key", key: 32, value: 16, want: 128, wantValueOnly: 48},
		// empty key: sds8 3+0+1=4 -> 8
		{name: "empty key uses sds8", key: 0, value: 16, want: 32 + 8 + 48, wantValueOnly: 48},
	}
	c := redisModel(t, 16)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.UsedMemoryPerKey(tc.key, tc.value, tc.ttl); got != tc.want {
				t.Errorf("UsedMemoryPerKey(%d, %d, %v) = %d, want %d", tc.key, tc.value, tc.ttl, got, tc.want)
			}
			if got := c.ValueAllocBytes(tc.value); got != tc.wantValueOnly {
				t.Errorf("ValueAllocBytes(%d) = %d, want %d", tc.value, got, tc.wantValueOnly)
			}
		})
	}
}

func TestDictBuckets(t *testing.T) {
	tests := []struct {
		name string
		keys int64
		want int64
	}{
		{name: "empty", keys: 0, want: 0},
		{name: "one key gets the initial table", keys: 1, want: 4},
		{name: "four fit the initial table", keys: 4, want: 4},
		{name: "fifth key doubles", keys: 5, want: 8},
		{name: "one million", keys: 1_000_000, want: 1 << 20},
		{name: "exact power of two", keys: 1 << 20, want: 1 << 20},
		{name: "one past a power of two", keys: 1<<20 + 1, want: 1 << 21},
	}
	c := redisModel(t, 16)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.DictBuckets(tc.keys); got != tc.want {
				t.Fatalf("DictBuckets(%d) = %d, want %d", tc.keys, got, tc.want)
			}
			if got := c.DictBytes(tc.keys); got != 8*tc.want {
				t.Fatalf("DictBytes(%d) = %d, want %d", tc.keys, got, 8*tc.want)
			}
		})
	}
}

// The acceptance bar: the model is within 10% of every shipped used-memory
// measurement (it is in fact exact to well under 1%).
func TestUsedMemoryMatchesShippedMeasurements(t *testing.T) {
	c := Default()
	worst := 0.0
	for _, r := range c.Measurements.UsedMemory {
		measured := float64(r.UsedAfterBytes - r.UsedBeforeBytes)
		model := float64(c.UsedMemory(r.Keys, r.KeyBytes, r.ValueBytes, r.TTL) - c.Memory.BaselineUsedBytes)
		e := math.Abs(model/measured - 1)
		worst = math.Max(worst, e)
		if e > 0.10 {
			t.Errorf("value %d ttl %v: model %.0f B vs measured %.0f B (%.1f%% off, limit 10%%)",
				r.ValueBytes, r.TTL, model, measured, e*100)
		}
		if math.Abs(r.PerKeyBytes-measured/float64(r.Keys)) > 0.01 {
			t.Errorf("value %d ttl %v: per_key_bytes %.3f disagrees with the used delta", r.ValueBytes, r.TTL, r.PerKeyBytes)
		}
	}
	t.Logf("worst used-memory error %.3f%%", worst*100)
}

func TestUsedMemoryMonotonic(t *testing.T) {
	c := Default()
	for _, value := range []int{0, 16, 44, 45, 64, 256, 1024, 70_000} {
		for _, ttl := range []bool{false, true} {
			prev := c.UsedMemory(0, 24, value, ttl)
			if prev != c.Memory.BaselineUsedBytes {
				t.Fatalf("UsedMemory(0 keys) = %d, want the baseline %d", prev, c.Memory.BaselineUsedBytes)
			}
			for n := int64(1); n <= 5000; n++ {
				got := c.UsedMemory(n, 24, value, ttl)
				if got <= prev {
					t.Fatalf("value %d ttl %v: UsedMemory(%d) = %d <= UsedMemory(%d) = %d", value, ttl, n, got, n-1, prev)
				}
				prev = got
			}
		}
		for _, n := range []int64{1, 1000, 1_000_000} {
			if c.UsedMemory(n, 24, value, true) <= c.UsedMemory(n, 24, value, false) {
				t.Errorf("value %d, %d keys: a TTL adds no memory", value, n)
			}
			if c.UsedMemory(n, 24, value+1, false) < c.UsedMemory(n, 24, value, false) {
				t.Errorf("value %d, %d keys: a longer value uses less memory", value, n)
			}
		}
	}
}

func TestRSSBytes(t *testing.T) {
	c := Default()
	c.Memory.RSSFragmentationRatio = 1.25
	if got := c.RSSBytes(1000); got != 1250 {
		t.Fatalf("RSSBytes(1000) at ratio 1.25 = %d, want 1250", got)
	}
	if got := Default().RSSBytes(0); got != 0 {
		t.Fatalf("RSSBytes(0) = %d, want 0", got)
	}
}

func TestMemoryPanicsOnNegativeInput(t *testing.T) {
	c := Default()
	tests := []struct {
		name string
		fn   func()
	}{
		{name: "negative keys", fn: func() { c.UsedMemory(-1, 24, 16, false) }},
		{name: "negative key length", fn: func() { c.UsedMemoryPerKey(-1, 16, false) }},
		{name: "negative value length", fn: func() { c.ValueAllocBytes(-1) }},
		{name: "negative dict", fn: func() { c.DictBuckets(-1) }},
		{name: "negative used", fn: func() { c.RSSBytes(-1) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tc.fn()
		})
	}
}
