package summary

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestTableIsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range metrics {
		if seen[m.Name] {
			t.Errorf("metric %s is in the table twice", m.Name)
		}
		seen[m.Name] = true
		if m.Value == nil {
			t.Errorf("metric %s has no Value", m.Name)
		}
		if !regexp.MustCompile(`^[a-z0-9_.]+$`).MatchString(m.Name) {
			t.Errorf("metric name %q is not snake_case", m.Name)
		}
	}
	for _, c := range LossCauses {
		if !seen["lost_by_cause."+c] {
			t.Errorf("cause %s has no lost_by_cause metric", c)
		}
	}
	Names()[0] = "changed"
	Metrics()[0].Name = "changed"
	if Names()[0] != "messages" {
		t.Fatal("Names or Metrics returns shared storage")
	}
}

func TestValues(t *testing.T) {
	tot := Totals{Messages: 7, Needed: 3, Lost: 1, LostBy: make([]int64, len(LossCauses)), SpillMax: 1500 * time.Millisecond,
		Latency: func(q float64) time.Duration { return time.Duration(q * float64(time.Second)) }}
	tot.LostBy[1] = 4
	tests := []struct {
		name string
		want float64
	}{
		{"messages", 7},
		{"context_loss_ratio", 0.333333},
		{"lost_by_cause.grace_overrun", 4},
		{"spill_duration_max", 1.5},
		{"latency_p99", 0.99},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := Lookup(tt.name)
			if !ok {
				t.Fatalf("Lookup(%q) found nothing", tt.name)
			}
			if got := m.Value(&tot); got != tt.want {
				t.Fatalf("%s = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
	if m, _ := Lookup("context_loss_ratio"); m.Value(&Totals{}) != 0 {
		t.Fatal("context_loss_ratio of an empty run is not 0")
	}
	if _, ok := Lookup("nope"); ok {
		t.Fatal("Lookup found an unknown metric")
	}
}

// TestDocsListEveryMetric keeps docs/scenarios.md ("Metrics you can bound")
// listing the table's metrics, in its order (of first mention), with lost_by_cause.* written once as
// lost_by_cause.<cause>: a new metric is a row here and a name there.
func TestDocsListEveryMetric(t *testing.T) {
	data, err := os.ReadFile("../docs/scenarios.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i := strings.Index(text, "## Metrics you can bound")
	if i < 0 {
		t.Fatal("docs/scenarios.md has no section \"Metrics you can bound\"")
	}
	text = text[i:]
	para := paragraph(text, "The summary metrics")
	var docs []string // in order of first mention (a description may name another metric again)
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile("`([a-z0-9_.<>]+)`").FindAllStringSubmatch(para, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			docs = append(docs, m[1])
		}
	}
	var table []string
	for _, n := range Names() {
		if strings.HasPrefix(n, "lost_by_cause.") {
			n = "lost_by_cause.<cause>"
			if len(table) > 0 && table[len(table)-1] == n {
				continue
			}
		}
		table = append(table, n)
	}
	if !reflect.DeepEqual(docs, table) {
		t.Fatalf("docs/scenarios.md lists\n%v\nthe table (summary.Metrics) has\n%v", docs, table)
	}
	// Every cause is named in the paragraph after the list.
	causes := paragraph(text, "Causes:")
	for _, c := range LossCauses {
		if !strings.Contains(causes, "`"+c+"`") {
			t.Errorf("docs/scenarios.md does not describe the cause %s", c)
		}
	}
}

// paragraph returns the paragraph of text that starts with start, "" if none.
func paragraph(text, start string) string {
	i := strings.Index(text, "\n"+start)
	if i < 0 {
		return ""
	}
	p := text[i+1:]
	if j := strings.Index(p, "\n\n"); j >= 0 {
		p = p[:j]
	}
	return p
}
