package sim

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/spillway-sim/spillway/scenarios"
)

// aheadCases exercise every path of working ahead: each strategy (memory-only
// judges losses ahead; write-through and checkpoint hold every batch end), restores
// after every kind of handoff, crashes, a zombie, eviction callbacks for keys other
// pods are processing, series churn (per-key names written ahead), eager restore.
var aheadCases = []struct {
	name, yaml string
	lifetime   time.Duration // workload.lifetime (series churn); the test base fixes the workload block
}{
	{name: "spill-handoffs-eviction", yaml: auditScenario},
	{name: "memory-only", yaml: `log: {partitions: 12, assignor: range}
consumers: {replicas: 4}
state: {strategy: memory-only}
timeline: [{at: 3m, scale: 2}, {at: 6m, crash: 1}, {at: 8m, rolling_restart: true}]
`},
	{name: "write-through", yaml: `log: {partitions: 12, assignor: cooperative-sticky}
consumers: {replicas: 3}
state: {strategy: write-through}
timeline: [{at: 4m, crash: 1}, {at: 7m, scale: 5}]
`},
	{name: "checkpoint", yaml: `log: {partitions: 12}
consumers: {replicas: 3}
state: {strategy: checkpoint, checkpoint_every: 20s, restore: eager}
timeline: [{at: 4m, crash: 1}]
`},
	{name: "zombie", yaml: `log: {partitions: 12, assignor: cooperative-sticky}
consumers: {replicas: 3}
timeline: [{at: 4m, pause: {pod: 1, for: 90s}}]
`},
	{name: "churn-ttl-expiry", yaml: `log: {partitions: 12, assignor: sticky}
consumers: {replicas: 4}
state: {strategy: spill-on-revoke, ttl: 30s}
timeline: [{at: 3m, scale: 2}, {at: 5m, scale: 4}]
`, lifetime: 5 * time.Minute},
}

// TestWorkAheadSameResult: the pods working on 1, 2 or 4 goroutines give
// byte-identical results, with the parallel path taken at every tick.
func TestWorkAheadSameResult(t *testing.T) {
	for _, tc := range aheadCases {
		t.Run(tc.name, func(t *testing.T) {
			sc := scenario(t, tc.yaml)
			sc.Workload.Lifetime = scenarios.Duration(tc.lifetime)
			var want []byte
			for _, n := range []int{1, 2, 4} {
				res, err := runAll(t, context.Background(), sc, Options{PodWorkers: n, ParallelMinRecords: 1})
				if err != nil {
					t.Fatal(err)
				}
				got := encode(t, &Result{Runs: res.Runs[:1]})
				if n == 1 {
					want = got
					continue
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%d pod workers: the result differs from the serial run's\n%s", n, firstDiff(want, got))
				}
			}
		})
	}
}

// TestWorkAheadTakesItsShare: most messages are processed ahead (in parallel),
// and the helper goroutine takes part; the equality tests above would pass
// vacuously otherwise.
func TestWorkAheadTakesItsShare(t *testing.T) {
	r, err := newRunner(context.Background(), scenario(t, auditScenario), 1)
	if err != nil {
		t.Fatal(err)
	}
	r.helpers = newHelpers(2, 1)
	t.Cleanup(r.close)
	if err := r.execute(); err != nil {
		t.Fatal(err)
	}
	if r.c.messages == 0 || r.aheadMessages*2 < r.c.messages {
		t.Fatalf("%d of %d messages processed ahead, want most", r.aheadMessages, r.c.messages)
	}
	if r.helpers.pool.Helped() == 0 {
		t.Fatal("the helper goroutine never worked on a pod")
	}
}

func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(0, i-200)
	return "serial:   ..." + string(a[lo:min(len(a), i+200)]) + "\nparallel: ..." + string(b[lo:min(len(b), i+200)])
}

// TestCountersAddCoversEveryField: settle adds a tally's counters with
// counters.add, so a counter added to the struct but not to add would be lost.
func TestCountersAddCoversEveryField(t *testing.T) {
	var one counters
	v := reflect.ValueOf(&one).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		f = reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem() // unexported: settable this way
		switch f.Kind() {
		case reflect.Int64:
			f.SetInt(1)
		case reflect.Array:
			for j := range f.Len() {
				f.Index(j).SetInt(1)
			}
		default:
			t.Fatalf("counters.%s: kind %v; teach this test and counters.add", v.Type().Field(i).Name, f.Kind())
		}
	}
	var sum counters
	sum.add(&one)
	sum.add(&one)
	s := reflect.ValueOf(sum)
	for i := range s.NumField() {
		name := v.Type().Field(i).Name
		want := int64(2)
		if name == "spillMax" {
			want = 1 // the larger, not the sum
		}
		f := s.Field(i)
		if f.Kind() == reflect.Array {
			for j := range f.Len() {
				if f.Index(j).Int() != want {
					t.Fatalf("counters.add: %s[%d] = %d, want %d", name, j, f.Index(j).Int(), want)
				}
			}
			continue
		}
		if f.Int() != want {
			t.Fatalf("counters.add: %s = %d, want %d", name, f.Int(), want)
		}
	}
}

// TestWorkAheadPanicReachesTheSimulator: a panic in a pod's work on a helper
// goroutine is raised again on the simulator's goroutine (where the swarm's
// no-panic invariant catches it), and the helpers still close.
func TestWorkAheadPanicReachesTheSimulator(t *testing.T) {
	before := runtime.NumGoroutine()
	h := newHelpers(3, 1)
	broken := func() []*pod { // running, with a partition, but no runner: poll dereferences nil
		var ps []*pod
		for range 6 {
			ps = append(ps, &pod{state: podRunning, pos: map[int32]int64{0: 0}})
		}
		return ps
	}
	for range 3 {
		func() {
			defer func() {
				if v := recover(); v == nil || !strings.Contains(fmt.Sprint(v), "nil pointer") {
					t.Fatalf("recovered %v, want the pods' nil pointer panic", v)
				}
			}()
			h.workAhead(broken(), time.Second, nil)
			t.Fatal("workAhead returned normally")
		}()
	}
	h.close()
	h.close() // idempotent
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after close, %d before", n, before)
	}
}
