package franzgo

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// Last is a series' context: the last sample the consumer applied, and where it
// read it. The offset makes a replay visible: a record at or below it is already
// reflected in the context (see Result.Replayed).
type Last struct {
	Value  uint64 // the counter value
	Offset int64  // the record's offset in its partition
}

// LastCodec encodes a Last as two varints (value, then offset): 2–20 bytes.
type LastCodec struct{}

var errLast = errors.New("franzgo: bad context bytes")

// Append implements core.Codec.
func (LastCodec) Append(dst []byte, v Last) ([]byte, error) {
	dst = binary.AppendUvarint(dst, v.Value)
	return binary.AppendVarint(dst, v.Offset), nil
}

// Decode implements core.Codec. It rejects truncated input, non-minimal varints
// and trailing bytes, so the store counts them as corrupt instead of using them.
func (LastCodec) Decode(b []byte) (Last, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return Last{}, errLast
	}
	off, m := binary.Varint(b[n:])
	if m <= 0 || n+m != len(b) {
		return Last{}, errLast
	}
	var buf [2 * binary.MaxVarintLen64]byte
	if binary.PutUvarint(buf[:], v) != n || binary.PutVarint(buf[:], off) != m {
		return Last{}, errLast
	}
	return Last{Value: v, Offset: off}, nil
}

// AppendSample appends a record value carrying counter value v (decimal ASCII, so
// the topic reads well in any Kafka tool).
func AppendSample(dst []byte, v uint64) []byte { return strconv.AppendUint(dst, v, 10) }

// ParseSample reads a record value written by AppendSample.
func ParseSample(b []byte) (uint64, error) { return strconv.ParseUint(string(b), 10, 64) }
