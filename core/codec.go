package core

import "encoding/json"

// Codec turns a context value into bytes and back. Append must not retain dst;
// Decode must not retain b (it is reused) and must return an error, never panic,
// on bytes it does not understand.
type Codec[V any] interface {
	Append(dst []byte, v V) ([]byte, error)
	Decode(b []byte) (V, error)
}

// BytesCodec stores []byte contexts as they are. Decode copies, so the value
// outlives the buffer it came from.
type BytesCodec struct{}

// Append implements Codec.
func (BytesCodec) Append(dst []byte, v []byte) ([]byte, error) { return append(dst, v...), nil }

// Decode implements Codec.
func (BytesCodec) Decode(b []byte) ([]byte, error) { return append([]byte(nil), b...), nil }

// JSONCodec stores contexts as JSON: convenient, larger and slower than a
// hand-written binary codec. Use it to start, then measure.
type JSONCodec[V any] struct{}

// Append implements Codec.
func (JSONCodec[V]) Append(dst []byte, v V) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// Decode implements Codec.
func (JSONCodec[V]) Decode(b []byte) (V, error) {
	var v V
	err := json.Unmarshal(b, &v)
	return v, err
}
