package workload

import "testing"

func TestParseKey(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want uint32
		ok   bool
	}{
		{name: "redis key", in: "{spill:3}:dp:00012345", want: 12345, ok: true},
		{name: "record key", in: "dp:00000007", want: 7, ok: true},
		{name: "metadata key", in: "{spill:3}#fence"},
		{name: "series in redis", in: "{spill:3}:dp:00012345.4", want: 12345, ok: true},
		{name: "series", in: "dp:00000009.12", want: 9, ok: true},
		{name: "not a datapoint", in: "{spill:3}:x:12"},
		{name: "no digits", in: "dp:"},
		{name: "trailing junk", in: "dp:12x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := ParseKey(tt.in); got != tt.want || ok != tt.ok {
				t.Errorf("ParseKey(%q) = %d, %v", tt.in, got, ok)
			}
		})
	}
}

// TestKeyRoundTrip: every key made here parses back to its id.
func TestKeyRoundTrip(t *testing.T) {
	for _, k := range []uint32{0, 1, 12345, MaxDatapoints - 1} {
		key := string(appendKey(nil, k))
		for _, s := range []string{key, SeriesKey(key, 4), RedisKey(11, key), RedisKey(0, SeriesKey(key, 0))} {
			if got, ok := ParseKey(s); !ok || got != k {
				t.Errorf("ParseKey(%q) = %d, %v; want %d", s, got, ok, k)
			}
			if s != key && s[0] != 'd' && !IsRedisDataKey(s) {
				t.Errorf("IsRedisDataKey(%q) = false", s)
			}
		}
	}
	if IsRedisDataKey("{spill:3}#manifest") {
		t.Error("a metadata key is a data key")
	}
}

func TestRedisKeyLen(t *testing.T) {
	tests := []struct {
		name       string
		partitions int
		want       int
	}{
		{name: "one partition", partitions: 1, want: len("{spill:0}:dp:00000000")},
		{name: "twelve", partitions: 12, want: len("{spill:11}:dp:00000000")},
		{name: "none", partitions: 0, want: len("{spill:0}:dp:00000000")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RedisKeyLen(tt.partitions); got != tt.want {
				t.Errorf("RedisKeyLen(%d) = %d, want %d", tt.partitions, got, tt.want)
			}
		})
	}
	if got := WideKey(12345, 10); got != "dp:0000012345" {
		t.Errorf("WideKey = %q", got)
	}
}
