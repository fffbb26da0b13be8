package core

import (
	"bytes"
	"errors"
	"testing"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	compressible := bytes.Repeat([]byte("cpu.user=0.125 host=web-01 "), 20)
	tests := []struct {
		name     string
		comp     Compression
		payload  []byte
		wantComp Compression // what the envelope ends up using
	}{
		{"none", None, compressible, None},
		{"lz4", LZ4, compressible, LZ4},
		{"s2", S2, compressible, S2},
		{"zstd", Zstd, compressible, Zstd},
		{"lz4 incompressible falls back to none", LZ4, []byte{0x8f, 0x01, 0x7a, 0x33}, None},
		{"empty payload", LZ4, nil, None},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := new(compressor)
			h := Header{Compression: tc.comp, Generation: 42, AsOfMillis: 1767225600123}
			env := appendEnvelope([]byte("prefix"), c, h, tc.payload)
			if !bytes.HasPrefix(env, []byte("prefix")) {
				t.Fatal("appendEnvelope overwrote dst")
			}
			env = env[len("prefix"):]
			got, payload, err := DecodeEnvelope(nil, env, 1<<20)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got.Compression != tc.wantComp || got.Generation != 42 || got.AsOfMillis != h.AsOfMillis ||
				got.RawLen != len(tc.payload) || got.Version != EnvelopeVersion {
				t.Fatalf("header = %+v", got)
			}
			if !bytes.Equal(payload, tc.payload) {
				t.Fatalf("payload = %q, want %q", payload, tc.payload)
			}
			if tc.wantComp != None && len(env) >= len(tc.payload) {
				t.Fatalf("compressed envelope %d bytes is not smaller than payload %d", len(env), len(tc.payload))
			}
			if len(env) > len(tc.payload)+MaxEnvelopeHeader+crcLen {
				t.Fatalf("envelope %d bytes exceeds payload+max header", len(env))
			}
		})
	}
}

func TestEnvelopeRejectsDamage(t *testing.T) {
	good := appendEnvelope(nil, new(compressor), Header{Compression: LZ4, Generation: 7, AsOfMillis: 99},
		bytes.Repeat([]byte("abcd"), 40))
	flip := func(i int) []byte { b := bytes.Clone(good); b[i] ^= 0x40; return b }
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"short", good[:5], ErrTruncated},
		{"truncated tail", good[:len(good)-3], ErrChecksum},
		{"future version", append([]byte{2}, good[1:]...), ErrVersion},
		{"flipped payload bit", flip(len(good) / 2), ErrChecksum},
		{"flipped checksum bit", flip(len(good) - 1), ErrChecksum},
		{"plain string", []byte("hello world, not an envelope"), ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := DecodeEnvelope(nil, tc.in, 1<<20)
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want %v (and ErrCorrupt)", err, tc.want)
			}
		})
	}
	if _, _, err := DecodeEnvelope(nil, good, 10); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("claimed length above the limit: err = %v, want ErrTooLarge", err)
	}
}

// FuzzDecode: DecodeEnvelope never panics, and whatever it accepts re-encodes to
// an envelope that decodes to the same header and payload.
func FuzzDecode(f *testing.F) {
	c := new(compressor)
	for _, comp := range []Compression{None, LZ4, S2, Zstd} {
		f.Add(appendEnvelope(nil, c, Header{Compression: comp, Generation: 3, AsOfMillis: 5}, bytes.Repeat([]byte("xyz"), 30)))
	}
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, payload, err := DecodeEnvelope(nil, b, 1<<16)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		again := appendEnvelope(nil, new(compressor), h, payload)
		h2, p2, err := DecodeEnvelope(nil, again, 1<<16)
		if err != nil || h2.Generation != h.Generation || h2.AsOfMillis != h.AsOfMillis || !bytes.Equal(p2, payload) {
			t.Fatalf("re-encode: %v %+v vs %+v", err, h2, h)
		}
	})
}

// FuzzRoundTrip: every payload and header survives encode→decode under every compression.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("hello"), int64(1), int64(1767225600000), uint8(1))
	f.Add(bytes.Repeat([]byte{0}, 500), int64(0), int64(-5), uint8(3))
	f.Fuzz(func(t *testing.T, payload []byte, gen, asOf int64, comp uint8) {
		if gen < 0 {
			gen = -gen
		}
		if gen < 0 || gen > 1<<62 {
			gen = 1 << 62
		}
		h := Header{Compression: Compression(comp % 4), Generation: gen, AsOfMillis: asOf}
		env := appendEnvelope(nil, new(compressor), h, payload)
		got, p, err := DecodeEnvelope(nil, env, len(payload)+1)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if got.Generation != gen || got.AsOfMillis != asOf || !bytes.Equal(p, payload) {
			t.Fatalf("round trip: %+v %q", got, p)
		}
	})
}
