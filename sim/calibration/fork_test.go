package calibration

import (
	"math"
	"testing"
	"time"
)

func TestForkTimeIsLinearInUsedMemory(t *testing.T) {
	c := Default()
	c.Fork.BaseNanos = 1e6    // 1 ms
	c.Fork.NanosPerGiB = 10e6 // 10 ms per GiB
	c.Fork.SnapshotBytesPerSec = 100 << 20
	tests := []struct {
		name string
		used int64
		want time.Duration
	}{
		{name: "empty", used: 0, want: time.Millisecond},
		{name: "half GiB", used: GiB / 2, want: 6 * time.Millisecond},
		{name: "2 GiB", used: 2 * GiB, want: 21 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.ForkTime(tc.used); got != tc.want {
				t.Fatalf("ForkTime(%d) = %v, want %v", tc.used, got, tc.want)
			}
		})
	}
	if got := c.SnapshotDuration(300 << 20); got != 3*time.Second {
		t.Fatalf("SnapshotDuration(300 MiB) at 100 MiB/s = %v, want 3s", got)
	}
}

func TestShippedForkConstantsAreSane(t *testing.T) {
	c := Default()
	if c.Fork.NanosPerGiB <= 0 {
		t.Fatalf("fork_ns_per_gib = %v: fork time must grow with memory", c.Fork.NanosPerGiB)
	}
	if c.ForkTime(2*GiB) <= c.ForkTime(GiB/4) {
		t.Fatal("ForkTime does not grow with used memory")
	}
	// Between 1 MB/s and 10 GB/s: a CPU- or disk-bound serializer, not a unit slip.
	for _, rate := range []float64{c.Fork.SnapshotBytesPerSec, c.Fork.SnapshotCompressibleBytesPerSec} {
		if rate < 1e6 || rate > 1e10 {
			t.Errorf("snapshot rate %v B/s is implausible", rate)
		}
	}
	// The fit goes through the middle of the samples: on the shared VM fork time is
	// dominated by scheduling noise, so only the mean is a stable target.
	var measured, model float64
	for _, r := range c.Measurements.Fork {
		measured += float64(r.ForkUsec) * 1e3
		model += float64(c.ForkTime(r.UsedBytes))
	}
	for _, r := range c.Measurements.COW {
		measured += float64(r.ForkUsec) * 1e3
		model += float64(c.ForkTime(r.UsedBytes))
	}
	if math.Abs(model/measured-1) > 0.05 {
		t.Errorf("mean fork time: model %.2f ms vs measured %.2f ms", model/1e6, measured/1e6)
	}
}

func TestCOWRegions(t *testing.T) {
	c := redisModel(t, 16)
	const keys = 1 << 20
	const page = 4096
	tests := []struct {
		name  string
		shape KeyShape
		want  []COWRegion
	}{
		{
			// robj 16 | dictEntry 32 + key sds 32 | value sds 320
			name:  "24-byte key, 256-byte value",
			shape: KeyShape{KeyBytes: 24, ValueBytes: 256},
			want: []COWRegion{
				{SizeClassBytes: 16, Pages: keys * 16 / page, PagesTouchedPerWrite: 1 + 15.0/page},
				{SizeClassBytes: 32, Pages: keys * 64 / page, PagesTouchedPerWrite: 1 + 31.0/page},
				{SizeClassBytes: 320, Pages: keys * 320 / page, PagesTouchedPerWrite: 1 + 319.0/page},
			},
		},
		{
			// dictEntry 32 + key 32 + expires entry 32 (two touched) | embstr 48
			name:  "24-byte key, 16-byte value, TTL",
			shape: KeyShape{KeyBytes: 24, ValueBytes: 16, TTL: true},
			want: []COWRegion{
				{SizeClassBytes: 32, Pages: keys * 96 / page, PagesTouchedPerWrite: 2 * (1 + 31.0/page)},
				{SizeClassBytes: 48, Pages: keys * 48 / page, PagesTouchedPerWrite: 1 + 47.0/page},
			},
		},
		{
			// a 16 KiB value is a page-aligned large allocation of 20 KiB (5 pages)
			name:  "16 KiB value",
			shape: KeyShape{KeyBytes: 24, ValueBytes: 16 << 10},
			want: []COWRegion{
				{SizeClassBytes: 16, Pages: keys * 16 / page, PagesTouchedPerWrite: 1 + 15.0/page},
				{SizeClassBytes: 32, Pages: keys * 64 / page, PagesTouchedPerWrite: 1 + 31.0/page},
				{SizeClassBytes: 20480, Pages: keys * 5, PagesTouchedPerWrite: 5},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := c.COWRegions(tc.shape, keys, page)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d regions %+v, want %+v", len(got), got, tc.want)
			}
			for i := range got {
				if got[i].SizeClassBytes != tc.want[i].SizeClassBytes || got[i].Pages != tc.want[i].Pages ||
					math.Abs(got[i].PagesTouchedPerWrite-tc.want[i].PagesTouchedPerWrite) > 1e-12 {
					t.Errorf("region %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestDirtyPages(t *testing.T) {
	tests := []struct {
		name    string
		pages   float64
		perW    float64
		writes  int64
		want    float64
		epsilon float64
	}{
		{name: "no writes", pages: 1000, perW: 3, writes: 0, want: 0},
		{name: "no pages", pages: 0, perW: 3, writes: 10, want: 0},
		{name: "one write", pages: 1e6, perW: 1, writes: 1, want: 1, epsilon: 1e-6},
		{name: "one expected hit per page", pages: 1000, perW: 1, writes: 1000, want: 1000 * (1 - math.Exp(-1)), epsilon: 1e-9},
		{name: "saturated", pages: 1000, perW: 3, writes: 1e6, want: 1000, epsilon: 1e-9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := DirtyPages(tc.pages, tc.perW, tc.writes); math.Abs(got-tc.want) > tc.epsilon {
				t.Fatalf("DirtyPages = %v, want %v", got, tc.want)
			}
		})
	}
}

// The acceptance bar: the COW model is within 25% of every shipped COW measurement.
func TestExpectedCOWMatchesShippedMeasurements(t *testing.T) {
	c := Default()
	n := 0
	for _, r := range c.Measurements.COW {
		model := float64(c.ExpectedCOW(r.Shape(), r.Keys, r.Writes, c.COW.PageSizeBytes))
		e := math.Abs(model/float64(r.COWBytes) - 1)
		if e > 0.25 {
			t.Errorf("value %d ttl %v, %d writes: model %.1f MiB vs measured %.1f MiB (%.0f%% off, limit 25%%)",
				r.ValueBytes, r.TTL, r.Writes, model/(1<<20), float64(r.COWBytes)/(1<<20), e*100)
		}
		if r.Writes > 0 {
			n++
		}
	}
	if n == 0 {
		t.Fatal("no shipped COW measurement with writes")
	}
	if s := c.COW.TouchScale; s < 0.5 || s > 2 {
		t.Errorf("touch scale %.3f: the allocation model is off by more than 2x", s)
	}
}

func TestExpectedCOWProperties(t *testing.T) {
	c := Default()
	shape := KeyShape{KeyBytes: 24, ValueBytes: 256}
	const keys = 1_000_000
	page := c.COW.PageSizeBytes
	if got := c.ExpectedCOW(shape, keys, 0, page); got != c.COW.BaselineBytes {
		t.Fatalf("no writes: COW %d, want the baseline %d", got, c.COW.BaselineBytes)
	}
	prev := int64(-1)
	for _, w := range []int64{0, 1, 10, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 1 << 40} {
		got := c.ExpectedCOW(shape, keys, w, page)
		if got < prev {
			t.Fatalf("COW shrinks with more writes: %d writes -> %d < %d", w, got, prev)
		}
		prev = got
		// Huge pages copy more for the same writes (as much, once both saturate).
		huge := c.ExpectedCOW(shape, keys, w, 2<<20)
		if huge < got || (w > 0 && w <= 1_000_000 && huge <= got) {
			t.Errorf("%d writes: 2 MiB pages COW %d, 4 KiB pages COW %d", w, huge, got)
		}
	}
	// Saturation: every page of every touched region, and never more than the dataset.
	var touched float64
	for _, r := range c.COWRegions(shape, keys, page) {
		if r.PagesTouchedPerWrite > 0 {
			touched += r.Pages
		}
	}
	sat := c.ExpectedCOW(shape, keys, 1<<40, page)
	if want := c.COW.BaselineBytes + int64(touched)*page; sat != want {
		t.Fatalf("saturated COW %d, want baseline + touched regions %d", sat, want)
	}
	dataset := c.UsedMemory(keys, 24, 256, false) - c.Memory.BaselineUsedBytes
	if sat-c.COW.BaselineBytes > dataset+page*4 {
		t.Fatalf("saturated COW %d exceeds the dataset %d", sat-c.COW.BaselineBytes, dataset)
	}
	if float64(sat-c.COW.BaselineBytes) < 0.9*float64(dataset) {
		t.Fatalf("saturated COW %d is far below the dataset %d for 24-byte keys (all regions touched)", sat, dataset)
	}
	// A bigger dataset dilutes the same writes over more pages, but never copies less.
	if c.ExpectedCOW(shape, 10*keys, 100_000, page) < c.ExpectedCOW(shape, keys, 100_000, page) {
		t.Error("a bigger dataset copies less for the same writes")
	}
}

func TestForkPanicsOnBadInput(t *testing.T) {
	c := Default()
	tests := []struct {
		name string
		fn   func()
	}{
		{name: "negative fork", fn: func() { c.ForkTime(-1) }},
		{name: "negative snapshot", fn: func() { c.SnapshotDuration(-1) }},
		{name: "negative writes", fn: func() { c.ExpectedCOW(KeyShape{KeyBytes: 1}, 1, -1, 4096) }},
		{name: "zero page", fn: func() { c.ExpectedCOW(KeyShape{KeyBytes: 1}, 1, 1, 0) }},
		{name: "negative pages", fn: func() { DirtyPages(-1, 1, 1) }},
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
