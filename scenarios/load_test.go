package scenarios

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// head is the two lines every error case starts with; case text begins at line 3.
const head = "version: 1\nworkload: {datapoints: 10}\n"

// checkErrors parses src as t.yaml and asserts the exact error lines.
func checkErrors(t *testing.T, src string, want []string) {
	t.Helper()
	_, err := Parse("t.yaml", []byte(src))
	if err == nil {
		t.Fatalf("Parse accepted:\n%s", src)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("error %v does not match ErrInvalid", err)
	}
	got := strings.Split(err.Error(), "\n")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("errors:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// sameScenario compares two scenarios, ignoring where they were parsed from.
func sameScenario(a, b *Scenario) bool {
	x, y := *a, *b
	x.meta, y.meta = nil, nil
	return reflect.DeepEqual(x, y)
}

func TestParseFileErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{name: "empty", src: "", want: []string{"t.yaml: empty scenario (start with version: 1)"}},
		{name: "comment only", src: "# nothing\n", want: []string{"t.yaml: empty scenario (start with version: 1)"}},
		{name: "not a mapping", src: "- a\n", want: []string{
			"t.yaml:1: a scenario must be a mapping of fields (key: value), got a list"}},
		{name: "syntax", src: "version: 1\nlog: {partitions: 3\n", want: []string{
			"t.yaml:2: invalid YAML: did not find expected ',' or '}'"}},
		{name: "tab indentation", src: "version: 1\nlog:\n\tpartitions: 3\n", want: []string{
			"t.yaml:3: invalid YAML: found character that cannot start any token"}},
		{name: "missing version", src: "workload: {datapoints: 10}\n", want: []string{
			"t.yaml:1: version: missing (write version: 1 as the first line)"}},
		{name: "duration as number", src: head + "consumers:\n  termination_grace: 30\n", want: []string{
			`t.yaml:4: consumers.termination_grace: "30" is not a duration (write e.g. 30s)`}},
		{name: "quoted duration", src: head + "consumers:\n  termination_grace: \"30\"\n", want: []string{
			`t.yaml:4: consumers.termination_grace: "30" is not a duration (write e.g. 30s)`}},
		{name: "block mapping off by one space", src: "version: 1\nlog:\n  partitions: 1\n assignor: range\n", want: []string{
			"t.yaml:4: invalid YAML: did not find expected key"}},
		{name: "unterminated list", src: "version: 1\n\nx: [1, 2\ny: 3\n", want: []string{
			"t.yaml:3: invalid YAML: did not find expected ',' or ']'"}},
		{name: "scanner error", src: "version: 1\na: b: c\n", want: []string{
			"t.yaml:2: invalid YAML: mapping values are not allowed in this context"}},
		{name: "unknown anchor", src: "version: 1\nx: *nope\n", want: []string{
			"t.yaml: invalid YAML: unknown anchor 'nope' referenced"}},
		{name: "two documents", src: "version: 1\n---\nseed: 2\n", want: []string{
			"t.yaml:2: a second YAML document: a scenario file holds exactly one (remove the ---)"}},
		{name: "explicit invalid zero is not defaulted", src: head + "sample_every: 0s\n", want: []string{
			"t.yaml:3: sample_every: must be positive (write e.g. 10s)"}},
		{name: "typo suggests", src: head + "log:\n  partitions: 2\n  asignor: range\n", want: []string{
			"t.yaml:5: log.asignor: unknown field (did you mean assignor?)"}},
		{name: "typo in event", src: head + "timeline:\n  - {at: 1m, scael: 2}\n", want: []string{
			"t.yaml:4: timeline[0].scael: unknown field (did you mean scale?)"}},
		{name: "event without at", src: head + "timeline:\n  - {scale: 2}\n", want: []string{
			"t.yaml:4: timeline[0]: missing at (write e.g. {at: 10m, scale: 3})"}},
		{name: "bad size", src: head + "redis:\n  maxmemory: 3 gigs\n", want: []string{
			`t.yaml:4: redis.maxmemory: "3 gigs" is not a size: unknown unit "gigs" (write e.g. 64MiB, 8GiB or 1048576)`}},
		{name: "decode error hides validation of the same field", src: head + "consumers:\n  autoscaler: {max: x}\n", want: []string{
			`t.yaml:4: consumers.autoscaler.max: "x" is not a whole number`}},
		{name: "several errors sorted by line", src: head + "seed: x\nlog: {assignor: rr}\nduration: 0s\n", want: []string{
			`t.yaml:3: seed: "x" is not a whole number`,
			`t.yaml:4: log.assignor: "rr" is not one of range, round-robin, sticky, cooperative-sticky`,
			"t.yaml:5: duration: must be positive (write e.g. 60m)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErrors(t, tt.src, tt.want) })
	}
}

func TestParseMinimal(t *testing.T) {
	s, err := Load("testdata/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "minimal" || s.Workload.Datapoints != 100 || s.File() != "testdata/minimal.yaml" {
		t.Fatalf("got name %q datapoints %d file %q", s.Name, s.Workload.Datapoints, s.File())
	}
	if s.Line("workload.datapoints") != 4 || s.Line("workload.interval") != 3 || s.Line("redis.rtt") != 0 {
		t.Fatalf("lines: datapoints %d interval %d rtt %d", s.Line("workload.datapoints"), s.Line("workload.interval"),
			s.Line("redis.rtt"))
	}
}

func TestParseFull(t *testing.T) {
	s, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Timeline) != 10 || len(s.Variants) != 2 || len(s.Expect) != 2 || s.Consumers.Autoscaler.Max != 12 {
		t.Fatalf("timeline %d variants %d expect %d", len(s.Timeline), len(s.Variants), len(s.Expect))
	}
	wantActions := []string{ActionScale, ActionCrash, ActionBGSave, ActionRollingRestart, ActionPause,
		ActionRedisDown, ActionRedisNodes, ActionAOFRewrite, ActionLatency, ActionCorrupt}
	for i, e := range s.Timeline {
		if e.Action() != wantActions[i] {
			t.Errorf("timeline[%d] action %q, want %q", i, e.Action(), wantActions[i])
		}
	}
	if got := s.Expect[1].Max.Value; got != float64(7*GiB) {
		t.Fatalf("expect[1].max = %v", got)
	}
}

// TestDesignSampleIsStrict documents the two places where the docs/design.md sample,
// written to show every field, breaks the rules it states.
func TestDesignSampleIsStrict(t *testing.T) {
	_, err := Load("testdata/design-sample.yaml")
	got := FieldErrors(err)
	if len(got) != 2 || got[0].Path != "workload.interval" || got[1].Path != "workload.jitter" {
		t.Fatalf("errors = %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/nope.yaml")
	if err == nil || errors.Is(err, ErrInvalid) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("error = %v", err)
	}
}

func TestNameFromFile(t *testing.T) {
	tests := []struct{ name, file, want string }{
		{name: "yaml", file: "dir/scale-in.yaml", want: "scale-in"},
		{name: "yml", file: "a.yml", want: "a"},
		{name: "no ext", file: "b", want: "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nameFromFile(tt.file); got != tt.want {
				t.Fatalf("nameFromFile(%q) = %q", tt.file, got)
			}
		})
	}
}

func TestResolvedRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.yaml")
	shipped, _ := filepath.Glob("*.yaml")
	for _, f := range append(files, shipped...) {
		if strings.Contains(f, "design-sample") {
			continue
		}
		t.Run(f, func(t *testing.T) {
			s, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			out, err := s.Resolved()
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse("resolved.yaml", out)
			if err != nil {
				t.Fatalf("Resolved does not parse: %v\n%s", err, out)
			}
			if !sameScenario(s, back) {
				t.Fatalf("round trip differs:\n%+v\n%+v", *s, *back)
			}
			again, _ := back.Resolved()
			if string(again) != string(out) {
				t.Fatalf("Resolved is not a fixed point:\n%s\n---\n%s", out, again)
			}
		})
	}
}

func TestResolvedWritesEveryDefault(t *testing.T) {
	s, err := Load("testdata/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, _ := s.Resolved()
	for _, e := range Defaults() {
		leaf := e.Path[strings.LastIndex(e.Path, ".")+1:]
		if strings.HasPrefix(e.Path, "consumers.autoscaler.") || strings.HasPrefix(e.Path, "state.wait_replicas.") || e.Path == "redis.persistence.rdb_save" ||
			e.Path == "redis.mode" || // empty = derived from redis.nodes and the timeline, omitted like an empty list
			strings.HasPrefix(e.Path, "producers.") || contains(streamOnly, e.Path) {
			continue // absent sections, empty lists and a Kafka log's stream settings are omitted
		}
		if !strings.Contains(string(out), "\n"+strings.Repeat(" ", 2*strings.Count(e.Path, "."))+leaf+": ") {
			t.Errorf("Resolved lacks %s:\n%s", e.Path, out)
		}
	}
}

// FuzzParse: Parse never panics; whatever it accepts, Resolved writes as YAML
// that Parse accepts again and that yields the same Scenario.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	shipped, _ := filepath.Glob("*.yaml")
	for _, file := range append(files, shipped...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(head + "variants: [{name: a, set: {consumers.autoscaler: {max: 3}, state.ttl: 1m}}]\n"))
	f.Add([]byte(head + "sweep: {field: state.spill_parallelism, values: [1, 2, 4]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err != nil {
			if len(FieldErrors(err)) == 0 {
				t.Fatalf("error without FieldErrors: %v", err)
			}
			return
		}
		out, err := s.Resolved()
		if err != nil {
			t.Fatalf("Resolved: %v", err)
		}
		back, err := Parse("resolved.yaml", out)
		if err != nil {
			t.Fatalf("Resolved does not parse: %v\n%s", err, out)
		}
		if !sameScenario(s, back) {
			t.Fatalf("round trip differs:\n%s", out)
		}
	})
}

// TestResolvedRoundTripAfterOverrides is a property test: random overrides of
// the fixtures, where valid, still round-trip through Resolved.
func TestResolvedRoundTripAfterOverrides(t *testing.T) {
	pool := map[string][]any{
		"seed":                        {0, 7, uint64(1) << 63},
		"duration":                    {"90m", "1h0m1s", "45m"},
		"workload.interval":           {"10s", "1m30s"},
		"workload.intervals":          {[]any{map[string]any{"fraction": 0.25, "interval": "15s"}, map[string]any{"fraction": 0.75, "interval": "2m"}}},
		"workload.jitter":             {"0s", "1s", "1500ms"},
		"workload.context_bytes":      {100, "1KiB", "2KB"},
		"workload.counter_fraction":   {0, 0.33, 1},
		"log.assignor":                {"cooperative-sticky", "sticky"},
		"log.static_membership":       {true, false},
		"consumers.termination_grace": {"0s", "1m"},
		"consumers.autoscaler":        {nil, map[string]any{"max": 12}},
		"state.ttl":                   {"2m", "1h"},
		"state.ttl_intervals":         {1, 5},
		"state.compression":           {"zstd", "none"},
		"redis.maxmemory":             {0, "1GiB", "1.5GiB", 123456789},
		"redis.persistence.rdb_save":  {[]any{"900 1"}, []any{}},
		"redis.model.page_size":       {"2MiB"},
		"timeline":                    {[]any{map[string]any{"at": "1m", "latency": map[string]any{"add": "1ms", "for": "10s"}}}},
	}
	keys := sortedKeys(pool)
	rng := rand.New(rand.NewPCG(5, 6))
	bases := []*Scenario{mustLoad(t, "testdata/full.yaml"), mustLoad(t, "testdata/minimal.yaml"), mustLoad(t, "testdata/sweep.yaml")}
	valid := 0
	for i := 0; i < 300; i++ {
		set := map[string]any{}
		for n := 1 + rng.IntN(4); n > 0; n-- {
			k := keys[rng.IntN(len(keys))]
			set[k] = pool[k][rng.IntN(len(pool[k]))]
		}
		s, err := bases[i%len(bases)].With(set)
		if err != nil {
			continue
		}
		valid++
		out, err := s.Resolved()
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse("resolved.yaml", out)
		if err != nil {
			t.Fatalf("overrides %v: Resolved does not parse: %v\n%s", set, err, out)
		}
		if !sameScenario(s, back) {
			t.Fatalf("overrides %v: round trip differs:\n%s", set, out)
		}
	}
	if valid < 100 {
		t.Fatalf("only %d of 300 random override sets were valid: the property is barely exercised", valid)
	}
}
