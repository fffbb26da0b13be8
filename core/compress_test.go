package core

import (
	"bytes"
	"testing"
)

func TestCompressionNames(t *testing.T) {
	for _, c := range []Compression{None, LZ4, S2, Zstd} {
		got, err := ParseCompression(c.String())
		if err != nil || got != c {
			t.Fatalf("%v: parse(%q) = %v, %v", c, c.String(), got, err)
		}
	}
	if c, _ := ParseCompression("snappy"); c != S2 {
		t.Fatalf("snappy = %v, want s2", c)
	}
	if _, err := ParseCompression("gzip"); err == nil {
		t.Fatal("gzip accepted")
	}
}

func TestCompressDecompress(t *testing.T) {
	src := bytes.Repeat([]byte("counter prev=1234.5 ts=1767225600 "), 30)
	for _, comp := range []Compression{LZ4, S2, Zstd} {
		t.Run(comp.String(), func(t *testing.T) {
			out, ok := new(compressor).compress([]byte("keep"), comp, src)
			if !ok || !bytes.HasPrefix(out, []byte("keep")) {
				t.Fatalf("compress ok=%v", ok)
			}
			if len(out)-4 >= len(src)/3 {
				t.Fatalf("%d bytes compressed to %d: expected at least 3x on repetitive text", len(src), len(out)-4)
			}
			back, err := decompress([]byte("x"), comp, out[4:], len(src))
			if err != nil || !bytes.Equal(back[1:], src) || back[0] != 'x' {
				t.Fatalf("decompress: %v", err)
			}
			if _, err := decompress(nil, comp, out[4:], len(src)+1); err == nil {
				t.Fatal("wrong raw length accepted")
			}
		})
	}
}
