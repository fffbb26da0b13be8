package promstore

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/spillway-sim/spillway/core"
)

// fixedSource is a StatsSource with set values that counts how often it is read.
type fixedSource struct {
	stats      core.Stats
	entries    int
	statsCalls int
	lenCalls   int
}

func (f *fixedSource) Stats() core.Stats { f.statsCalls++; return f.stats }
func (f *fixedSource) Len() int          { f.lenCalls++; return f.entries }

func TestStatsCollector(t *testing.T) {
	tests := []struct {
		name string
		src  fixedSource
		opts []Option
		want string
	}{
		{
			name: "zero store",
			want: `# HELP spillway_local_hits_total Get calls that found the key in memory.
# TYPE spillway_local_hits_total counter
spillway_local_hits_total 0
# HELP spillway_local_misses_total Get calls that did not find the key in memory.
# TYPE spillway_local_misses_total counter
spillway_local_misses_total 0
# HELP spillway_entries Entries in memory.
# TYPE spillway_entries gauge
spillway_entries 0
`,
		},
		{
			name: "values, namespace and labels; other stats not exported",
			src: fixedSource{stats: core.Stats{LocalHits: 9000, LocalMisses: 12, Restored: 5, SpilledKeys: 7},
				entries: 4321},
			opts: []Option{Namespace("acme"), ConstLabels(prometheus.Labels{"store": "rates"}), DurationBuckets(1)},
			want: `# HELP acme_local_hits_total Get calls that found the key in memory.
# TYPE acme_local_hits_total counter
acme_local_hits_total{store="rates"} 9000
# HELP acme_local_misses_total Get calls that did not find the key in memory.
# TYPE acme_local_misses_total counter
acme_local_misses_total{store="rates"} 12
# HELP acme_entries Entries in memory.
# TYPE acme_entries gauge
acme_entries{store="rates"} 4321
`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src
			c := NewStatsCollector(&src, tc.opts...)
			if err := testutil.CollectAndCompare(c, strings.NewReader(tc.want)); err != nil {
				t.Fatal(err)
			}
			if src.statsCalls != 1 || src.lenCalls != 1 {
				t.Errorf("one scrape read Stats %d and Len %d times, want once each", src.statsCalls, src.lenCalls)
			}
			if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
				t.Fatalf("lint: %v %v", problems, err)
			}
		})
	}
}

func TestStatsCollectorReadsOnEveryScrape(t *testing.T) {
	src := &fixedSource{entries: 1}
	c := NewStatsCollector(src)
	for _, hits := range []uint64{1, 5, 40} {
		src.stats.LocalHits = hits
		want := fmt.Sprintf("# HELP spillway_local_hits_total Get calls that found the key in memory.\n"+
			"# TYPE spillway_local_hits_total counter\nspillway_local_hits_total %d\n", hits)
		if err := testutil.CollectAndCompare(c, strings.NewReader(want), "spillway_local_hits_total"); err != nil {
			t.Fatalf("scrape after %d hits: %v", hits, err)
		}
	}
	if src.statsCalls != 3 {
		t.Fatalf("3 scrapes read Stats %d times", src.statsCalls)
	}
}

func TestNewStatsCollectorNilPanics(t *testing.T) {
	msg := panicMessage(t, func() { NewStatsCollector(nil) })
	if !strings.Contains(msg, "non-nil StatsSource") {
		t.Fatalf("panic %q", msg)
	}
}
