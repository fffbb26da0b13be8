package reports

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim"
)

// The series columns the report reads by name. Columns are handled generically:
// a plot or a recommendation that needs a column it does not find is left out.
const (
	colTime           = "t_s"
	colContextLost    = "context_lost"
	colStaleUsed      = "context_stale_used"
	colRedisKeys      = "redis_keys"
	colLag            = "consumer_lag_max"
	colPods           = "pods"
	colLatencyP50     = "latency_p50_ms"
	colLatencyP99     = "latency_p99_ms"
	colUsedMemory     = "redis_used_memory_bytes"
	colRSS            = "redis_rss_bytes"
	colCOW            = "redis_cow_bytes"
	colMaxMemory      = "redis_maxmemory_bytes"
	colSystemMemory   = "redis_system_memory_bytes"
	lostByCausePrefix = "lost_by_cause."
)

// The event kinds the plots mark.
var (
	// scriptedKinds are marked on every time plot: scripted timeline actions,
	// Redis outages and autoscaler decisions.
	scriptedKinds = []string{"timeline", "redis", "hpa"}
)

// view is what the report is computed from: the scenario, the result, and each
// run beside its own scenario (overrides applied), as the run carries it.
type view struct {
	sc   *scenarios.Scenario
	res  *sim.Result
	runs []runView
}

// runView is one run of the result.
type runView struct {
	*sim.RunResult
	// sc is the run's scenario (variant and sweep overrides applied): RunResult.Run.Scenario.
	sc *scenarios.Scenario
	// index is the run's position, which picks its colour.
	index int
}

func newView(res *sim.Result) (*view, error) {
	if res == nil || res.Plan == nil || res.Plan.Scenario == nil {
		return nil, fmt.Errorf("reports: no result, or a result without its plan (run it with sim.Run)")
	}
	v := &view{sc: res.Plan.Scenario, res: res}
	for i, r := range res.Runs {
		if r == nil {
			return nil, fmt.Errorf("reports: %s: run %d is nil", res.Scenario, i)
		}
		if r.Run.Scenario == nil {
			return nil, fmt.Errorf("reports: %s: run %s carries no scenario", res.Scenario, r.Label)
		}
		v.runs = append(v.runs, runView{RunResult: r, sc: r.Run.Scenario, index: i})
	}
	return v, nil
}

// has reports whether the run's series has the column.
func (r runView) has(col string) bool {
	for _, c := range r.Series.Columns {
		if c == col {
			return true
		}
	}
	return false
}

// col returns a column of the run's series, nil when absent.
func (r runView) col(name string) []float64 { return r.Series.Column(name) }

// minutes returns the sample times in minutes, nil without a t_s column.
func (r runView) minutes() []float64 {
	t := r.col(colTime)
	for i := range t {
		t[i] /= 60
	}
	return t
}

// metric returns a summary metric's value.
func (r runView) metric(name string) (float64, bool) { return r.Summary.Get(name) }

// metricOr returns a summary metric's value, or def when the run lacks it.
func (r runView) metricOr(name string, def float64) float64 {
	if v, ok := r.Summary.Get(name); ok {
		return v
	}
	return def
}

// anyHas reports whether any run's series has the column.
func (v *view) anyHas(col string) bool {
	for _, r := range v.runs {
		if r.has(col) {
			return true
		}
	}
	return false
}

// anyMetric reports whether any run reports the metric.
func (v *view) anyMetric(name string) bool {
	for _, r := range v.runs {
		if _, ok := r.metric(name); ok {
			return true
		}
	}
	return false
}

// labels returns the run labels in order.
func (v *view) labels() []string {
	out := make([]string, len(v.runs))
	for i, r := range v.runs {
		out[i] = r.Label
	}
	return out
}

// causes returns the loss causes the runs report (lost_by_cause.<cause>), in
// the order of the first run that reports each.
func (v *view) causes() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range v.runs {
		for _, m := range r.Summary {
			if c, ok := strings.CutPrefix(m.Name, lostByCausePrefix); ok && !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out
}

// markedEvents returns the events of the given kinds, from every run, with
// duplicates (same time, kind and detail) dropped, in time order (ties in run
// order, then event order).
func markedEvents(runs []runView, kinds []string) []sim.Event {
	var out []sim.Event
	seen := map[sim.Event]bool{}
	for _, r := range runs {
		for _, e := range r.Events {
			if !contains(kinds, e.Kind) || seen[e] {
				continue
			}
			seen[e] = true
			out = append(out, e)
		}
	}
	sortEvents(out)
	return out
}

// sortEvents sorts by time, stably.
func sortEvents(evs []sim.Event) {
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].At < evs[j].At })
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
