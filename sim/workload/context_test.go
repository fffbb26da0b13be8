package workload

import (
	"bytes"
	"errors"
	"testing"

	"github.com/pierrec/lz4/v4"
)

func TestContextRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		k, seq uint32
		size   int
	}{
		{name: "minimum size", k: 12345, seq: 7, size: 8},
		{name: "odd size inside the header", k: 1, seq: 1, size: 13},
		{name: "header only", k: 2, seq: 2, size: 16},
		{name: "one byte of a record", k: 3, seq: 3, size: 17},
		{name: "default 64", k: 99_999_999, seq: 1_000_000, size: 64},
		{name: "seq 0 (state before any message)", k: 0, seq: 0, size: 64},
		{name: "largest seq", k: 4, seq: ^uint32(0), size: 100},
		{name: "large", k: 5, seq: 17, size: 4099},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := AppendContext([]byte("prefix"), tt.k, tt.seq, tt.size)
			if !bytes.HasPrefix(b, []byte("prefix")) || len(b) != len("prefix")+tt.size {
				t.Fatalf("AppendContext gave %d bytes, want prefix + %d", len(b), tt.size)
			}
			b = b[len("prefix"):]
			k, seq, err := DecodeContext(b)
			if err != nil || k != tt.k || seq != tt.seq {
				t.Fatalf("DecodeContext = (%d, %d, %v), want (%d, %d, nil)", k, seq, err, tt.k, tt.seq)
			}
			if seq, err := ContextSeq(b); err != nil || seq != tt.seq {
				t.Fatalf("ContextSeq = (%d, %v), want %d", seq, err, tt.seq)
			}
			// Prefix-stable: a shorter context is a prefix of a longer one.
			if longer := AppendContext(nil, tt.k, tt.seq, tt.size+40); !bytes.HasPrefix(longer, b) {
				t.Fatal("context is not a prefix of the longer context of the same key and seq")
			}
		})
	}
}

func TestContextDiffersByKeyAndSeq(t *testing.T) {
	a := AppendContext(nil, 10, 5, 64)
	if bytes.Equal(a, AppendContext(nil, 10, 6, 64)) || bytes.Equal(a, AppendContext(nil, 11, 5, 64)) {
		t.Fatal("contexts of different (key, seq) are equal")
	}
	if !bytes.Equal(a, AppendContext(nil, 10, 5, 64)) {
		t.Fatal("AppendContext is not deterministic")
	}
}

func TestContextSeqRejects(t *testing.T) {
	good := AppendContext(nil, 77, 1234, 64)
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{name: "nil", b: nil, want: ErrShortContext},
		{name: "seven bytes", b: good[:7], want: ErrShortContext},
		{name: "zeros", b: make([]byte, 64), want: ErrCorruptContext},
		{name: "seq of another message", b: append(append([]byte{}, AppendContext(nil, 77, 1235, 64)[:4]...), good[4:]...), want: ErrCorruptContext},
		{name: "tail of another key", b: append(append([]byte{}, good[:40]...), AppendContext(nil, 78, 1234, 64)[40:]...), want: ErrCorruptContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ContextSeq(tt.b); !errors.Is(err, tt.want) {
				t.Fatalf("ContextSeq error = %v, want %v", err, tt.want)
			}
		})
	}
	// From 32 bytes on, every single-bit corruption is detected (keys chosen to include
	// even per-message counter steps, where a flipped seq bit can leave raw unchanged).
	for _, size := range []int{32, 64, 100} {
		for k := uint32(0); k < 50; k++ {
			ctx := AppendContext(nil, k, 1000+k, size)
			for i := range ctx {
				for bit := range 8 {
					bad := append([]byte{}, ctx...)
					bad[i] ^= 1 << bit
					if _, err := ContextSeq(bad); !errors.Is(err, ErrCorruptContext) {
						t.Fatalf("size %d key %d: flipping bit %d of byte %d: err = %v, want ErrCorruptContext", size, k, bit, i, err)
					}
				}
			}
		}
	}
}

func TestContextAllocs(t *testing.T) {
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = AppendContext(buf[:0], 9, 99, 256) }); n != 0 {
		t.Fatalf("AppendContext allocates %v times with room in dst", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := ContextSeq(buf); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("ContextSeq allocates %v times on success", n)
	}
}

func TestAppendContextPanicsBelowMinimum(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	AppendContext(nil, 1, 1, MinContextBytes-1)
}

// The payload must compress like real metric state: lz4 gains something, never 10x.
// The figures are the block-format ratio over 2000 keys (fewer for large sizes) (compressed size counted as
// size+1 when lz4 gives up, as a store would then keep it raw with a flag byte).
func TestContextCompressionRatio(t *testing.T) {
	tests := []struct {
		name   string
		size   int
		lo, hi float64
	}{
		{name: "32 B does not compress", size: 32, lo: 0.9, hi: 1.0},
		{name: "64 B", size: 64, lo: 1.03, hi: 1.25},
		{name: "100 B", size: 100, lo: 1.12, hi: 1.5},
		{name: "128 B", size: 128, lo: 1.2, hi: 1.6},
		{name: "256 B", size: 256, lo: 1.3, hi: 1.8},
		{name: "1 KiB", size: 1024, lo: 1.4, hi: 2.0},
		{name: "16 KiB", size: 16 << 10, lo: 1.4, hi: 2.0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c lz4.Compressor
			dst := make([]byte, lz4.CompressBlockBound(tt.size))
			var src []byte
			in, out := 0, 0
			keys := uint32(min(2000, (4<<20)/tt.size)) // at most 4 MiB of input
			for k := uint32(0); k < keys; k++ {
				src = AppendContext(src[:0], k*7919, 1+k%500, tt.size)
				n, err := c.CompressBlock(src, dst)
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 || n > tt.size {
					n = tt.size + 1
				} else if k%100 == 0 { // spot-check the round trip
					back := make([]byte, tt.size)
					if m, err := lz4.UncompressBlock(dst[:n], back); err != nil || !bytes.Equal(back[:m], src) {
						t.Fatalf("lz4 round trip failed: %v", err)
					}
				}
				in += tt.size
				out += n
			}
			ratio := float64(in) / float64(out)
			t.Logf("size %d: lz4 ratio %.3f", tt.size, ratio)
			if ratio < tt.lo || ratio > tt.hi {
				t.Fatalf("lz4 ratio at %d bytes = %.3f, want %.2f..%.2f", tt.size, ratio, tt.lo, tt.hi)
			}
		})
	}
}

// FuzzContextSeq: ContextSeq never panics; on success the bytes are exactly what
// AppendContext writes for the decoded (key, seq) at that length; a context AppendContext
// wrote always decodes.
func FuzzContextSeq(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 8))
	f.Add(AppendContext(nil, 1, 2, 8))
	f.Add(AppendContext(nil, 12345, 678, 64))
	f.Add(AppendContext(nil, 3, 4, 100)[:57])
	f.Fuzz(func(t *testing.T, b []byte) {
		seq, err := ContextSeq(b)
		k, seq2, err2 := DecodeContext(b)
		if (err == nil) != (err2 == nil) || seq != seq2 {
			t.Fatalf("ContextSeq (%d, %v) disagrees with DecodeContext (%d, %v)", seq, err, seq2, err2)
		}
		if err != nil {
			if !errors.Is(err, ErrShortContext) && !errors.Is(err, ErrCorruptContext) {
				t.Fatalf("unexpected error %v", err)
			}
			if len(b) >= MinContextBytes {
				if _, _, err := DecodeContext(AppendContext(nil, k, seq, len(b))); err != nil {
					t.Fatalf("a context AppendContext wrote does not decode: %v", err)
				}
			}
			return
		}
		if want := AppendContext(nil, k, seq, len(b)); !bytes.Equal(b, want) {
			t.Fatalf("accepted %x, but AppendContext(%d, %d) writes %x", b, k, seq, want)
		}
	})
}
