package core

import (
	"bytes"
	"testing"
)

func TestCodecs(t *testing.T) {
	type ctx struct {
		Prev float64 `json:"prev"`
		TS   int64   `json:"ts"`
	}
	jc := JSONCodec[ctx]{}
	b, err := jc.Append([]byte("x"), ctx{Prev: 1.5, TS: 7})
	if err != nil || string(b) != `x{"prev":1.5,"ts":7}` {
		t.Fatalf("JSON append = %q, %v", b, err)
	}
	v, err := jc.Decode(b[1:])
	if err != nil || v != (ctx{1.5, 7}) {
		t.Fatalf("JSON decode = %+v, %v", v, err)
	}
	if _, err := jc.Decode([]byte("{")); err == nil {
		t.Fatal("truncated JSON decoded")
	}
	src := []byte("raw")
	out, _ := BytesCodec{}.Decode(src)
	src[0] = 'X'
	if !bytes.Equal(out, []byte("raw")) {
		t.Fatal("BytesCodec.Decode kept a reference to its input")
	}
}
