package workload

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

const (
	contextHeaderBytes = 16
	contextRecordBytes = 16
)

// Errors returned by ContextSeq and DecodeContext.
var (
	// ErrShortContext: the payload is shorter than the 8-byte seq+key prefix.
	ErrShortContext = errors.New("workload: context shorter than 8 bytes")
	// ErrCorruptContext: the payload is not what AppendContext writes for its seq and key.
	ErrCorruptContext = errors.New("workload: corrupt context")
)

// AppendContext appends the context of key k as of message seq — what a consumer holds
// after processing message seq and what message seq+1 needs — exactly size bytes. size
// below MinContextBytes is a caller bug and panics. It does not allocate when dst has
// size bytes of spare capacity.
//
// Layout (integers little-endian): a 16-byte header, then 16-byte sample records,
// newest first, repeated until size and cut there. The layout is prefix-stable: a
// context of n bytes is the first n bytes of any longer one of the same key and seq.
//
//	off len header
//	  0   4 seq      uint32  the message this context follows
//	  4   4 key      uint32  datapoint id
//	  8   8 raw      float64 counter reading at seq (a wrapping 32-bit counter)
//	record r (r = 0, 1, ...) at 16+16r, describing reading seq-r:
//	  0   2 source   uint16  small per-key id (key % 997)
//	  2   1 kind     uint8   1 = counter
//	  3   1 flags    uint8   0
//	  4   4 unit     "octs"
//	  8   4 delta    uint32  increase since the previous reading (20 noisy bits)
//	 12   4 dt_us    uint32  microseconds since the previous reading (59-61 s, noisy)
//
// The labels repeat in every record and the noisy numbers do not, so the bytes are
// semi-compressible like real metric state. lz4 block compression (pierrec/lz4/v4
// CompressBlock, 2000 keys, asserted in the tests): 64 B -> 1.08x, 100 B -> 1.19x,
// 128 B -> 1.30x, 256 B -> 1.45x, 1 KiB -> 1.64x, 16 KiB -> 1.78x; 32 B and less do not
// compress. Every byte is a pure function of (key, seq, offset) — not of the run's seed —
// so a decoder can check the whole payload, not just read the seq.
func AppendContext(dst []byte, k, seq uint32, size int) []byte {
	if size < MinContextBytes {
		panic(fmt.Sprintf("workload: AppendContext size %d below %d", size, MinContextBytes))
	}
	h := contextHeader(k, seq)
	if size <= contextHeaderBytes {
		return append(dst, h[:size]...)
	}
	dst = append(dst, h[:]...)
	size -= contextHeaderBytes
	for r := uint32(0); size > 0; r++ {
		rec := contextRecord(k, seq, r)
		n := min(size, contextRecordBytes)
		dst = append(dst, rec[:n]...)
		size -= n
	}
	return dst
}

// ContextSeq returns the seq a context written by AppendContext encodes. It checks every
// byte and returns ErrShortContext or ErrCorruptContext (wrapped) for anything else.
// It never panics and does not allocate on success.
func ContextSeq(b []byte) (uint32, error) {
	_, seq, err := DecodeContext(b)
	return seq, err
}

// DecodeContext returns the key and seq a context written by AppendContext encodes,
// after checking every byte against them. Invariants (fuzzed): it never panics; on
// success AppendContext(nil, k, seq, len(b)) equals b; any payload shorter than 8 bytes
// is ErrShortContext; any other mismatch is ErrCorruptContext. The check is only as
// strong as the payload: 8 bytes are just seq and key, so every 8-byte payload decodes;
// from 32 bytes (header and one whole record, which holds 41 bits derived from a hash of
// key and seq) a changed byte goes undetected only with negligible probability.
func DecodeContext(b []byte) (k, seq uint32, err error) {
	if len(b) < MinContextBytes {
		return 0, 0, fmt.Errorf("%w: %d bytes", ErrShortContext, len(b))
	}
	seq = binary.LittleEndian.Uint32(b[0:])
	k = binary.LittleEndian.Uint32(b[4:])
	h := contextHeader(k, seq)
	n := min(len(b), contextHeaderBytes)
	if string(b[:n]) != string(h[:n]) {
		return 0, 0, fmt.Errorf("%w: header of key %d seq %d", ErrCorruptContext, k, seq)
	}
	for r, off := uint32(0), contextHeaderBytes; off < len(b); r, off = r+1, off+contextRecordBytes {
		rec := contextRecord(k, seq, r)
		n := min(len(b)-off, contextRecordBytes)
		if string(b[off:off+n]) != string(rec[:n]) {
			return 0, 0, fmt.Errorf("%w: record %d of key %d seq %d", ErrCorruptContext, r, k, seq)
		}
	}
	return k, seq, nil
}

// contextSeed separates the context's hashes from the schedule's; it is a constant so
// that a context's bytes depend only on (key, seq), not on the run's seed.
const contextSeed = 0xc0e7e47a11d5eed5

// counter32 is the synthetic 32-bit counter reading of key k at message seq.
func counter32(k, seq uint32) uint32 {
	start := uint32(uniform(contextSeed, uint64(k), 1<<32))
	perMessage := uint32(uniform(contextSeed+1, uint64(k), 1<<20)) + 1
	return start + seq*perMessage // wraps, as a Counter32 does
}

func contextHeader(k, seq uint32) [contextHeaderBytes]byte {
	var h [contextHeaderBytes]byte
	binary.LittleEndian.PutUint32(h[0:], seq)
	binary.LittleEndian.PutUint32(h[4:], k)
	binary.LittleEndian.PutUint64(h[8:], math.Float64bits(float64(counter32(k, seq))))
	return h
}

func contextRecord(k, seq, r uint32) [contextRecordBytes]byte {
	var rec [contextRecordBytes]byte
	reading := uint64(seq - r) // wraps below 0 like the counter; still a distinct input
	noise := splitmix(uint64(k)<<32 ^ reading ^ contextSeed)
	binary.LittleEndian.PutUint16(rec[0:], uint16(k%997))
	rec[2] = 1 // kind: counter
	rec[3] = 0 // flags
	copy(rec[4:8], "octs")
	binary.LittleEndian.PutUint32(rec[8:], uint32(noise)&(1<<20-1))
	binary.LittleEndian.PutUint32(rec[12:], 59_000_000+uint32((noise>>32)%2_000_000))
	return rec
}
