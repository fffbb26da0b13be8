package calibration

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func validCase() FidelityCase {
	return FidelityCase{Name: "bgsave/1GiB/hot/5000", Kind: KindBGSave, Pattern: PatternHot, HotKeyFraction: 0.01,
		HotWriteFraction: 0.9, Keys: 1000, Partitions: 24, ContextBytes: 256, ValueBytes: 269, TargetWritesPerSec: 5000,
		Writes: 10_000, UsedBytes: 1 << 20, ForkUsec: 100, ChildNanos: 2e9, COWBytes: 1 << 19}
}

func TestShippedFidelityDecodes(t *testing.T) {
	f := DefaultFidelity()
	if len(f.Cases) == 0 {
		t.Fatal("no cases")
	}
	var buf bytes.Buffer
	if err := EncodeFidelity(&buf, f); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), shippedFidelityJSON) {
		t.Fatal("fidelity.json is not in EncodeFidelity's form (field order, indentation)")
	}
}

func TestFidelityValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*FidelityCase)
		want   string
	}{
		{name: "valid", change: func(*FidelityCase) {}},
		{name: "kind", change: func(c *FidelityCase) { c.Kind = "save" }, want: "kind"},
		{name: "pattern", change: func(c *FidelityCase) { c.Pattern = "zipf" }, want: "pattern"},
		{name: "hot without fractions", change: func(c *FidelityCase) { c.HotKeyFraction = 0 }, want: "hot"},
		{name: "no keys", change: func(c *FidelityCase) { c.Keys = 0 }, want: "keys"},
		{name: "value shorter than the context", change: func(c *FidelityCase) { c.ValueBytes = 10 }, want: "value_bytes"},
		{name: "child never ran", change: func(c *FidelityCase) { c.ChildNanos = 0 }, want: "child_ns"},
		{name: "name of another kind", change: func(c *FidelityCase) { c.Name = "aof-rewrite/x" }, want: "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validCase()
			tt.change(&c)
			err := Fidelity{Cases: []FidelityCase{c}}.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
	c := validCase()
	if err := (Fidelity{Cases: []FidelityCase{c, c}}).Validate(); err == nil {
		t.Fatal("a repeated name was accepted")
	}
}

func TestFidelityHotKeysAndRate(t *testing.T) {
	c := validCase()
	if HotStride(0.01) != 100 || HotStride(0.3) != 3 || HotStride(1) != 1 {
		t.Fatalf("strides %d %d %d", HotStride(0.01), HotStride(0.3), HotStride(1))
	}
	if !c.IsHot(200) || c.IsHot(201) {
		t.Fatal("IsHot: want ids divisible by 100")
	}
	c.Pattern = PatternUniform
	if c.IsHot(200) {
		t.Fatal("a uniform case has hot keys")
	}
	if r := c.WritesPerSec(); r != 5000 {
		t.Fatalf("writes/s %v, want 5000", r)
	}
	if _, err := DecodeFidelity(strings.NewReader(`{"cases": [], "extra": 1}`)); err == nil {
		t.Fatal("an unknown field was accepted")
	}
}
