package core

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/pierrec/lz4/v4"
)

// lz4Reference is pierrec's block compressor, with the destination compress gives.
func lz4Reference(src []byte) []byte {
	var c lz4.Compressor
	dst := make([]byte, lz4.CompressBlockBound(len(src)))
	n, err := c.CompressBlock(src, dst)
	if err != nil {
		panic(err)
	}
	return dst[:n]
}

func lz4SmallOf(t *lz4Small, src []byte) []byte {
	dst := make([]byte, lz4.CompressBlockBound(len(src)))
	return dst[:t.compress(src, dst)]
}

// TestLZ4SmallMatchesPierrec: the small-payload compressor writes exactly the
// block pierrec's writes, for every length up to lz4SmallMax and inputs from
// incompressible to runs, reusing one table across calls (as a spill worker does),
// and its blocks decode to the input.
func TestLZ4SmallMatchesPierrec(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 4))
	var tab lz4Small
	kinds := []struct {
		name string
		fill func(b []byte)
	}{
		{"random", func(b []byte) {
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
		}},
		{"4-letters", func(b []byte) {
			for i := range b {
				b[i] = "abcd"[rng.IntN(4)]
			}
		}},
		{"runs", func(b []byte) {
			for i := 0; i < len(b); {
				c, n := byte(rng.IntN(3)), 1+rng.IntN(300)
				for ; n > 0 && i < len(b); n-- {
					b[i] = c
					i++
				}
			}
		}},
		{"context", func(b []byte) {
			s := []byte(fmt.Sprintf("prev=%016d|ts=1767225600|dp=%08d|host=w%03d|region=eu-1|", rng.IntN(1e9)*7919, rng.IntN(1e8), rng.IntN(512)))
			for i := range b {
				b[i] = s[i%len(s)]
			}
		}},
	}
	for n := 0; n <= lz4SmallMax; n++ {
		for _, k := range kinds {
			src := make([]byte, n)
			k.fill(src)
			got, want := lz4SmallOf(&tab, src), lz4Reference(src)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s, %d bytes: got %x, want %x", k.name, n, got, want)
			}
			back := make([]byte, n)
			if m, err := lz4.UncompressBlock(got, back); err != nil || m != n || !bytes.Equal(back, src) {
				t.Fatalf("%s, %d bytes: decodes to %d bytes, %v", k.name, n, m, err)
			}
		}
	}
}

// TestLZ4SmallStampWraps: when the call stamp wraps, entries of old calls are
// cleared rather than taken for current ones.
func TestLZ4SmallStampWraps(t *testing.T) {
	var tab lz4Small
	src := bytes.Repeat([]byte("abcdefgh"), 20)
	lz4SmallOf(&tab, src)
	tab.call = ^uint32(0) - 1 // the entries above now carry a stamp the wrap would reuse
	for i := range tab.slots {
		if tab.slots[i].call != 0 {
			tab.slots[i].call = 1
		}
	}
	other := []byte("0123456789abcdefghijklmnopqrstuvwxyz0123456789")
	for range 3 {
		if got, want := lz4SmallOf(&tab, other), lz4Reference(other); !bytes.Equal(got, want) {
			t.Fatalf("after the wrap: got %x, want %x", got, want)
		}
	}
}

// FuzzLZ4Small: for any input up to lz4SmallMax, the block equals pierrec's.
func FuzzLZ4Small(f *testing.F) {
	f.Add([]byte("prev=0000000000007919|ts=1767225600|dp=00000001|host=w001|region=eu-1|"))
	f.Add(bytes.Repeat([]byte{0}, 100))
	var tab lz4Small
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > lz4SmallMax {
			src = src[:lz4SmallMax]
		}
		if got, want := lz4SmallOf(&tab, src), lz4Reference(src); !bytes.Equal(got, want) {
			t.Fatalf("%x: got %x, want %x", src, got, want)
		}
	})
}

func BenchmarkLZ4Context(b *testing.B) {
	vals := make([][]byte, 4096)
	for i := range vals {
		vals[i] = []byte(fmt.Sprintf("prev=%016d|ts=1767225600|dp=%08d|host=w%03d|region=eu-1|", i*7919, i, i%512)[:64])
	}
	dst := make([]byte, lz4.CompressBlockBound(64))
	b.Run("pierrec", func(b *testing.B) {
		var c lz4.Compressor
		for b.Loop() {
			for _, v := range vals {
				_, _ = c.CompressBlock(v, dst)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(vals)), "ns/value")
	})
	b.Run("small", func(b *testing.B) {
		var tab lz4Small
		for b.Loop() {
			for _, v := range vals {
				tab.compress(v, dst)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(vals)), "ns/value")
	})
}
