package scenarios

import (
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// decodeInto runs the scenario decoder over src into a fresh base scenario.
func decodeInto(t *testing.T, src string) (*Scenario, *decoder) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	s := newBase("t")
	d := newDecoder("t.yaml")
	d.decode(doc.Content[0], reflect.ValueOf(s).Elem(), "")
	return s, d
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{name: "null scalar", src: "log:\n  partitions:\n", want: []string{
			"t.yaml:2: log.partitions: has no value (write one, or remove the line to use the default)"}},
		{name: "duplicate key", src: "seed: 1\nseed: 2\n", want: []string{"t.yaml:2: seed: appears twice (first at line 1)"}},
		{name: "float for int", src: "log: {partitions: 1.5}", want: []string{`t.yaml:1: log.partitions: "1.5" is not a whole number`}},
		{name: "text for bool", src: "log: {static_membership: yes}", want: []string{`log.static_membership: "yes" is not true or false`}},
		{name: "list for struct", src: "log: [1, 2]", want: []string{"log: expected a mapping of fields (key: value), got a list"}},
		{name: "mapping for list", src: "timeline: {at: 1m}", want: []string{"timeline: expected a list, got a mapping"}},
		{name: "negative seed", src: "seed: -1", want: []string{`seed: "-1" must not be negative`}},
		{name: "huge int", src: "log: {partitions: 99999999999999999999}", want: []string{`log.partitions: "99999999999999999999" is out of range`}},
		{name: "nan float", src: "workload: {counter_fraction: .nan}", want: []string{`workload.counter_fraction: ".nan" is not a finite number`}},
		{name: "list for text", src: "state: {strategy: [a]}", want: []string{"state.strategy: expected text, got a list"}},
		{name: "unknown far field lists the valid ones", src: "redis: {persistence: {zzz: 1}}", want: []string{
			"redis.persistence.zzz: unknown field (redis.persistence takes rdb_save, aof, aof_rewrite_percentage, aof_rewrite_min_size, snapshot_rate, bgsave_schedule)"}},
		{name: "unknown top-level field", src: "wrkload: {}", want: []string{"t.yaml:1: wrkload: unknown field (did you mean workload?)"}},
		{name: "non-scalar key", src: "? [a]\n: 1\n", want: []string{"field names must be plain words, got a list"}},
		{name: "set keys twice", src: "variants: [{name: a, set: {x: 1, x: 2}}]", want: []string{"variants[0].set.x: appears twice"}},
		{name: "nan in set value", src: "variants: [{name: a, set: {x: [.nan]}}]", want: []string{`variants[0].set.x[0]: ".nan" is not a finite number`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, d := decodeInto(t, tt.src)
			if len(d.errs) != len(tt.want) {
				t.Fatalf("got %d errors %v, want %d", len(d.errs), d.errs, len(tt.want))
			}
			for i, w := range tt.want {
				if got := d.errs[i].Error(); !strings.Contains(got, w) {
					t.Errorf("error %d = %q, want it to contain %q", i, got, w)
				}
			}
		})
	}
}

func TestDecodeRecordsLines(t *testing.T) {
	src := "version: 1\nredis:\n  persistence:\n    aof: true\ntimeline:\n  - at: 1m\n    pause: {pod: 0, for: 1s}\n"
	_, d := decodeInto(t, src)
	if len(d.errs) > 0 {
		t.Fatal(d.errs)
	}
	want := map[string]int{
		"version": 1, "redis": 2, "redis.persistence": 3, "redis.persistence.aof": 4,
		"timeline": 5, "timeline[0]": 6, "timeline[0].at": 6, "timeline[0].pause": 7, "timeline[0].pause.for": 7,
	}
	for p, l := range want {
		if d.lines[p] != l {
			t.Errorf("line of %s = %d, want %d", p, d.lines[p], l)
		}
	}
}

func TestDecodeNullClearsOptional(t *testing.T) {
	s, d := decodeInto(t, "consumers: {autoscaler: ~}\nredis: {persistence: {rdb_save: ~}}\n")
	if len(d.errs) > 0 || s.Consumers.Autoscaler != nil || s.Redis.Persistence.RDBSave != nil {
		t.Fatalf("got %+v, %v", s.Consumers, d.errs)
	}
}

func TestDecodeAutoscalerGetsDefaults(t *testing.T) {
	s, d := decodeInto(t, "consumers: {autoscaler: {max: 9}}")
	if len(d.errs) > 0 {
		t.Fatal(d.errs)
	}
	want := Autoscaler{Min: 1, Max: 9, TargetCPU: 0.8, Stabilization: Duration(300e9)}
	if *s.Consumers.Autoscaler != want {
		t.Fatalf("autoscaler = %+v, want %+v", *s.Consumers.Autoscaler, want)
	}
}

func TestDecodeAnyNormalises(t *testing.T) {
	src := `variants: [{name: a, set: {
  f: 1e3, g: 1.5, i: 0x10, b: true, n: null, s: "010", ts: 2001-12-14, l: [], m: {k: [1, x]},
  big: 18446744073709551615, y: yes}}]`
	s, d := decodeInto(t, src)
	if len(d.errs) > 0 {
		t.Fatal(d.errs)
	}
	want := map[string]any{
		"f": 1000, "g": 1.5, "i": 16, "b": true, "n": nil, "s": "010", "ts": "2001-12-14", "l": []any{},
		"m": map[string]any{"k": []any{1, "x"}}, "big": uint64(18446744073709551615), "y": "yes",
	}
	if !reflect.DeepEqual(s.Variants[0].Set, want) {
		t.Fatalf("set = %#v\nwant %#v", s.Variants[0].Set, want)
	}
}

func TestDecodeAliasBudget(t *testing.T) {
	// Nine levels of nine-fold aliases would be 9^9 nodes: the budget stops it.
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("a")
		b.WriteString(string(rune('0' + i)))
		b.WriteString(": &a")
		b.WriteString(string(rune('0' + i)))
		b.WriteString(" [")
		for j := 0; j < 9; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(b.String()), &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	d := newDecoder("bomb.yaml")
	budget := maxAnyNodes
	_, ok := d.decodeAny(root.Content[len(root.Content)-1], "v", &budget)
	if ok || len(d.errs) == 0 || !strings.Contains(d.errs[0].Msg, "too large") {
		t.Fatalf("ok = %v, errs = %v", ok, d.errs)
	}
}

func TestFieldPathsAndLookup(t *testing.T) {
	paths := fieldPaths(reflect.TypeFor[Scenario](), "")
	for _, p := range []string{"redis.persistence.aof_rewrite_min_size", "consumers.autoscaler.target_cpu", "timeline", "expect"} {
		if !contains(paths, p) {
			t.Errorf("fieldPaths lacks %s", p)
		}
	}
	if contains(paths, "timeline.at") {
		t.Error("fieldPaths crosses a list")
	}
	s := New("x")
	if _, ok := lookupField(reflect.ValueOf(s).Elem(), "consumers.autoscaler.max", false); ok {
		t.Fatal("lookup without alloc went through a nil pointer")
	}
	f, ok := lookupField(reflect.ValueOf(s).Elem(), "consumers.autoscaler.max", true)
	if !ok || s.Consumers.Autoscaler == nil || s.Consumers.Autoscaler.TargetCPU != 0.8 {
		t.Fatalf("alloc lookup: ok %v, autoscaler %+v", ok, s.Consumers.Autoscaler)
	}
	f.SetInt(7)
	if s.Consumers.Autoscaler.Max != 7 {
		t.Fatal("lookup did not return the field itself")
	}
	if _, ok := lookupField(reflect.ValueOf(s).Elem(), "redis.nope", true); ok {
		t.Fatal("unknown path found")
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{name: "size", v: 3 * GiB, want: "3GiB"},
		{name: "duration", v: Duration(90e9), want: "1m30s"},
		{name: "int", v: 8, want: "8"},
		{name: "string", v: StrategyMemoryOnly, want: "memory-only"},
		{name: "float", v: 0.5, want: "0.5"},
		{name: "nil pointer", v: (*Autoscaler)(nil), want: "null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatValue(reflect.ValueOf(tt.v)); got != tt.want {
				t.Fatalf("formatValue = %q, want %q", got, tt.want)
			}
		})
	}
}
