package main

import (
	"bytes"
	"context"
	"io"
	"math"
	"testing"

	"github.com/spillway-sim/spillway/sim/calibration"
)

func TestKeyShape(t *testing.T) {
	for _, i := range []int64{0, 12345, 9_999_999_999} {
		if k := key(i); len(k) != 24 {
			t.Fatalf("key(%d) = %q has %d bytes, want 24", i, k, len(k))
		}
	}
	if key(12345) != "{spill:12}:dp:0000012345" {
		t.Fatalf("key(12345) = %q", key(12345))
	}
}

func TestServiceShapesCoverEveryOp(t *testing.T) {
	shapes := serviceShapes()
	per := map[calibration.OpKind]int{}
	keys := map[calibration.OpKind]map[int]bool{}
	for _, s := range shapes {
		per[s.op]++
		if keys[s.op] == nil {
			keys[s.op] = map[int]bool{}
		}
		keys[s.op][s.keys] = true
	}
	for _, op := range calibration.OpKinds {
		if per[op] < 3 {
			t.Errorf("%s has %d shapes, want >= 3 to fit per-op + per-byte/per-key", op, per[op])
		}
	}
	for _, op := range []calibration.OpKind{calibration.OpMGet, calibration.OpDel, calibration.OpEvalSHA} {
		if len(keys[op]) < 2 {
			t.Errorf("%s varies no key count: per-key cost cannot be fitted", op)
		}
	}
}

func TestRandomValuesAreSeededAndIncompressible(t *testing.T) {
	a := newBench(&server{addr: "127.0.0.1:1"}, 7, io.Discard)
	b := newBench(&server{addr: "127.0.0.1:1"}, 7, io.Discard)
	defer a.close()
	defer b.close()
	va, vb := a.randomValues(3, 100), b.randomValues(3, 100)
	for i := range va {
		if len(va[i]) != 100 || !bytes.Equal(va[i], vb[i]) {
			t.Fatalf("value %d differs between equal seeds or has the wrong size", i)
		}
	}
	if bytes.Equal(va[0], va[1]) {
		t.Fatal("two values are equal")
	}
	// Random bytes: every byte value appears about equally often.
	v := a.randomValues(1, 1<<16)[0]
	var hist [256]int
	for _, x := range v {
		hist[x]++
	}
	for i, n := range hist {
		if math.Abs(float64(n)-256) > 100 {
			t.Fatalf("byte %d appears %d times in 64 KiB, want about 256", i, n)
		}
	}
}

// A real server: a small used-memory run agrees with the model exactly enough, and a
// BGSAVE reports a fork and a save.
func TestUsedMemoryRunAndBGSave(t *testing.T) {
	bin := needRedis(t)
	ctx := context.Background()
	srv, err := startServer(ctx, bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.stop(); err != nil {
			t.Error(err)
		}
	}()
	b := newBench(srv, 1, io.Discard)
	defer b.close()
	classes, err := b.sizeClasses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := calibration.Calibration{Memory: calibration.RedisMemory(calibration.QuantumFromClasses(classes), 0)}
	r, err := b.usedMemoryRun(ctx, 3000, 64, true)
	if err != nil {
		t.Fatal(err)
	}
	model := float64(c.UsedMemory(r.Keys, r.KeyBytes, r.ValueBytes, r.TTL))
	if got := float64(r.UsedAfterBytes - r.UsedBeforeBytes); math.Abs(got/model-1) > 0.10 {
		t.Fatalf("3000 keys of 64 B with TTL: used %v B, model %v B", got, model)
	}
	s, err := b.bgsave(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.saveNanos <= 0 || s.rdbBytes < 3000*64 {
		t.Fatalf("bgsave = %+v: want a save time and an RDB holding the values", s)
	}
}
