package core

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func newLocal(t *testing.T, opts ...Opt) *Store[[]byte] {
	t.Helper()
	s, err := New[[]byte](nil, BytesCodec{}, append([]Opt{Namespace("spill"), WithStrategy(MemoryOnly)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLocalPutGetDelete(t *testing.T) {
	s := newLocal(t)
	if _, ok := s.Get(3, "a"); ok {
		t.Fatal("hit on empty store")
	}
	s.Put(3, "a", []byte("1"))
	s.Put(3, "b", []byte("2"))
	s.Put(0, "a", []byte("other partition"))
	if v, ok := s.Get(3, "a"); !ok || string(v) != "1" {
		t.Fatalf("Get = %q, %v", v, ok)
	}
	if v, _ := s.Get(0, "a"); string(v) != "other partition" {
		t.Fatalf("partitions are not separate: %q", v)
	}
	s.Put(3, "a", []byte("3"))
	if v, _ := s.Get(3, "a"); string(v) != "3" {
		t.Fatalf("overwrite: %q", v)
	}
	s.Delete(3, "b")
	if s.Len() != 2 || s.PartitionLen(3) != 1 {
		t.Fatalf("Len=%d PartitionLen(3)=%d, want 2 and 1", s.Len(), s.PartitionLen(3))
	}
	if got := fmt.Sprint(s.Partitions()); got != "[0 3]" {
		t.Fatalf("Partitions = %s", got)
	}
	if n := s.Drop(3, 7); n != 1 || s.Len() != 1 {
		t.Fatalf("Drop = %d, Len = %d", n, s.Len())
	}
	st := s.Stats()
	if st.LocalHits != 3 || st.LocalMisses != 1 || st.Dropped != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestNewValidatesOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []Opt
		want string
	}{
		{"zero parallelism", []Opt{SpillParallelism(0)}, "SpillParallelism 0"},
		{"huge batch", []Opt{SpillBatch(100000)}, "SpillBatch 100000"},
		{"negative ttl", []Opt{TTL(-time.Second)}, "TTL -1s must be positive"},
		{"braces in namespace", []Opt{Namespace("a{b}")}, "namespace"},
		{"negative max age", []Opt{MaxAge(-1)}, "MaxAge"},
		{"checkpoint without period", []Opt{WithStrategy(Checkpoint), CheckpointEvery(0)}, "CheckpointEvery"},
		{"no clock", []Opt{WithClock(nil)}, "clock"},
		{"no attempts", []Opt{Retries(0, 0)}, "attempts"},
		{"no namespace", []Opt{Namespace("")}, "Namespace is required"},
		{"huge MaxValueBytes", []Opt{MaxValueBytes(1 << 40)}, "MaxValueBytes"},
		{"wait without timeout", []Opt{WaitReplicas(1, 0)}, "WaitReplicas"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New[[]byte](nil, BytesCodec{}, append([]Opt{Namespace("spill"), WithStrategy(MemoryOnly)}, tc.opts...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	if _, err := New[[]byte](nil, BytesCodec{}); err == nil {
		t.Fatal("nil client accepted for spill-on-revoke")
	}
	if _, err := New[[]byte](nil, nil, Namespace("spill"), WithStrategy(MemoryOnly)); err == nil {
		t.Fatal("nil codec accepted")
	}
}

func TestStrategyNames(t *testing.T) {
	for _, st := range []Strategy{SpillOnRevoke, MemoryOnly, WriteThrough, Checkpoint} {
		got, err := ParseStrategy(st.String())
		if err != nil || got != st {
			t.Fatalf("%v round trip: %v %v", st, got, err)
		}
	}
	if _, err := ParseStrategy("write-back"); err == nil {
		t.Fatal("unknown strategy accepted")
	}
}

func TestMemoryOnlySpillDropsAndReports(t *testing.T) {
	s := newLocal(t)
	for i := 0; i < 10; i++ {
		s.Put(1, fmt.Sprint("k", i), []byte("v"))
	}
	rep, err := s.Spill(context.Background(), 1)
	if err != nil {
		t.Fatalf("memory-only spill returned %v", err)
	}
	if rep.Written != 0 || rep.NotWritten != 10 || rep.Count(ReasonDisabled) != 10 || rep.Dropped != 10 || s.Len() != 0 {
		t.Fatalf("report = %+v, len = %d", rep, s.Len())
	}
}

// TestConcurrentUse exercises every local method from several goroutines under -race.
func TestConcurrentUse(t *testing.T) {
	s := newLocal(t)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				p := int32(i % 7)
				k := fmt.Sprint(g, "-", i%50)
				s.Put(p, k, []byte(k))
				if v, ok := s.Get(p, k); !ok || string(v) != k {
					t.Errorf("Get(%d,%s) = %q, %v", p, k, v, ok)
					return
				}
				if i%500 == 0 {
					s.Drop(int32(10 + g))
					s.Keys(p)
					s.Partitions()
				}
			}
		}()
	}
	wg.Wait()
}

func TestScriptsAreExported(t *testing.T) {
	got := Scripts()
	if len(got) != 2 || got[0].Name != "claim" || got[1].Name != "take" {
		t.Fatalf("Scripts() = %+v", got)
	}
	for _, sc := range got {
		if len(sc.SHA1) != 40 || !strings.Contains(sc.Source, "redis.call") {
			t.Fatalf("script %s: sha %q", sc.Name, sc.SHA1)
		}
	}
}

func TestGetBatch(t *testing.T) {
	s := newLocal(t)
	s.Put(1, "a", []byte("1a"))
	s.Put(2, "a", []byte("2a"))
	s.Put(2, "b", []byte("2b"))
	many := make([]KeyRef, 0, 2*maxBatchLocks)
	for p := range int32(2 * maxBatchLocks) {
		s.Put(p+10, "k", []byte(fmt.Sprint(p+10)))
		many = append(many, KeyRef{Partition: p + 10, Key: "k"})
	}
	tests := []struct {
		name string
		keys []KeyRef
		want []string // "" for not found
	}{
		{name: "empty", keys: nil, want: nil},
		{name: "interleaved partitions", keys: []KeyRef{{2, "b"}, {1, "a"}, {2, "a"}, {1, "b"}, {2, "b"}},
			want: []string{"2b", "1a", "2a", "", "2b"}},
		{name: "unknown partition", keys: []KeyRef{{99, "a"}, {-1, "a"}, {1, "a"}}, want: []string{"", "", "1a"}},
		{name: "more partitions than locks", keys: many, want: func() []string {
			var w []string
			for _, k := range many {
				w = append(w, fmt.Sprint(k.Partition))
			}
			return w
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := s.Stats()
			vals := make([][]byte, len(tc.keys))
			found := make([]bool, len(tc.keys))
			for i := range found {
				found[i], vals[i] = true, []byte("junk")
			}
			hits := s.GetBatch(tc.keys, vals, found)
			wantHits := 0
			for i, w := range tc.want {
				if w != "" {
					wantHits++
				}
				if found[i] != (w != "") || string(vals[i]) != w {
					t.Errorf("key %v: got %q, %v; want %q", tc.keys[i], vals[i], found[i], w)
				}
			}
			after := s.Stats()
			if hits != wantHits || after.LocalHits-before.LocalHits != uint64(wantHits) ||
				after.LocalMisses-before.LocalMisses != uint64(len(tc.keys)-wantHits) {
				t.Fatalf("hits %d, stats %+v → %+v; want %d hits", hits, before, after, wantHits)
			}
		})
	}
}

// TestGetBatchConcurrentWriters: batches in opposite partition orders, with
// writers on the same partitions, must neither deadlock nor race (-race).
func TestGetBatchConcurrentWriters(t *testing.T) {
	s := newLocal(t)
	fwd := []KeyRef{{0, "k"}, {1, "k"}, {2, "k"}, {3, "k"}}
	rev := []KeyRef{{3, "k"}, {2, "k"}, {1, "k"}, {0, "k"}}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vals, found := make([][]byte, 4), make([]bool, 4)
			for i := range 3000 {
				switch g {
				case 0:
					s.GetBatch(fwd, vals, found)
				case 1:
					s.GetBatch(rev, vals, found)
				default:
					s.Put(int32(i%4), "k", []byte{byte(i)})
					if i%100 == 0 {
						s.Drop(int32(i % 4))
					}
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("GetBatch deadlocked")
	}
}
