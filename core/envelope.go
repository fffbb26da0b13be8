package core

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Envelope format, version 1 — what Spillway stores under every spilled key.
//
//	offset  size      field
//	0       1         format version (1)
//	1       1         flags: bits 0-2 compression (0 none, 1 lz4, 2 s2, 3 zstd); bits 3-7 must be zero
//	2       1..10     owner generation, unsigned varint (the consumer-group generation that wrote it)
//	.       1..10     as-of time, signed varint, Unix milliseconds (when the context was last updated)
//	.       1..5      payload length before compression, unsigned varint (≤ MaxValueBytes)
//	.       n         payload: the codec's bytes, compressed as the flags say
//	end-4   4         CRC-32C (Castagnoli) of every preceding byte, big-endian
//
// A payload that does not shrink under the configured compression is stored with
// compression 0, so an envelope is never larger than the raw payload plus its header
// (at most 31 bytes; 12–16 bytes for a typical entry). The checksum turns corrupt
// and truncated values into a decode error instead of a wrong context; the version
// byte lets a later format coexist with this one (a reader discards what it does not
// know, as it discards any undecodable value).
const (
	// EnvelopeVersion is the format version this package writes.
	EnvelopeVersion = 1
	// MaxEnvelopeHeader is the largest header (everything but payload and checksum).
	MaxEnvelopeHeader = 2 + binary.MaxVarintLen64*2 + binary.MaxVarintLen32
	crcLen            = 4
	minEnvelope       = 2 + 1 + 1 + 1 + crcLen
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors returned by DecodeEnvelope. Every undecodable value wraps ErrCorrupt.
var (
	ErrCorrupt     = errors.New("core: corrupt envelope")
	ErrVersion     = fmt.Errorf("%w: unknown format version", ErrCorrupt)
	ErrChecksum    = fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	ErrTruncated   = fmt.Errorf("%w: truncated", ErrCorrupt)
	ErrTooLarge    = fmt.Errorf("%w: payload larger than the limit", ErrCorrupt)
	ErrCompression = fmt.Errorf("%w: bad compressed payload", ErrCorrupt)
)

// Header is the decoded metadata of an envelope.
type Header struct {
	Version     uint8
	Compression Compression
	Generation  int64 // consumer-group generation of the writer (≥ 0)
	AsOfMillis  int64 // Unix milliseconds when the context was last updated
	RawLen      int   // payload length before compression
}

// appendEnvelope appends the envelope of payload to dst. comp is applied when it
// shrinks the payload. scratch is a reusable buffer for the compressor; the grown
// scratch is returned for reuse.
func appendEnvelope(dst []byte, c *compressor, h Header, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, EnvelopeVersion, 0)
	dst = binary.AppendUvarint(dst, uint64(h.Generation))
	dst = binary.AppendVarint(dst, h.AsOfMillis)
	dst = binary.AppendUvarint(dst, uint64(len(payload)))
	used := None
	if h.Compression != None && len(payload) > 0 {
		before := len(dst)
		var ok bool
		dst, ok = c.compress(dst, h.Compression, payload)
		if ok && len(dst)-before < len(payload) {
			used = h.Compression
		} else {
			dst = dst[:before]
		}
	}
	if used == None {
		dst = append(dst, payload...)
	}
	dst[start+1] = byte(used)
	return binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// DecodeEnvelope checks and decodes an envelope, returning its header and the
// uncompressed payload (appended to dst, which may be nil). maxRaw bounds the
// payload length a header may claim, so a corrupt length cannot allocate gigabytes.
//
// Invariants (FuzzDecode): it never panics; any input it accepts re-encodes to a
// value that decodes to the same header and payload.
func DecodeEnvelope(dst, b []byte, maxRaw int) (Header, []byte, error) {
	var h Header
	if len(b) < minEnvelope {
		return h, dst, ErrTruncated
	}
	if b[0] != EnvelopeVersion {
		return h, dst, fmt.Errorf("%w %d", ErrVersion, b[0])
	}
	body, sum := b[:len(b)-crcLen], binary.BigEndian.Uint32(b[len(b)-crcLen:])
	if crc32.Checksum(body, castagnoli) != sum {
		return h, dst, ErrChecksum
	}
	h.Version = b[0]
	flags := b[1]
	if flags&^7 != 0 || Compression(flags) > Zstd {
		return h, dst, fmt.Errorf("%w: flags %#x", ErrCorrupt, flags)
	}
	h.Compression = Compression(flags)
	rest := body[2:]
	gen, n := binary.Uvarint(rest)
	if n <= 0 || gen > 1<<62 {
		return h, dst, fmt.Errorf("%w: generation", ErrCorrupt)
	}
	rest = rest[n:]
	h.Generation = int64(gen)
	asOf, n := binary.Varint(rest)
	if n <= 0 {
		return h, dst, fmt.Errorf("%w: as-of time", ErrCorrupt)
	}
	rest = rest[n:]
	h.AsOfMillis = asOf
	raw, n := binary.Uvarint(rest)
	if n <= 0 {
		return h, dst, fmt.Errorf("%w: length", ErrCorrupt)
	}
	if raw > uint64(maxRaw) {
		return h, dst, ErrTooLarge
	}
	rest = rest[n:]
	h.RawLen = int(raw)
	if h.Compression == None {
		if len(rest) != h.RawLen {
			return h, dst, ErrTruncated
		}
		return h, append(dst, rest...), nil
	}
	out, err := decompress(dst, h.Compression, rest, h.RawLen)
	if err != nil {
		return h, dst, err
	}
	return h, out, nil
}
