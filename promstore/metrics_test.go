package promstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"
	"github.com/spillway-sim/spillway/core"
)

// hist is a histogram's state: observation count, sum of seconds, and cumulative
// count per upper bound.
type hist struct {
	count   uint64
	sum     float64
	buckets map[float64]uint64
}

func readHist(t *testing.T, h prometheus.Histogram) hist {
	t.Helper()
	var pb dto.Metric
	if err := h.Write(&pb); err != nil {
		t.Fatal(err)
	}
	out := hist{count: pb.GetHistogram().GetSampleCount(), sum: pb.GetHistogram().GetSampleSum(), buckets: map[float64]uint64{}}
	for _, b := range pb.GetHistogram().GetBucket() {
		out.buckets[b.GetUpperBound()] = b.GetCumulativeCount()
	}
	return out
}

func spillReport(d time.Duration, written, already int, raw, wire int64, dropped, batches int, failed map[core.Reason]int) core.SpillReport {
	r := core.SpillReport{Written: written, AlreadyWritten: already, RawBytes: raw, WireBytes: wire,
		Dropped: dropped, Batches: batches, Duration: d}
	for reason, n := range failed {
		r.ByReason[reason] = n
		r.NotWritten += n
	}
	r.Keys = r.Written + r.AlreadyWritten + r.NotWritten
	return r
}

func TestObserveSpill(t *testing.T) {
	tests := []struct {
		name    string
		reports []core.SpillReport
		want    map[string]float64 // "result=written", "reason=fenced", "stage=raw", "dropped", "batches"; absent = 0
		hist    hist
	}{
		{
			name:    "nothing observed",
			reports: nil,
			want:    map[string]float64{},
			hist:    hist{buckets: map[float64]uint64{0.01: 0, 1: 0, 30: 0}},
		},
		{
			name:    "all written",
			reports: []core.SpillReport{spillReport(250*time.Millisecond, 20, 0, 2000, 900, 20, 1, nil)},
			want: map[string]float64{"result=written": 20, "stage=raw": 2000, "stage=wire": 900,
				"dropped": 20, "batches": 1},
			hist: hist{count: 1, sum: 0.25, buckets: map[float64]uint64{0.01: 0, 1: 1, 30: 1}},
		},
		{
			name: "fenced and deadline failures stay in memory",
			reports: []core.SpillReport{spillReport(40*time.Second, 5, 2, 500, 300, 5, 4,
				map[core.Reason]int{core.ReasonFenced: 3, core.ReasonDeadline: 7})},
			want: map[string]float64{"result=written": 5, "result=already_written": 2, "result=not_written": 10,
				"reason=fenced": 3, "reason=deadline": 7, "stage=raw": 500, "stage=wire": 300, "dropped": 5, "batches": 4},
			hist: hist{count: 1, sum: 40, buckets: map[float64]uint64{0.01: 0, 1: 0, 30: 0}},
		},
		{
			name:    "memory-only counts disabled, writes nothing",
			reports: []core.SpillReport{spillReport(0, 0, 0, 0, 0, 6, 0, map[core.Reason]int{core.ReasonDisabled: 6})},
			want:    map[string]float64{"result=not_written": 6, "reason=disabled": 6, "dropped": 6},
			hist:    hist{count: 1, sum: 0, buckets: map[float64]uint64{0.01: 1, 1: 1, 30: 1}},
		},
		{
			name: "reports accumulate",
			reports: []core.SpillReport{
				spillReport(500*time.Millisecond, 10, 0, 100, 60, 10, 1, map[core.Reason]int{core.ReasonOOM: 1}),
				spillReport(1500*time.Millisecond, 4, 1, 40, 30, 4, 2, map[core.Reason]int{core.ReasonOOM: 2, core.ReasonTimeout: 5}),
				spillReport(5*time.Millisecond, 0, 3, 0, 0, 0, 0, nil),
			},
			want: map[string]float64{"result=written": 14, "result=already_written": 4, "result=not_written": 8,
				"reason=oom": 3, "reason=timeout": 5, "stage=raw": 140, "stage=wire": 90, "dropped": 14, "batches": 3},
			hist: hist{count: 3, sum: 2.005, buckets: map[float64]uint64{0.01: 1, 1: 2, 30: 3}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New(DurationBuckets(0.01, 1, 30))
			for i := range tc.reports {
				m.ObserveSpill(&tc.reports[i])
			}
			got := map[string]float64{"dropped": testutil.ToFloat64(m.spillDropped), "batches": testutil.ToFloat64(m.spillBatches)}
			for _, res := range []string{"written", "already_written", "not_written"} {
				got["result="+res] = testutil.ToFloat64(m.spillKeys.WithLabelValues(res))
			}
			for _, r := range core.Reasons() {
				got["reason="+r.String()] = testutil.ToFloat64(m.spillFailures.WithLabelValues(r.String()))
			}
			for _, st := range []string{"raw", "wire"} {
				got["stage="+st] = testutil.ToFloat64(m.spillBytes.WithLabelValues(st))
			}
			for k, v := range got {
				if v != tc.want[k] {
					t.Errorf("%s = %g, want %g", k, v, tc.want[k])
				}
			}
			for k := range tc.want {
				if _, ok := got[k]; !ok {
					t.Errorf("want names %s, which is not a series", k)
				}
			}
			checkHist(t, "spill", readHist(t, m.spillDuration), tc.hist)
			if h := readHist(t, m.restoreDuration); h.count != 0 {
				t.Errorf("spills observed %d restores", h.count)
			}
		})
	}
}

func checkHist(t *testing.T, what string, got, want hist) {
	t.Helper()
	if got.count != want.count || fmt.Sprint(got.sum) != fmt.Sprint(want.sum) {
		t.Errorf("%s histogram count %d sum %g, want %d and %g", what, got.count, got.sum, want.count, want.sum)
	}
	for ub, n := range want.buckets {
		if got.buckets[ub] != n {
			t.Errorf("%s histogram bucket le=%g = %d, want %d", what, ub, got.buckets[ub], n)
		}
	}
}

func TestObserveRestore(t *testing.T) {
	tests := []struct {
		name    string
		reports []core.RestoreReport
		want    map[string]float64 // outcome name or "undeleted"; absent = 0
		hist    hist
	}{
		{
			name: "one batch with every outcome",
			reports: []core.RestoreReport{{Keys: 21, Local: 1, Restored: 10, Missing: 4, Stale: 3, Corrupt: 2, Failed: 1,
				Undeleted: 2, Duration: 3 * time.Millisecond}},
			want: map[string]float64{"local": 1, "restored": 10, "missing": 4, "stale": 3, "corrupt": 2, "failed": 1, "undeleted": 2},
			hist: hist{count: 1, sum: 0.003, buckets: map[float64]uint64{0.01: 1, 1: 1, 30: 1}},
		},
		{
			name: "reports accumulate",
			reports: []core.RestoreReport{
				{Keys: 5, Restored: 5, Duration: 20 * time.Millisecond},
				{Keys: 3, Local: 1, Missing: 2, Duration: 2 * time.Second},
			},
			want: map[string]float64{"local": 1, "restored": 5, "missing": 2},
			hist: hist{count: 2, sum: 2.02, buckets: map[float64]uint64{0.01: 0, 1: 1, 30: 2}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New(DurationBuckets(0.01, 1, 30))
			for i := range tc.reports {
				m.ObserveRestore(&tc.reports[i])
			}
			got := map[string]float64{"undeleted": testutil.ToFloat64(m.restoreUndeleted)}
			for _, o := range []string{"local", "restored", "missing", "stale", "corrupt", "failed"} {
				got[o] = testutil.ToFloat64(m.restoreKeys.WithLabelValues(o))
			}
			for k, v := range got {
				if v != tc.want[k] {
					t.Errorf("%s = %g, want %g", k, v, tc.want[k])
				}
			}
			checkHist(t, "restore", readHist(t, m.restoreDuration), tc.hist)
			if h := readHist(t, m.spillDuration); h.count != 0 {
				t.Errorf("restores observed %d spills", h.count)
			}
		})
	}
}

// TestExposition pins the exported text: names, help, labels, every series at
// its value, as a scrape shows them.
func TestExposition(t *testing.T) {
	m := New(DurationBuckets(0.1, 1), ConstLabels(prometheus.Labels{"store": "rates"}))
	spill := spillReport(1500*time.Millisecond, 3, 1, 300, 120, 3, 2, map[core.Reason]int{core.ReasonReadOnly: 2})
	spill.Rewritten = 1
	m.ObserveSpill(&spill)
	m.ObserveRestore(&core.RestoreReport{Keys: 4, Restored: 2, Missing: 1, Corrupt: 1, Undeleted: 1, Duration: 50 * time.Millisecond})
	var failures strings.Builder
	for _, r := range core.Reasons() {
		n := 0
		if r == core.ReasonReadOnly {
			n = 2
		}
		fmt.Fprintf(&failures, "spillway_spill_failures_total{reason=%q,store=\"rates\"} %d\n", r.String(), n)
	}
	want := `# HELP spillway_spill_duration_seconds Time one Spill, SpillAll or Sync took, by the store's clock.
# TYPE spillway_spill_duration_seconds histogram
spillway_spill_duration_seconds_bucket{store="rates",le="0.1"} 0
spillway_spill_duration_seconds_bucket{store="rates",le="1"} 0
spillway_spill_duration_seconds_bucket{store="rates",le="+Inf"} 1
spillway_spill_duration_seconds_sum{store="rates"} 1.5
spillway_spill_duration_seconds_count{store="rates"} 1
# HELP spillway_restore_duration_seconds Time one Restore or Warm that asked Redis took, by the store's clock.
# TYPE spillway_restore_duration_seconds histogram
spillway_restore_duration_seconds_bucket{store="rates",le="0.1"} 1
spillway_restore_duration_seconds_bucket{store="rates",le="1"} 1
spillway_restore_duration_seconds_bucket{store="rates",le="+Inf"} 1
spillway_restore_duration_seconds_sum{store="rates"} 0.05
spillway_restore_duration_seconds_count{store="rates"} 1
# HELP spillway_spill_keys_total Entries considered by spills: written (Redis acknowledged), already_written (clean, Redis copy current), not_written (kept in memory; see spill_failures_total).
# TYPE spillway_spill_keys_total counter
spillway_spill_keys_total{result="already_written",store="rates"} 1
spillway_spill_keys_total{result="not_written",store="rates"} 2
spillway_spill_keys_total{result="written",store="rates"} 3
# HELP spillway_spill_failures_total Entries not written by spills, by reason (core.Reason; disabled = memory-only strategy).
# TYPE spillway_spill_failures_total counter
` + failures.String() + `# HELP spillway_spill_bytes_total Bytes of the entries spills wrote: raw = payload before compression, wire = envelope as stored.
# TYPE spillway_spill_bytes_total counter
spillway_spill_bytes_total{stage="raw",store="rates"} 300
spillway_spill_bytes_total{stage="wire",store="rates"} 120
# HELP spillway_spill_dropped_total Entries spills removed from memory (acknowledged by Redis, or memory-only).
# TYPE spillway_spill_dropped_total counter
spillway_spill_dropped_total{store="rates"} 3
# HELP spillway_spill_batches_total Script calls or pipelines spills sent to Redis, retries included.
# TYPE spillway_spill_batches_total counter
spillway_spill_batches_total{store="rates"} 2
# HELP spillway_spill_rewritten_total Entries already written (write-through, checkpoint) that Redis no longer had, or could not confirm it had, when a spill checked: written again (counted in keys_total too). Non-zero means Redis lost copies: a restart without persistence, a flush, eviction, a failover that lost writes.
# TYPE spillway_spill_rewritten_total counter
spillway_spill_rewritten_total{store="rates"} 1
# HELP spillway_restore_keys_total Keys asked of Restore and Warm calls that asked Redis, by outcome (duplicates included).
# TYPE spillway_restore_keys_total counter
spillway_restore_keys_total{outcome="corrupt",store="rates"} 1
spillway_restore_keys_total{outcome="failed",store="rates"} 0
spillway_restore_keys_total{outcome="local",store="rates"} 0
spillway_restore_keys_total{outcome="missing",store="rates"} 1
spillway_restore_keys_total{outcome="restored",store="rates"} 2
spillway_restore_keys_total{outcome="stale",store="rates"} 0
# HELP spillway_restore_undeleted_total Keys taken from Redis whose delete was not confirmed: they may stay in Redis until their TTL.
# TYPE spillway_restore_undeleted_total counter
spillway_restore_undeleted_total{store="rates"} 1
`
	if err := testutil.CollectAndCompare(m, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	if problems, err := testutil.CollectAndLint(m); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
}

func TestBrokenReportsPanic(t *testing.T) {
	tests := []struct {
		name    string
		observe func(m *Metrics)
		want    string
	}{
		{
			name:    "negative written",
			observe: func(m *Metrics) { m.ObserveSpill(&core.SpillReport{Written: -1}) },
			want:    "Written is negative (-1)",
		},
		{
			name: "count under ReasonNone",
			observe: func(m *Metrics) {
				r := core.SpillReport{NotWritten: 1}
				r.ByReason[core.ReasonNone] = 1
				m.ObserveSpill(&r)
			},
			want: "1 entries under reason 0 (none), which has no series",
		},
		{
			name: "count under an unknown reason",
			observe: func(m *Metrics) {
				r := core.SpillReport{NotWritten: 2}
				r.ByReason[15] = 2
				m.ObserveSpill(&r)
			},
			want: "2 entries under reason 15 (unknown)",
		},
		{
			name:    "negative undeleted",
			observe: func(m *Metrics) { m.ObserveRestore(&core.RestoreReport{Undeleted: -3}) },
			want:    "Undeleted is negative (-3)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := panicMessage(t, func() { tc.observe(New()) })
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("panic %q does not contain %q", msg, tc.want)
			}
		})
	}
}

// TestConcurrentObserve: stores spill and restore from several goroutines (and
// several stores may share one Metrics); no observation may be lost.
func TestConcurrentObserve(t *testing.T) {
	m := New()
	const workers, each = 4, 250
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				s := spillReport(time.Millisecond, 2, 0, 10, 5, 2, 1, map[core.Reason]int{core.ReasonFenced: 1})
				m.ObserveSpill(&s)
				m.ObserveRestore(&core.RestoreReport{Keys: 3, Restored: 3, Duration: time.Millisecond})
			}
		})
	}
	var scrapes int
	for range 5 {
		scrapes += testutil.CollectAndCount(m)
	}
	wg.Wait()
	const n = workers * each
	if got := testutil.ToFloat64(m.spillWritten); got != 2*n {
		t.Errorf("written = %g, want %d", got, 2*n)
	}
	if got := testutil.ToFloat64(m.byReason[core.ReasonFenced]); got != n {
		t.Errorf("fenced = %g, want %d", got, n)
	}
	if got := testutil.ToFloat64(m.restoreKeys.WithLabelValues("restored")); got != 3*n {
		t.Errorf("restored = %g, want %d", got, 3*n)
	}
	if s, r := readHist(t, m.spillDuration).count, readHist(t, m.restoreDuration).count; s != n || r != n {
		t.Errorf("histogram counts spill %d restore %d, want %d each", s, r, n)
	}
	if scrapes != 5*testutil.CollectAndCount(m) {
		t.Errorf("concurrent scrapes saw %d series, want a constant set", scrapes)
	}
}

// stepClock advances by step on every reading, so a spill and a restore have a
// non-zero duration without a real sleep.
type stepClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.step)
	return c.now
}

// TestStoreOverMiniredis runs a real store: what the exported series say must be
// what its spill and restore reports say, and what its Stats say.
func TestStoreOverMiniredis(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), DisableIdentity: true, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	m := New()
	store, err := core.New[[]byte](rdb, core.BytesCodec{}, core.Namespace("spill"), core.WithMetrics(m),
		core.WithClock(&stepClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), step: 7 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	stats := NewStatsCollector(store)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m, stats)

	ctx := context.Background()
	const perPartition = 30
	for p := int32(0); p < 2; p++ {
		for i := range perPartition {
			store.Put(p, fmt.Sprintf("k%03d", i), []byte(strings.Repeat("v", 50+i)))
		}
	}
	spill, err := store.Spill(ctx, 0, 1)
	if err != nil {
		t.Fatalf("spill: %v", err)
	}
	if spill.Written != 2*perPartition || spill.NotWritten != 0 || spill.Duration <= 0 {
		t.Fatalf("spill report %+v: want every entry written in a non-zero time", spill)
	}
	keys := []core.KeyRef{{Partition: 0, Key: "k000"}, {Partition: 0, Key: "k001"}, {Partition: 1, Key: "k029"},
		{Partition: 1, Key: "nope"}, {Partition: 0, Key: "k000"}}
	rest, err := store.Restore(ctx, keys)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if rest.Restored != 3 || rest.Missing != 1 || rest.Local != 1 {
		t.Fatalf("restore report %+v: want 3 restored, 1 missing, 1 local (the duplicate)", rest)
	}
	store.Get(0, "k000")     // hit
	store.Get(1, "k000")     // miss: spilled, not restored
	store.Get(1, "k029")     // hit
	store.Get(0, "missing!") // miss

	wantSeries := []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"spill written", m.spillWritten, float64(spill.Written)},
		{"spill already written", m.spillAlready, float64(spill.AlreadyWritten)},
		{"spill not written", m.spillNot, float64(spill.NotWritten)},
		{"spill raw bytes", m.spillRaw, float64(spill.RawBytes)},
		{"spill wire bytes", m.spillWire, float64(spill.WireBytes)},
		{"spill dropped", m.spillDropped, float64(spill.Dropped)},
		{"spill batches", m.spillBatches, float64(spill.Batches)},
		{"spill rewritten", m.spillRewrite, float64(spill.Rewritten)},
		{"restore local", m.restoreKeys.WithLabelValues("local"), float64(rest.Local)},
		{"restore restored", m.restoreKeys.WithLabelValues("restored"), float64(rest.Restored)},
		{"restore missing", m.restoreKeys.WithLabelValues("missing"), float64(rest.Missing)},
		{"restore stale", m.restoreKeys.WithLabelValues("stale"), float64(rest.Stale)},
		{"restore corrupt", m.restoreKeys.WithLabelValues("corrupt"), float64(rest.Corrupt)},
		{"restore failed", m.restoreKeys.WithLabelValues("failed"), float64(rest.Failed)},
		{"restore undeleted", m.restoreUndeleted, float64(rest.Undeleted)},
	}
	for _, s := range wantSeries {
		if got := testutil.ToFloat64(s.c); got != s.want {
			t.Errorf("%s = %g, report says %g", s.name, got, s.want)
		}
	}
	// Cross-check against the store's own counters, and the report's byte counts against what it wrote.
	st := store.Stats()
	if float64(st.SpilledKeys) != testutil.ToFloat64(m.spillWritten) || float64(st.SpillWireBytes) != testutil.ToFloat64(m.spillWire) ||
		float64(st.Restored) != testutil.ToFloat64(m.restoreKeys.WithLabelValues("restored")) {
		t.Errorf("stats %+v disagree with the exported counters", st)
	}
	if spill.RawBytes != 2*(50*perPartition+perPartition*(perPartition-1)/2) {
		t.Errorf("raw bytes %d, want the payload lengths' sum", spill.RawBytes)
	}
	checkHist(t, "spill", readHist(t, m.spillDuration), hist{count: 1, sum: spill.Duration.Seconds()})
	checkHist(t, "restore", readHist(t, m.restoreDuration), hist{count: 1, sum: rest.Duration.Seconds()})

	want := fmt.Sprintf(`# HELP spillway_local_hits_total Get calls that found the key in memory.
# TYPE spillway_local_hits_total counter
spillway_local_hits_total 2
# HELP spillway_local_misses_total Get calls that did not find the key in memory.
# TYPE spillway_local_misses_total counter
spillway_local_misses_total 2
# HELP spillway_entries Entries in memory.
# TYPE spillway_entries gauge
spillway_entries %d
`, store.Len())
	if store.Len() != 3 {
		t.Errorf("store holds %d entries, want the 3 restored", store.Len())
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"spillway_local_hits_total", "spillway_local_misses_total", "spillway_entries"); err != nil {
		t.Fatal(err)
	}
}
