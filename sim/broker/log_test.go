package broker

import (
	"strings"
	"testing"
	"time"
	"unsafe"
)

func TestRecordIs16Bytes(t *testing.T) {
	if got := unsafe.Sizeof(Record{}); got != 16 {
		t.Fatalf("Record is %d bytes, want 16", got)
	}
	if got := unsafe.Sizeof(chunk{}); got != 64<<10 {
		t.Fatalf("chunk is %d bytes, want 64 KiB", got)
	}
}

func TestNewLogPartitionCount(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		wantErr bool
	}{
		{"zero", 0, true},
		{"negative", -3, true},
		{"one", 1, false},
		{"too many", 1<<20 + 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := NewLog(tt.n)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewLog(%d) err = %v, wantErr %v", tt.n, err, tt.wantErr)
			}
			if err == nil && l.Partitions() != tt.n {
				t.Fatalf("Partitions() = %d, want %d", l.Partitions(), tt.n)
			}
		})
	}
}

func fill(t *testing.T, l *Log, p int32, n int) {
	t.Helper()
	for i := range n {
		want := l.HighWatermark(p)
		if off := l.Append(p, Record{Key: uint32(i), Seq: uint32(i * 2), At: time.Duration(i)}); off != want {
			t.Fatalf("Append #%d returned offset %d, want %d", i, off, want)
		}
	}
}

func TestAppendFetchOffsets(t *testing.T) {
	l, _ := NewLog(3)
	fill(t, l, 1, 10000)
	if l.HighWatermark(1) != 10000 || l.HighWatermark(0) != 0 || l.Retained(1) != 10000 {
		t.Fatalf("hwm p1=%d p0=%d retained=%d, want 10000, 0, 10000", l.HighWatermark(1), l.HighWatermark(0), l.Retained(1))
	}
	tests := []struct {
		name      string
		from      int64
		max       int
		wantLen   int
		wantFirst uint32
	}{
		{"head", 0, 500, 500, 0},
		{"stops at a chunk boundary", 4090, 500, 6, 4090},
		{"next chunk", 4096, 10, 10, 4096},
		{"stops at the high watermark", 9995, 500, 5, 9995},
		{"at the high watermark", 10000, 500, 0, 0},
		{"max zero", 5, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := l.Fetch(1, tt.from, tt.max)
			if len(recs) != tt.wantLen {
				t.Fatalf("Fetch(1, %d, %d) returned %d records, want %d", tt.from, tt.max, len(recs), tt.wantLen)
			}
			for i, r := range recs {
				want := uint32(tt.from) + uint32(i)
				if r.Key != want || r.Seq != 2*want || r.At != time.Duration(want) {
					t.Fatalf("record %d = %+v, want key %d", i, r, want)
				}
			}
			if cap(recs) != len(recs) {
				t.Fatalf("view has cap %d > len %d: an append by the caller would overwrite the log", cap(recs), len(recs))
			}
		})
	}
}

// TestFetchLoopReadsEverything reads a partition the way a consumer does,
// batch by batch, and checks no record is skipped or repeated.
func TestFetchLoopReadsEverything(t *testing.T) {
	l, _ := NewLog(1)
	fill(t, l, 0, 3*chunkRecords+17)
	var pos int64
	batches := 0
	for pos < l.HighWatermark(0) {
		recs := l.Fetch(0, pos, 500)
		for i, r := range recs {
			if int64(r.Key) != pos+int64(i) {
				t.Fatalf("record at %d has key %d", pos+int64(i), r.Key)
			}
		}
		pos += int64(len(recs))
		batches++
	}
	// 4096/500 = 8.19 -> 9 batches per chunk, 3 chunks, plus one for the last 17.
	if pos != 3*chunkRecords+17 || batches != 28 {
		t.Fatalf("read %d records in %d batches, want %d in 28", pos, batches, 3*chunkRecords+17)
	}
}

func TestTrimFreesChunksAndKeepsOffsets(t *testing.T) {
	l, _ := NewLog(2)
	fill(t, l, 0, 10000) // chunks: [0,4096) [4096,8192) [8192,12288)
	tests := []struct {
		name       string
		before     int64
		wantStart  int64
		wantChunks int
	}{
		{"inside the first chunk keeps it", 100, 100, 3},
		{"lower is a no-op", 50, 100, 3},
		{"past the first chunk frees it", 5000, 5000, 2},
		{"to the high watermark frees all but the tail chunk", 10000, 10000, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l.Trim(0, tt.before)
			if got := l.StartOffset(0); got != tt.wantStart {
				t.Fatalf("StartOffset = %d, want %d", got, tt.wantStart)
			}
			if got := len(l.parts[0].chunks); got != tt.wantChunks {
				t.Fatalf("%d chunks retained, want %d", got, tt.wantChunks)
			}
			if l.Retained(0) != 10000-tt.wantStart {
				t.Fatalf("Retained = %d, want %d", l.Retained(0), 10000-tt.wantStart)
			}
			if tt.wantStart < 10000 {
				if r := l.Fetch(0, tt.wantStart, 1); len(r) != 1 || int64(r[0].Key) != tt.wantStart {
					t.Fatalf("Fetch at the start offset = %+v, want key %d", r, tt.wantStart)
				}
			}
		})
	}
	// Appends continue at the same absolute offsets after a full trim.
	if off := l.Append(0, Record{Key: 424242}); off != 10000 {
		t.Fatalf("Append after trim returned %d, want 10000", off)
	}
	if r := l.Fetch(0, 10000, 5); len(r) != 1 || r[0].Key != 424242 {
		t.Fatalf("Fetch after trim = %+v", r)
	}
	// Trimming a whole number of chunks, then appending, opens a new chunk.
	fill(t, l, 1, 2*chunkRecords)
	l.Trim(1, 2*chunkRecords)
	if len(l.parts[1].chunks) != 0 {
		t.Fatalf("%d chunks retained after trimming everything, want 0", len(l.parts[1].chunks))
	}
	if off := l.Append(1, Record{Key: 9}); off != 2*chunkRecords || l.Fetch(1, off, 1)[0].Key != 9 {
		t.Fatalf("Append after a full trim returned %d", off)
	}
}

func TestLogInvariantsPanic(t *testing.T) {
	l, _ := NewLog(2)
	fill(t, l, 0, 100)
	l.Trim(0, 40)
	tests := []struct {
		name string
		fn   func()
		want string
	}{
		{"fetch below the start offset", func() { l.Fetch(0, 39, 1) }, "outside the log [start 40, high watermark 100]"},
		{"fetch above the high watermark", func() { l.Fetch(0, 101, 1) }, "outside the log"},
		{"negative max", func() { l.Fetch(0, 50, -1) }, "max -1"},
		{"trim beyond the high watermark", func() { l.Trim(0, 101) }, "beyond the high watermark 100"},
		{"unknown partition", func() { l.Append(2, Record{}) }, "Append on partition 2 of a 2-partition log"},
		{"negative partition", func() { l.HighWatermark(-1) }, "partition -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("no panic")
				}
				if msg, _ := r.(string); !strings.Contains(msg, tt.want) {
					t.Fatalf("panic %q does not contain %q", r, tt.want)
				}
			}()
			tt.fn()
		})
	}
}

// BenchmarkAppendFetch appends and consumes records in batches of 500 with
// retention trimming behind the consumer: ns/op is per record; allocs/op
// shows one 64 KiB chunk per 4096 records.
func BenchmarkAppendFetch(b *testing.B) {
	l, _ := NewLog(1)
	b.ReportAllocs()
	b.SetBytes(16)
	var pos int64
	for i := 0; i < b.N; i++ {
		l.Append(0, Record{Key: uint32(i), At: time.Duration(i)})
		if i%500 == 499 {
			for pos < l.HighWatermark(0) {
				pos += int64(len(l.Fetch(0, pos, 500)))
			}
			l.Trim(0, pos)
		}
	}
}
