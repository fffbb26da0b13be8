package core

import (
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Compression selects how envelope payloads are compressed.
type Compression uint8

// Compression codecs. Each is applied per entry and only kept when it shrinks the
// payload (small contexts often do not shrink: measure with BenchmarkCompression).
const (
	None Compression = iota // store the codec's bytes as they are
	LZ4                     // LZ4 block format (github.com/pierrec/lz4/v4), the default
	S2                      // S2, a Snappy extension (github.com/klauspost/compress/s2)
	Zstd                    // Zstandard at the default level (github.com/klauspost/compress/zstd)
)

var compressionNames = [...]string{"none", "lz4", "s2", "zstd"}

// String returns the name used in scenarios and options: none, lz4, s2, zstd.
func (c Compression) String() string {
	if int(c) < len(compressionNames) {
		return compressionNames[c]
	}
	return fmt.Sprintf("compression(%d)", uint8(c))
}

// ParseCompression maps none, lz4, s2 (or snappy) and zstd to a Compression.
func ParseCompression(s string) (Compression, error) {
	switch s {
	case "none", "":
		return None, nil
	case "lz4":
		return LZ4, nil
	case "s2", "snappy":
		return S2, nil
	case "zstd":
		return Zstd, nil
	}
	return None, fmt.Errorf("core: unknown compression %q (want none, lz4, s2 or zstd)", s)
}

// compressor holds per-goroutine compression state (the lz4 hash table). It is not
// safe for concurrent use; each spill worker has its own.
type compressor struct {
	lz4 lz4.Compressor
}

var compressorPool = sync.Pool{New: func() any { return new(compressor) }}

var (
	zstdOnce sync.Once
	zstdEnc  *zstd.Encoder
	zstdDec  *zstd.Decoder
)

func zstdCodecs() (*zstd.Encoder, *zstd.Decoder) {
	zstdOnce.Do(func() {
		var err error
		// EncodeAll and DecodeAll are safe for concurrent use.
		zstdEnc, err = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		if err != nil {
			panic(fmt.Sprintf("core: zstd encoder: %v", err))
		}
		// DecodeAllCapLimit: DecodeAll writes at most cap(dst)-len(dst) bytes, and
		// decompress gives it exactly the declared length (MaxValueBytes bounds it).
		zstdDec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(MaxValueLimit),
			zstd.WithDecodeAllCapLimit(true))
		if err != nil {
			panic(fmt.Sprintf("core: zstd decoder: %v", err))
		}
	})
	return zstdEnc, zstdDec
}

// compress appends the compressed src to dst. ok is false when the codec could
// not produce output (the caller then stores src uncompressed).
func (c *compressor) compress(dst []byte, comp Compression, src []byte) ([]byte, bool) {
	switch comp {
	case LZ4:
		bound := lz4.CompressBlockBound(len(src))
		dst = grow(dst, bound)
		n, err := c.lz4.CompressBlock(src, dst[len(dst):len(dst)+bound])
		if err != nil || n == 0 {
			return dst, false
		}
		return dst[:len(dst)+n], true
	case S2:
		bound := s2.MaxEncodedLen(len(src))
		if bound < 0 {
			return dst, false
		}
		dst = grow(dst, bound)
		out := s2.Encode(dst[len(dst):len(dst)+bound], src)
		return dst[:len(dst)+len(out)], true
	case Zstd:
		enc, _ := zstdCodecs()
		return enc.EncodeAll(src, dst), true
	}
	return dst, false
}

// lz4MaxRatio bounds how much an LZ4 block can expand (a match of 255+ bytes
// costs at least one byte per 255): a header claiming more than this for its
// payload is corrupt, and is refused before anything is allocated.
const lz4MaxRatio = 255

// decompress appends the rawLen bytes that src decompresses to onto dst. It
// allocates no more than rawLen, and only once the compressed bytes could hold it.
func decompress(dst []byte, comp Compression, src []byte, rawLen int) ([]byte, error) {
	start := len(dst)
	switch comp {
	case LZ4:
		if rawLen > lz4MaxRatio*len(src)+16 {
			return dst, ErrCompression
		}
		dst = grow(dst, rawLen)
		n, err := lz4.UncompressBlock(src, dst[start:start+rawLen])
		if err != nil || n != rawLen {
			return dst[:start], ErrCompression
		}
		return dst[:start+rawLen], nil
	case S2:
		n, err := s2.DecodedLen(src)
		if err != nil || n != rawLen {
			return dst[:start], ErrCompression
		}
		dst = grow(dst, rawLen)
		out, err := s2.Decode(dst[start:start+rawLen], src)
		if err != nil || len(out) != rawLen {
			return dst[:start], ErrCompression
		}
		return dst[:start+rawLen], nil
	case Zstd:
		var zh zstd.Header
		if err := zh.Decode(src); err != nil || zh.HasFCS && zh.FrameContentSize != uint64(rawLen) {
			return dst[:start], ErrCompression
		}
		// The output buffer starts small and doubles up to rawLen only while the
		// frame really produces more: a forged header cannot make it allocate more
		// than twice what the frame decompresses to, nor more than rawLen.
		_, dec := zstdCodecs()
		for c := min(rawLen, 64<<10); ; c = min(2*c, rawLen) {
			buf := make([]byte, start, start+c)
			copy(buf, dst)
			out, err := dec.DecodeAll(src, buf)
			if err == nil && len(out)-start == rawLen {
				return out, nil
			}
			if err == nil || c == rawLen || !errors.Is(err, zstd.ErrDecoderSizeExceeded) {
				return dst[:start], ErrCompression
			}
		}
	}
	return dst[:start], ErrCompression
}

// grow makes room for n more bytes after len(b) without changing len(b).
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), len(b)+n+len(b)/4)
	copy(nb, b)
	return nb
}
