package sim

import (
	"context"
	"testing"
)

// TestSeriesTable: the time series' columns are named once, each row has one
// value a column, and the per-cause columns follow Causes().
func TestSeriesTable(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range seriesTable {
		if seen[c.name] || c.value == nil {
			t.Fatalf("series column %q is repeated or has no value", c.name)
		}
		seen[c.name] = true
	}
	for _, c := range Causes() {
		if !seen["lost."+c.String()] {
			t.Fatalf("no series column lost.%s", c)
		}
	}
	r, err := newRunner(context.Background(), scenario(t, auditScenario), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	r.sample()
	if len(r.series.Rows) != 1 || len(r.series.Rows[0]) != len(r.series.Columns) {
		t.Fatalf("%d rows, first of %d values, for %d columns", len(r.series.Rows), len(r.series.Rows[0]),
			len(r.series.Columns))
	}
}
