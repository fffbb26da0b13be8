package core

import (
	"bytes"
	"testing"
)

// TestEncodeEnvelopeParts: EncodeEnvelope's output decodes to the payload, and
// EnvelopeParts splits its length into framing and stored payload: the stored
// payload is the raw one without compression and smaller with lz4 on a
// compressible payload; framing is 2 + the varints + 4.
func TestEncodeEnvelopeParts(t *testing.T) {
	payload := bytes.Repeat([]byte("dp:00012345,"), 20) // 240 bytes, compressible
	tests := []struct {
		name        string
		comp        Compression
		gen, asOf   int64
		wantFraming int
		shrinks     bool
	}{
		{name: "none small gen", comp: None, gen: 3, asOf: 1_700_000_000_000, wantFraming: 2 + 1 + 6 + 2 + 4},
		{name: "lz4", comp: LZ4, gen: 3, asOf: 1_700_000_000_000, wantFraming: 2 + 1 + 6 + 2 + 4, shrinks: true},
		{name: "big gen", comp: None, gen: 300, asOf: 0, wantFraming: 2 + 2 + 1 + 2 + 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := EncodeEnvelope(nil, Header{Compression: tc.comp, Generation: tc.gen, AsOfMillis: tc.asOf}, payload)
			h, got, err := DecodeEnvelope(nil, env, 1<<20)
			if err != nil || !bytes.Equal(got, payload) || h.Generation != tc.gen {
				t.Fatalf("decode: %v, header %+v", err, h)
			}
			framing, stored, ok := EnvelopeParts(env)
			if !ok || framing != tc.wantFraming || framing+stored != len(env) {
				t.Fatalf("parts: framing %d stored %d ok %v, len %d; want framing %d", framing, stored, ok, len(env), tc.wantFraming)
			}
			if tc.shrinks != (stored < len(payload)) {
				t.Fatalf("stored %d of %d raw bytes; shrinks %v", stored, len(payload), tc.shrinks)
			}
		})
	}
	if _, _, ok := EnvelopeParts([]byte{1, 0, 0x80}); ok {
		t.Fatal("a truncated envelope split")
	}
}
