package redisnode

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/spillway-sim/spillway/sim/calibration"
)

func TestCOWTrackerCountsEachPageOnce(t *testing.T) {
	tests := []struct {
		name      string
		page      int64
		region    int64 // bytes of the one region
		touches   [][2]int64
		wantPages int64
	}{
		{name: "same page twice", page: 4096, region: 1 << 20, touches: [][2]int64{{100, 16}, {200, 16}}, wantPages: 1},
		{name: "two pages", page: 4096, region: 1 << 20, touches: [][2]int64{{100, 16}, {5000, 16}}, wantPages: 2},
		{name: "allocation spanning a boundary", page: 4096, region: 1 << 20, touches: [][2]int64{{4090, 16}}, wantPages: 2},
		{name: "large allocation", page: 4096, region: 1 << 20, touches: [][2]int64{{0, 3 * 4096}}, wantPages: 3},
		{name: "wraps at the region end", page: 4096, region: 8192, touches: [][2]int64{{8190, 16}}, wantPages: 2},
		{name: "saturates at the region", page: 4096, region: 8192, touches: [][2]int64{{0, 1 << 20}, {4096, 1}}, wantPages: 2},
		{name: "huge page", page: 2 << 20, region: 8 << 20, touches: [][2]int64{{100, 16}}, wantPages: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCOWTracker(tt.page, map[int64]int64{32: tt.region}, 0, 0, 1000)
			for _, tc := range tt.touches {
				c.touch(32, uint64(tc[0]), tc[1])
			}
			if c.dirty != tt.wantPages || c.bytes() != 1000+tt.wantPages*tt.page {
				t.Fatalf("dirty %d bytes %d, want %d pages", c.dirty, c.bytes(), tt.wantPages)
			}
			c.touch(99, 0, 16) // a class without a region: nothing to copy
			if c.dirty != tt.wantPages {
				t.Fatal("a touch outside every region counted")
			}
		})
	}
}

// cowModelRun replays writes overwrites of uniformly random keys of shape during
// one fork through the node's allocation placement (place) and returns the COW.
func cowModelRun(cal *calibration.Calibration, shape calibration.KeyShape, keys, writes, page int64, seed uint64) int64 {
	return cowModelPick(cal, shape, keys, writes, page, seed, func(r *rand.Rand) int64 { return r.Int64N(keys) })
}

// cowModelPick is cowModelRun with the written key ids drawn by pick.
func cowModelPick(cal *calibration.Calibration, shape calibration.KeyShape, keys, writes, page int64, seed uint64,
	pick func(*rand.Rand) int64) int64 {
	s := &settings{cal: *cal}
	n := &Node{cfg: s, mem: newMemModel(&s.cal, 0)}
	e := entry{key: fmt.Sprintf("%0*d", shape.KeyBytes, 0), kind: kindString, valueLen: int32(shape.ValueBytes), volPos: -1}
	if shape.TTL {
		e.volPos = 0
	}
	e.bytes = n.mem.bytesOf(&e)
	for _, a := range n.mem.allocs(&e, nil) {
		n.mem.classBytes[a.class] += a.class * a.n * keys
	}
	var vol int64
	if shape.TTL {
		vol = keys
	}
	n.p.cow = newCOWTracker(page, n.mem.classBytes, cal.DictBytes(keys), cal.DictBytes(vol), cal.COW.BaselineBytes)
	r := rand.New(rand.NewPCG(seed, 11))
	buf := make([]byte, 0, shape.KeyBytes)
	for range writes {
		buf = buf[:0]
		id := strconv.AppendInt(nil, pick(r), 10)
		for range shape.KeyBytes - len(id) {
			buf = append(buf, '0')
		}
		e.key = string(append(buf, id...))
		prev := e
		n.place(&e, &prev)
	}
	return n.p.cow.bytes()
}

// TestCOWAgainstMeasurements compares the page model with rdb_last_cow_size of the
// calibration's BGSAVEs under paced random overwrites (within 25 %).
func TestCOWAgainstMeasurements(t *testing.T) {
	cal := calibration.Default()
	t.Log("| keys | value B | TTL | writes | measured COW | model COW | error | calibration.ExpectedCOW |")
	for _, run := range cal.Measurements.COW {
		name := fmt.Sprintf("%dx%d/ttl=%v/writes=%d", run.Keys, run.ValueBytes, run.TTL, run.Writes)
		t.Run(name, func(t *testing.T) {
			if (testing.Short() || raceEnabled) && run.Writes > 200_000 {
				t.Skip("a million-write replay: skipped under -short and -race")
			}
			shape := run.Shape()
			got := cowModelRun(&cal, shape, run.Keys, run.Writes, cal.COW.PageSizeBytes, 1)
			closed := cal.ExpectedCOW(shape, run.Keys, run.Writes, cal.COW.PageSizeBytes)
			rel := float64(got-run.COWBytes) / float64(run.COWBytes)
			t.Logf("| %d | %d | %v | %d | %d | %d | %+.1f %% | %d |", run.Keys, run.ValueBytes, run.TTL, run.Writes, run.COWBytes, got, 100*rel, closed)
			if math.Abs(rel) > 0.25 {
				t.Fatalf("model COW %d vs measured %d: %.1f %% off", got, run.COWBytes, 100*rel)
			}
		})
	}
}

func TestCOWHugePagesCopyFarMore(t *testing.T) {
	cal := calibration.Default()
	shape := calibration.KeyShape{KeyBytes: 24, ValueBytes: 256, TTL: true}
	for _, writes := range []int64{100, 1000} {
		small := cowModelRun(&cal, shape, 200_000, writes, 4096, 2)
		huge := cowModelRun(&cal, shape, 200_000, writes, 2<<20, 2)
		t.Logf("%d writes: 4 KiB pages %d B, 2 MiB pages %d B", writes, small, huge)
		if huge < 5*small {
			t.Fatalf("%d writes: huge pages %d, 4 KiB pages %d: want ≥ 5×", writes, huge, small)
		}
	}
}

// TestCOWHotKeysCopyTheirOwnPages: writes that keep hitting a few hot keys copy
// those keys' pages (jemalloc hands an overwrite the slot the previous write
// freed), not a random page per write: 100,000 writes to 100 hot keys copy about
// what 100 distinct keys' writes copy, far below 100,000 uniform writes.
func TestCOWHotKeysCopyTheirOwnPages(t *testing.T) {
	cal := calibration.Default()
	shape := calibration.KeyShape{KeyBytes: 24, ValueBytes: 256, TTL: true}
	const keys, hot = 200_000, 100
	hotCOW := cowModelPick(&cal, shape, keys, 100_000, 4096, 3, func(r *rand.Rand) int64 { return r.Int64N(hot) * (keys / hot) })
	few := cowModelRun(&cal, shape, keys, 2*hot, 4096, 3)
	uniform := cowModelRun(&cal, shape, keys, 100_000, 4096, 3)
	t.Logf("hot %d B, %d uniform writes %d B, 100000 uniform writes %d B", hotCOW, 2*hot, few, uniform)
	if hotCOW > few || uniform < 10*hotCOW {
		t.Fatalf("hot keys copied %d B: want at most %d (200 distinct writes) and a tenth of uniform %d", hotCOW, few, uniform)
	}
}

// TestFreeStackMatchesCopyingStack: the amortized stack keeps exactly the entries
// of a stack that drops its oldest entry by copying, under mixed limits.
func TestFreeStackMatchesCopyingStack(t *testing.T) {
	var ref []uint64
	var s freeStack
	x := uint64(1)
	for i := 0; i < 200_000; i++ {
		x = mix64(x)
		limit := 4
		if x%3 == 0 {
			limit = 40
		}
		if x%5 == 0 {
			got, ok := s.pop()
			if len(ref) == 0 {
				if ok {
					t.Fatalf("step %d: pop of an empty stack returned %d", i, got)
				}
				continue
			}
			want := ref[len(ref)-1]
			ref = ref[:len(ref)-1]
			if !ok || got != want {
				t.Fatalf("step %d: pop %d %v, want %d", i, got, ok, want)
			}
			continue
		}
		if len(ref) >= limit {
			ref = append(ref[:0], ref[1:]...)
		}
		ref = append(ref, x)
		s.push(x, limit)
		if s.len() != len(ref) {
			t.Fatalf("step %d: len %d, want %d", i, s.len(), len(ref))
		}
	}
}
