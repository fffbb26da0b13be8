package core

import "encoding/binary"

// EncodeEnvelope appends to dst the envelope a spill writes for payload (the
// codec's bytes) under header h: the same function the spill workers call, so
// its length is the value size Redis stores. h.Compression is applied only when
// it shrinks the payload, as in a spill; h.Version and h.RawLen are ignored.
func EncodeEnvelope(dst []byte, h Header, payload []byte) []byte {
	c := compressorPool.Get().(*compressor)
	defer compressorPool.Put(c)
	return appendEnvelope(dst, c, h, payload)
}

// EnvelopeParts splits an envelope's length into its framing (version, flags,
// the three varints and the checksum) and its stored payload (compressed or
// not), without checking the checksum; ok is false when b is not long enough to
// hold the framing it announces.
func EnvelopeParts(b []byte) (framing, stored int, ok bool) {
	if len(b) < minEnvelope {
		return 0, 0, false
	}
	i := 2
	for range 3 { // generation, as-of time, raw length: varints (the signed one is zigzag, same length rule)
		_, n := binary.Uvarint(b[i:])
		if n <= 0 {
			return 0, 0, false
		}
		i += n
	}
	if i+crcLen > len(b) {
		return 0, 0, false
	}
	return i + crcLen, len(b) - i - crcLen, true
}
