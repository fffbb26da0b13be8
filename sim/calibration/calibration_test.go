package calibration

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDefaultIsAFullValidCalibration(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("shipped calibration invalid: %v", err)
	}
	m := c.Machine
	if m.Quick {
		t.Errorf("shipped calibration was made with -quick: rerun the full calibration")
	}
	if !strings.HasPrefix(m.RedisVersion, "7.") || !strings.HasPrefix(m.MemAllocator, "jemalloc") {
		t.Errorf("redis %q allocator %q: the models are of Redis 7 with jemalloc", m.RedisVersion, m.MemAllocator)
	}
	for name, v := range map[string]string{"date": m.Date, "command": m.Command, "kernel": m.Kernel,
		"transparent_hugepage": m.TransparentHugepage, "cpu_model": m.CPUModel} {
		if v == "" || v == "unknown" {
			t.Errorf("machine.%s = %q, want the measured fact", name, v)
		}
	}
	if len(m.Notes) == 0 {
		t.Error("machine.notes is empty: the noise caveat must travel with the numbers")
	}
	meas := c.Measurements
	if len(meas.UsedMemory) != 10 {
		t.Errorf("%d used-memory runs, want 10 (5 value sizes x TTL or not)", len(meas.UsedMemory))
	}
	for _, r := range meas.UsedMemory {
		if r.Keys != 1_000_000 || r.KeyBytes != 24 {
			t.Errorf("used-memory run has %d keys of %d bytes, want 1000000 of 24", r.Keys, r.KeyBytes)
		}
	}
	withWrites := 0
	for _, r := range meas.COW {
		if r.Writes > 0 {
			withWrites++
		}
	}
	if withWrites < 3 {
		t.Errorf("%d COW runs with writes, want at least 3", withWrites)
	}
	if len(meas.Fork) < 4 || len(meas.Service) < len(OpKinds) || meas.RTT.Samples < 1000 {
		t.Errorf("too few measurements: %d fork, %d service, %d RTT samples", len(meas.Fork), len(meas.Service), meas.RTT.Samples)
	}
}

func TestDefaultReturnsIndependentCopies(t *testing.T) {
	a := Default()
	a.Measurements.UsedMemory[0].Keys = -1
	a.Machine.Notes[0] = "changed"
	b := Default()
	if b.Measurements.UsedMemory[0].Keys == -1 || b.Machine.Notes[0] == "changed" {
		t.Fatal("Default shares slices between calls")
	}
}

func TestJSONRoundTripIsStable(t *testing.T) {
	c := Default()
	var buf bytes.Buffer
	if err := Encode(&buf, c); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), shippedJSON) {
		t.Error("Encode(Default()) differs from the shipped calibration.json: field order or formatting is not stable")
	}
	back, err := Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, c) {
		t.Fatal("Decode(Encode(c)) != c")
	}
}

func TestDecodeRejectsBadInput(t *testing.T) {
	valid := func() string {
		var buf bytes.Buffer
		if err := Encode(&buf, Default()); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}()
	tests := []struct {
		name    string
		json    string
		invalid bool // wraps ErrInvalid (else a decode error)
	}{
		{name: "unknown field", json: strings.Replace(valid, `"memory": {`, `"memory": {"bogus": 1,`, 1)},
		{name: "trailing data", json: valid + "{}"},
		{name: "not json", json: "nope"},
		{name: "quantum 12", json: strings.Replace(valid, `"jemalloc_quantum_bytes": 16`, `"jemalloc_quantum_bytes": 12`, 1), invalid: true},
		{name: "zero rtt", json: replaceField(t, valid, "rtt_ns", "0"), invalid: true},
		{name: "fragmentation below 1", json: replaceField(t, valid, "rss_fragmentation_ratio", "0.5"), invalid: true},
		{name: "zero snapshot rate", json: replaceField(t, valid, "snapshot_bytes_per_sec", "0"), invalid: true},
		{name: "negative touch scale", json: replaceField(t, valid, "touch_scale", "-1"), invalid: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tc.json))
			if err == nil {
				t.Fatal("Decode accepted it")
			}
			if got := errors.Is(err, ErrInvalid); got != tc.invalid {
				t.Fatalf("errors.Is(err, ErrInvalid) = %v, want %v (err: %v)", got, tc.invalid, err)
			}
		})
	}
}

// replaceField sets the first occurrence of "name": <number> in s to value.
func replaceField(t *testing.T, s, name, value string) string {
	t.Helper()
	key := `"` + name + `": `
	i := strings.Index(s, key)
	if i < 0 {
		t.Fatalf("no field %s", name)
	}
	j := i + len(key)
	k := j
	for k < len(s) && strings.ContainsRune("0123456789.-e+", rune(s[k])) {
		k++
	}
	return s[:j] + value + s[k:]
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Calibration)
		ok     bool
	}{
		{name: "shipped", mutate: func(*Calibration) {}, ok: true},
		{name: "initial buckets not a power of two", mutate: func(c *Calibration) { c.Memory.DictInitialBuckets = 3 }},
		{name: "negative baseline", mutate: func(c *Calibration) { c.Memory.BaselineUsedBytes = -1 }},
		{name: "negative per-byte cost", mutate: func(c *Calibration) { c.Latency.MGet.PerByteNanos = -0.1 }},
		{name: "zero page size", mutate: func(c *Calibration) { c.COW.PageSizeBytes = 0 }},
		{name: "negative fork slope", mutate: func(c *Calibration) { c.Fork.NanosPerGiB = -1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.mutate(&c)
			err := c.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}
