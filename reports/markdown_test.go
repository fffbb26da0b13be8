package reports

import (
	"bytes"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/spillway-sim/spillway/sim"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ (inspect the diff before committing)")

// firstDiff shows the first differing line of two texts.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + itoa(i+1) + ":\n want: " + wl + "\n  got: " + gl
		}
	}
	return ""
}

func itoa(i int) string { return FormatCount(float64(i)) }

func TestReportSections(t *testing.T) {
	_, res := fixture(t)
	v, err := newView(res)
	if err != nil {
		t.Fatal(err)
	}
	md := string(v.markdown(nil))
	for _, want := range []string{
		"# Spillway report: fixture\n",
		"> Does spilling on revoke keep the context a 4 -> 2 scale-in would lose?",
		"**Expectations: 1 of 4 FAILED**",
		"| `context_loss_ratio` | 10 % | 0 % |",
		"| `redis_rss_peak_bytes` | 10 MiB | 10 MiB |",
		"❌ **FAIL** — run `memory-only`: `context_loss_ratio` = 10 % (0.1), violates max 0.01",
		"✅ pass — run `spill`: `latency_p99` = 2.5 ms, bound max 50ms",
		"| spill | spill-on-revoke | 12.3 ms | 30 s | yes | 30 s (100 %) | 0 |",
		"| memory-only | memory-only | 2 | 1 | 700 | 700 | 0 | 10 % |",
		`redis-0 fork for BGSAVE \| 1 MiB used`,
		"No plottable series in this result.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// TestReportRewrittenCopies: a run whose handoffs found written-through copies
// gone says so, with the advice that fits why they went (eviction, or the node).
func TestReportRewrittenCopies(t *testing.T) {
	for _, tc := range []struct {
		evicted float64
		want    string
	}{
		{0, "Redis had lost **250** copies already written (lost with the node)"},
		{3, "Redis had lost **250** copies already written (evicted)"},
	} {
		_, res := fixture(t)
		r := res.Runs[1] // spill
		r.Summary = append(r.Summary, sim.Metric{Name: "spill_rewritten_keys", Value: 250},
			sim.Metric{Name: "redis_evicted_keys", Value: tc.evicted})
		v, err := newView(res)
		if err != nil {
			t.Fatal(err)
		}
		md := string(v.markdown(nil))
		if !strings.Contains(md, tc.want) {
			t.Errorf("evicted=%v: report lacks %q", tc.evicted, tc.want)
		}
		if strings.Count(md, "copies already written") != 1 {
			t.Errorf("evicted=%v: the note should appear once, for the run that lost copies", tc.evicted)
		}
	}
}

func TestReportEventsTruncated(t *testing.T) {
	_, res := fixture(t)
	var evs []sim.Event
	for i := 0; i < maxEventRows+5; i++ {
		evs = append(evs, sim.Event{At: sim.Duration(time.Duration(i) * time.Second), Kind: "pod", Detail: itoa(i)})
	}
	res.Runs[0].Events = evs
	res.Runs[1].Events = evs[:3]
	v, err := newView(res)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	v.writeEvents(&b)
	out := b.String()
	if got := strings.Count(out, "\n| "); got != maxEventRows {
		t.Errorf("%d event rows, want %d:\n%s", got, maxEventRows, out)
	}
	if !strings.Contains(out, "… and 5 more") {
		t.Errorf("no truncation note:\n%s", out)
	}
	if !strings.Contains(out, "| 0:00.000 | pod | 0 | all |") || !strings.Contains(out, "| 0:03.000 | pod | 3 | memory-only |") {
		t.Errorf("runs column wrong:\n%s", out)
	}
}

func TestClockAndCell(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{name: "zero", got: clock(0), want: "0:00.000"},
		{name: "minutes", got: clock(sim.Duration(10*time.Minute + 3*time.Millisecond)), want: "10:00.003"},
		{name: "hours", got: clock(sim.Duration(time.Hour + 61*time.Second)), want: "1:01:01.000"},
		{name: "pipe", got: cell("a|b\nc"), want: `a\|b c`},
		{name: "plural one", got: plural(1, "pod"), want: "1 pod"},
		{name: "plural many", got: plural(20000, "datapoint"), want: "20,000 datapoints"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestOverrideValueIsYAMLFlow(t *testing.T) {
	got := overrideValue(map[string]any{"timeout": "100ms", "replicas": 1, "list": []any{"3600 1", 2}})
	if want := `{list: [3600 1, 2], replicas: 1, timeout: 100ms}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
