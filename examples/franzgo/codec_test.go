package franzgo

import (
	"math"
	"testing"
)

func TestFranzGoLastCodec(t *testing.T) {
	tests := []struct {
		name string
		v    Last
	}{
		{name: "zero", v: Last{}},
		{name: "first", v: Last{Value: 1, Offset: 0}},
		{name: "large", v: Last{Value: math.MaxUint64, Offset: math.MaxInt64}},
		{name: "negative offset", v: Last{Value: 7, Offset: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := LastCodec{}.Append(nil, tt.v)
			if err != nil {
				t.Fatal(err)
			}
			got, err := LastCodec{}.Decode(b)
			if err != nil || got != tt.v {
				t.Fatalf("Decode(Append(%+v)) = %+v, %v", tt.v, got, err)
			}
			if _, err := (LastCodec{}).Decode(b[:len(b)-1]); err == nil {
				t.Errorf("truncated %x decoded", b[:len(b)-1])
			}
			if _, err := (LastCodec{}).Decode(append(b, 0)); err == nil {
				t.Errorf("trailing byte %x decoded", append(b, 0))
			}
		})
	}
}

// FuzzFranzGoLastCodec: Decode never panics, and whatever it accepts re-encodes to
// the same bytes (one encoding per value).
func FuzzFranzGoLastCodec(f *testing.F) {
	f.Add([]byte{1, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := LastCodec{}.Decode(b)
		if err != nil {
			return
		}
		re, _ := LastCodec{}.Append(nil, v)
		if string(re) != string(b) {
			t.Fatalf("Decode(%x) = %+v re-encodes to %x", b, v, re)
		}
	})
}

func TestFranzGoSample(t *testing.T) {
	for _, v := range []uint64{0, 1, 42, math.MaxUint64} {
		got, err := ParseSample(AppendSample(nil, v))
		if err != nil || got != v {
			t.Errorf("ParseSample(AppendSample(%d)) = %d, %v", v, got, err)
		}
	}
	if _, err := ParseSample([]byte("x")); err == nil {
		t.Error(`ParseSample("x") succeeded`)
	}
}
