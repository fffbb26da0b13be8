package reports

import (
	"bytes"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"

	"github.com/montanaflynn/stats"

	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim"
)

// KeyMetrics are the summary rows of a report, in order. A metric no run
// reports is left out; the Redis memory model's metrics (the last group) appear
// only when that model ran.
var KeyMetrics = []string{
	"messages", "context_needed", "context_loss_ratio", "context_lost", "context_stale_used", "messages_replayed",
	"spilled_keys", "spill_bytes", "spill_duration_max", "redis_ops", "redis_bytes_in",
	"latency_p50", "latency_p99", "latency_p999", "consumer_lag_max", "rebalances", "rebalance_pause_total",
	"redis_used_memory_peak_bytes", "redis_rss_peak_bytes", "redis_cow_peak_bytes", "redis_evicted_keys",
	"redis_oom_kills", "redis_fork_failures", "redis_rejected_writes",
}

// maxEventRows is how many timeline events the report lists.
const maxEventRows = 40

// markdown renders report.md: GitHub-flavoured Markdown with the plots as
// relative links, so the directory can be moved or committed as is.
func (v *view) markdown(plots []Plot) []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	sc := v.sc
	w("# Spillway report: %s\n\n", sc.Name)
	if d := strings.TrimSpace(sc.Description); d != "" {
		w("> %s\n\n", d)
	}
	v.writeSampling(&b)
	v.writeAnswers(&b)
	v.writeSetup(&b)
	outcomes := CheckExpectations(v.res)
	if len(outcomes) > 0 {
		failed := len(Failures(outcomes))
		if failed == 0 {
			w("**Expectations: all %d passed.**\n\n", len(outcomes))
		} else {
			w("**Expectations: %d of %d FAILED** (see [Expectations](#expectations)).\n\n", failed, len(outcomes))
		}
	}

	w("## Summary\n\n")
	v.writeSummary(&b)
	v.writeClients(&b) // threads, clients and value formats, when a run sets them (clients.go)

	if len(outcomes) > 0 {
		w("## Expectations\n\n")
		for _, o := range outcomes {
			w("- %s\n", outcomeLine(o))
		}
		w("\n")
	}

	w("## Capacity recommendations\n\n")
	v.writeCapacity(&b)

	w("## Plots\n\n")
	v.writePlots(&b, plots)

	w("## Timeline events\n\n")
	v.writeEvents(&b)
	return b.Bytes()
}

// writeSetup states what was run: the workload, the fleet, Redis, the
// timeline and each run's overrides.
func (v *view) writeSetup(b *bytes.Buffer) {
	sc := v.sc
	wl := sc.Workload
	var every []string
	for _, m := range wl.Mix() {
		every = append(every, fmt.Sprintf("%s every %s", FormatPercent(m.Fraction), m.Interval))
	}
	interval := "every " + wl.Interval.String()
	if len(wl.Intervals) > 0 {
		interval = "(" + strings.Join(every, ", ") + ")"
	}
	fmt.Fprintf(b, "Seed %d, %s of virtual time sampled every %s. %s emit %s, %s of them counters "+
		"that need %s of context; %s (%s). %s, termination grace %s. Redis: %s, "+
		"%s system memory, maxmemory %s (%s).\n\n",
		sc.Seed, FormatSeconds(sc.Duration.Std().Seconds()), sc.SampleEvery, plural(wl.Datapoints, "datapoint"),
		interval, FormatPercent(wl.CounterFraction), FormatBytes(float64(wl.ContextBytes)),
		plural(sc.Log.Partitions, "partition"), sc.Log.Assignor, plural(sc.Consumers.Replicas, "pod"),
		sc.Consumers.TerminationGrace, plural(sc.Redis.Nodes, "node"), FormatBytes(float64(sc.Redis.SystemMemory)),
		maxmemoryText(sc.Redis.MaxMemory), sc.Redis.MaxMemoryPolicy)
	if len(sc.Timeline) > 0 {
		var parts []string
		for _, e := range sc.Timeline {
			parts = append(parts, e.At.String()+" "+actionText(e))
		}
		fmt.Fprintf(b, "Timeline: %s.\n\n", strings.Join(parts, "; "))
	}
	fmt.Fprintf(b, "Files: [%s](%s), [%s](%s) (replay with `spillway run %s`).\n\n", ResultsFile, ResultsFile,
		ScenarioFile, ScenarioFile, ScenarioFile)
	if len(v.runs) == 0 {
		return
	}
	if v.repeated() {
		v.writeCellTable(b)
		return
	}
	b.WriteString("| run | strategy | overrides |\n|---|---|---|\n")
	for _, r := range v.runs {
		ov := v.overrides(r)
		if ov == "" {
			ov = "—"
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", cell(r.Label), r.sc.State.Strategy, cell(ov))
	}
	b.WriteString("\n")
}

// overrides is the run's variant settings and sweep value, "field=value, ...".
func (v *view) overrides(r runView) string {
	var parts []string
	for _, vr := range v.sc.Variants {
		if vr.Name != r.Variant {
			continue
		}
		keys := make([]string, 0, len(vr.Set))
		for k := range vr.Set {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			parts = append(parts, k+"="+overrideValue(vr.Set[k]))
		}
	}
	if r.Point != "" && v.sc.Sweep != nil {
		parts = append(parts, v.sc.Sweep.Field+"="+r.Point)
	}
	return strings.Join(parts, ", ")
}

// overrideValue writes a variant's value as YAML flow: a map as
// {key: value, ...} with sorted keys, a list as [a, b] (Go's %v would print
// map[...]).
func overrideValue(x any) string {
	switch t := x.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + overrideValue(t[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = overrideValue(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(x)
}

// plural is "1 pod", "3 pods", "20,000 datapoints".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return FormatCount(float64(n)) + " " + noun + "s"
}

func maxmemoryText(s scenarios.Size) string {
	if s == 0 {
		return "unlimited"
	}
	return FormatBytes(float64(s))
}

// actionText describes a timeline event's action.
func actionText(e scenarios.Event) string {
	switch {
	case e.Scale != nil:
		return fmt.Sprintf("scale to %d pods", *e.Scale)
	case e.Crash != nil:
		return fmt.Sprintf("crash %d pod(s)", *e.Crash)
	case e.BGSave:
		return "BGSAVE"
	case e.RollingRestart:
		return "rolling restart"
	case e.Pause != nil:
		return fmt.Sprintf("pause pod %d for %s", e.Pause.Pod, e.Pause.For)
	case e.RedisDown != nil:
		return fmt.Sprintf("Redis down for %s", e.RedisDown.For)
	case e.RedisNodes != nil:
		return fmt.Sprintf("Redis ring to %d nodes", *e.RedisNodes)
	case e.AOFRewrite:
		return "BGREWRITEAOF"
	case e.Latency != nil:
		return fmt.Sprintf("+%s Redis latency for %s", e.Latency.Add, e.Latency.For)
	case e.Corrupt != nil:
		return fmt.Sprintf("corrupt %d spilled keys", *e.Corrupt)
	case e.Failover != nil:
		return fmt.Sprintf("Redis master %d fails (replica promoted if any)", e.Failover.Node)
	}
	return e.Action()
}

// writeSummary is the metric x run table.
func (v *view) writeSummary(b *bytes.Buffer) {
	if len(v.runs) == 0 {
		b.WriteString("No runs.\n\n")
		return
	}
	if v.repeated() {
		v.writeIntervals(b)
		return
	}
	b.WriteString("| metric |")
	for _, r := range v.runs {
		fmt.Fprintf(b, " %s |", cell(r.Label))
	}
	b.WriteString("\n|---|")
	for range v.runs {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, name := range KeyMetrics {
		if !v.anyMetric(name) {
			continue
		}
		fmt.Fprintf(b, "| `%s` |", name)
		for _, r := range v.runs {
			val, ok := r.metric(name)
			s := "—"
			if ok {
				s = FormatMetric(sim.Metric{Name: name, Value: val, Unit: unitOf(r.Summary, name)})
			}
			fmt.Fprintf(b, " %s |", s)
		}
		b.WriteString("\n")
	}
	b.WriteString("\nEvery summary metric, with full precision, is in " + ResultsFile + ".\n\n")
}

func unitOf(s sim.Summary, name string) string {
	for _, m := range s {
		if m.Name == name {
			return m.Unit
		}
	}
	return ""
}

// outcomeLine is one expectation result as a Markdown list item.
func outcomeLine(o Outcome) string {
	val := FormatMetric(sim.Metric{Name: o.Metric, Value: o.Value})
	if MetricKind(sim.Metric{Name: o.Metric}) == KindRatio {
		val += fmt.Sprintf(" (%.6g)", o.Value)
	}
	metric := "`" + o.Metric + "`"
	if o.Seeds > 0 {
		metric = fmt.Sprintf("%s of `%s` over %d seeds", o.Of, o.Metric, o.Seeds)
	}
	switch {
	case o.Pass:
		return fmt.Sprintf("✅ pass — run `%s`: %s = %s, bound %s", o.Run, metric, val, o.Bound)
	case o.Missing:
		return fmt.Sprintf("❌ **FAIL** — run `%s`: %s was not reported (bound %s)", o.Run, metric, o.Bound)
	}
	return fmt.Sprintf("❌ **FAIL** — run `%s`: %s = %s, violates %s", o.Run, metric, val, o.Bound)
}

// writeCapacity is the recommendations section, each with its numbers.
func (v *view) writeCapacity(b *bytes.Buffer) {
	c := v.capacity()
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }

	w("### Redis memory for the spilled context\n\n")
	if len(c.memory) == 0 {
		w("No run wrote context to Redis: nothing to size.\n\n")
	}
	for _, m := range c.memory {
		w("- **%s** (%s, TTL %s): at most **%s keys** in Redis at once (`redis_keys_peak`), %s per stored "+
			"entry (`spill_bytes` / `spilled_keys`). ", cell(m.run), m.strategy, m.ttl, FormatCount(m.peakKeys),
			FormatBytes(m.meanValueBytes))
		w("The calibrated Redis 7 memory model (%d-byte keys, each with a TTL) puts that at used_memory "+
			"**%s**, RSS %s", m.keyBytes, FormatBytes(float64(m.estUsedBytes)), FormatBytes(float64(m.estRSSBytes)))
		if m.measuredUsedBytes > 0 {
			w("; the run's Redis model peaked at used_memory **%s**", FormatBytes(m.measuredUsedBytes))
			if m.measuredRSSBytes > 0 {
				w(" and RSS %s", FormatBytes(m.measuredRSSBytes))
			}
		}
		w(". ")
		if m.recOK && m.rec.needAllKeys {
			w("The run cut that peak short (it evicted keys, refused writes or was OOM-killed), so it is not what " +
				"the context needs: sized instead for every datapoint's context in Redis at once. ")
		}
		w("Give the spilled context at least **%s** of maxmemory (`maxmemory_bytes`: %s + %s headroom). "+
			"If all %s datapoints were in Redis at once (an eager rebalance of the whole group): %s.\n",
			FormatBytes(m.needBytes()*(1+headroomFraction)), FormatBytes(m.needBytes()),
			FormatPercent(headroomFraction), FormatCount(float64(m.datapoints)), FormatBytes(float64(m.allKeysBytes)))
		if m.rewritten > 0 {
			why, fix := "lost with the node", "persistence or a replica would have kept them"
			if m.evicted {
				why, fix = "evicted", "size maxmemory for the context (above), or use noeviction so that a full "+
					"Redis refuses writes (reported, kept in memory) instead of dropping copies"
			}
			w("  Redis had lost **%s** copies already written (%s) when handoffs checked for them; the "+
				"handoffs tried to write them again (`spill_rewritten_keys`; failed writes are in "+
				"`spill_failed_keys`), and until then a crash would have found none of them: %s.\n",
				FormatCount(m.rewritten), why, fix)
		}
	}
	if len(c.memory) > 0 {
		w("\n")
	}

	w("### Spill time vs termination grace\n\n")
	if len(c.grace) == 0 {
		w("No run spilled: nothing to compare with the grace period.\n\n")
	} else {
		recs := map[string]recommendation{}
		for _, rec := range c.recs {
			recs[rec.run] = rec
		}
		w("The longest handoff spill (revoke or shutdown; `handoff_spill_duration_max`) against the grace; the " +
			"recommended `spill_parallelism` is the fewest workers that write the largest handoff spill " +
			"(`handoff_spill_keys_max`) in two thirds of the grace at the measured keys per worker-second " +
			"(`handoff_spill_keys_per_worker_second`), assuming the time falls as 1 / workers.\n\n")
		w("| run | strategy | longest spill | termination grace | fits | headroom | lost to grace overrun | " +
			"largest spill | keys / worker-s | spill_parallelism: set → recommended |\n")
		w("|---|---|---:|---:|---|---:|---:|---:|---:|---|\n")
		var tight []graceFit
		for _, g := range c.grace {
			fits := "yes"
			if !g.fits() {
				fits = "**no**"
				tight = append(tight, g)
			}
			head := FormatSeconds(g.headroomSeconds())
			if g.graceSeconds > 0 {
				head += " (" + FormatPercent(g.headroomSeconds()/g.graceSeconds) + ")"
			}
			largest, rate, par := "—", "—", "—"
			if rec, ok := recs[g.run]; ok {
				largest = FormatCount(rec.spillKeys)
				if rec.spillRate > 0 {
					rate = FormatCount(rec.spillRate)
				}
				par = fmt.Sprintf("%d → **%d**", rec.spillConfigured, rec.SpillParallelism)
				if !rec.spillMeasured {
					par = fmt.Sprintf("%d (no handoff spill wrote anything to measure)", rec.spillConfigured)
				} else if rec.spillBatches > 0 && rec.SpillParallelism > rec.spillBatches {
					par += fmt.Sprintf(" (the largest spill has %d batches: lower `state.spill_batch` too)",
						rec.spillBatches)
				}
			}
			w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", cell(g.run), g.strategy,
				FormatSeconds(g.spillSeconds), FormatSeconds(g.graceSeconds), fits, head, FormatCount(g.graceOverrunLost),
				largest, rate, par)
		}
		w("\n")
		for _, g := range tight {
			// A spill cut at the grace took the grace: what it needs is the largest
			// spill at its measured throughput, when there is one.
			need, from := g.spillSeconds, "the longest spill"
			if rec, ok := recs[g.run]; ok && rec.spillMeasured {
				workers := rec.spillConfigured
				if rec.spillBatches > 0 {
					workers = min(workers, rec.spillBatches)
				}
				if t := rec.spillSecondsAt(workers); t > need {
					need, from = t, "the largest handoff spill at its measured throughput"
				}
			}
			w("- **%s**: the longest spill (%s) does not fit in the grace period (%s): %s takes %s, so raise "+
				"`consumers.termination_grace` to at least %s (1.5 × that) or spill faster "+
				"(`state.spill_parallelism`, `state.spill_batch`).\n", cell(g.run), FormatSeconds(g.spillSeconds),
				FormatSeconds(g.graceSeconds), from, FormatSeconds(need), FormatSeconds(1.5*need))
		}
		if len(tight) > 0 {
			w("\n")
		}
	}

	w("### Context loss per handoff\n\n")
	if len(c.loss) == 0 {
		w("No run reported `rebalances`.\n\n")
	} else {
		w("A handoff is a rebalance after the one that formed the group (handoffs = `rebalances` − 1): " +
			"each scale-in, crash or restart that moves partitions.\n\n")
		w("| run | strategy | rebalances | handoffs | context lost | lost per handoff | stale used per handoff | loss ratio |\n")
		w("|---|---|---:|---:|---:|---:|---:|---:|\n")
		for _, l := range c.loss {
			ratio := math.NaN()
			if l.needed > 0 {
				ratio = l.lost / l.needed
			}
			w("| %s | %s | %s | %s | %s | %s | %s | %s |\n", cell(l.run), l.strategy, FormatCount(l.rebalances),
				FormatCount(l.handoffs), FormatCount(l.lost), FormatCount(l.perHandoff(l.lost)),
				FormatCount(l.perHandoff(l.staleUsed)), FormatPercent(ratio))
		}
		w("\n")
	}

	w("### maxmemory under system memory (fork copy-on-write)\n\n")
	if len(c.recs) == 0 {
		w("This result has no Redis memory metrics (`redis_used_memory_peak_bytes`): no fork sizing.\n\n")
		return
	}
	for _, rec := range c.recs {
		v.writeForkFit(b, rec)
	}
	w("\n")
}

// writeForkFit is one run's fork sizing: its event-exact peak and failures, the
// footprint ratio assumed, the fork-safe maxmemory and the machine the context needs.
func (v *view) writeForkFit(b *bytes.Buffer, rec recommendation) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("- **%s**: peak RSS (copy-on-write included) **%s**", cell(rec.run), FormatBytes(rec.rssPeak))
	if rec.systemBytes > 0 {
		w(" of %s system memory (%s)", FormatBytes(rec.systemBytes), FormatPercent(rec.rssPeak/rec.systemBytes))
	}
	w(" at used_memory %s (peak used_memory %s); %s, %s", FormatBytes(rec.usedAtRSSPeak), FormatBytes(rec.usedPeak),
		pluralF(rec.forks, "fork"), pluralF(rec.ooms, "OOM kill"))
	if rec.ooms > 0 {
		w(" — killed at used_memory **%s**, RSS %s", FormatBytes(rec.oomUsed), FormatBytes(rec.oomRSS))
	}
	if rec.forkFailures > 0 {
		w("; %s refused at used_memory **%s**", pluralF(rec.forkFailures, "fork"), FormatBytes(rec.forkFailedUsed))
	}
	w(". Footprint during a fork: %.2f × used_memory", rec.phi)
	if rec.childBytes > 0 {
		w(" + %s of the child's own copies", FormatBytes(rec.childBytes))
	}
	w(" (%s).", rec.phiFrom)
	if rec.systemBytes <= 0 {
		w(" No system memory is set: no fork-safe limit.")
	} else {
		w(" The highest fork-safe maxmemory on this machine is **%s** (`fork_safe_maxmemory_bytes`",
			FormatBytes(float64(rec.ForkSafeMaxmemoryBytes)))
		if rec.capFrom != "" {
			w(", %s", rec.capFrom)
		}
		w(").")
		if mm := float64(v.runMaxmemory(rec.run)); mm > 0 {
			verdict := "within"
			if mm > float64(rec.ForkSafeMaxmemoryBytes) {
				verdict = "**above**"
			}
			w(" The configured maxmemory (%s) is %s it.", FormatBytes(mm), verdict)
		}
	}
	if rec.stored {
		w(" The context's maxmemory (%s) needs **%s** of system memory through such a fork (`system_memory_bytes`)",
			FormatBytes(float64(rec.MaxmemoryBytes)), FormatBytes(float64(rec.SystemMemoryBytes)))
		if rec.shortfall() {
			w(": this %s machine is **too small for the working set by %s** — give it that memory, or keep "+
				"maxmemory at the fork-safe %s and accept that the rest of the context is evicted or refused",
				FormatBytes(rec.systemBytes), FormatBytes(float64(rec.SystemMemoryShortfallBytes)),
				FormatBytes(float64(rec.ForkSafeMaxmemoryBytes)))
		}
		w(".")
	}
	w("\n")
}

// runMaxmemory is the configured maxmemory of the run labelled label (0: unlimited).
func (v *view) runMaxmemory(label string) int64 {
	for _, r := range v.runs {
		if r.Label == label {
			return r.sc.Redis.MaxMemory.Bytes()
		}
	}
	return 0
}

// writePlots embeds every figure, PNG inline with a link to the SVG.
func (v *view) writePlots(b *bytes.Buffer, plots []Plot) {
	if len(plots) == 0 {
		b.WriteString("No plottable series in this result.\n\n")
		return
	}
	if v.repeated() {
		b.WriteString("The plots over time show each run's first seed; the last figure gives every seed's mean " +
			"and interval.\n\n")
	}
	has := map[string]bool{}
	for _, p := range plots {
		has[p.Name] = true
	}
	for _, p := range plots {
		png, svg := filepath.Base(p.PNG), filepath.Base(p.SVG)
		fmt.Fprintf(b, "### %s\n\n![%s](%s)\n\n[SVG](%s)", p.Title, p.Title, png, svg)
		switch p.Name {
		case plotContextLost:
			if !has[plotLostByCause] {
				b.WriteString(" · No context was lost or used stale in any run.")
			}
		case plotLagPods:
			if line := v.lagPercentiles(); line != "" {
				b.WriteString(" · " + line)
			}
		}
		b.WriteString("\n\n")
	}
}

// lagPercentiles summarises the sampled consumer lag per run: p50, p95, max.
func (v *view) lagPercentiles() string {
	var parts []string
	for _, r := range v.runs {
		lag := r.col(colLag)
		if len(lag) == 0 {
			continue
		}
		p50, err1 := stats.Percentile(lag, 50)
		p95, err2 := stats.Percentile(lag, 95)
		mx, err3 := stats.Max(lag)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s p50 %s, p95 %s, max %s", r.Label, FormatCount(p50), FormatCount(p95),
			FormatCount(mx)))
	}
	if len(parts) == 0 {
		return ""
	}
	return "Sampled consumer lag (messages): " + strings.Join(parts, "; ") + "."
}

// writeEvents lists the first events of every run, merged: an event that
// happened identically in several runs is one row naming them.
func (v *view) writeEvents(b *bytes.Buffer) {
	type row struct {
		ev   sim.Event
		runs []int
	}
	var rows []*row
	idx := map[sim.Event]*row{}
	for i, r := range v.runs {
		for _, e := range r.Events {
			if x, ok := idx[e]; ok {
				if x.runs[len(x.runs)-1] != i {
					x.runs = append(x.runs, i)
				}
				continue
			}
			x := &row{ev: e, runs: []int{i}}
			idx[e] = x
			rows = append(rows, x)
		}
	}
	if len(rows) == 0 {
		b.WriteString("No events.\n")
		return
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].ev.At < rows[j].ev.At })
	b.WriteString("| time | kind | detail | runs |\n|---:|---|---|---|\n")
	for i, x := range rows {
		if i == maxEventRows {
			break
		}
		runs := "all"
		if len(x.runs) < len(v.runs) {
			var names []string
			for _, ri := range x.runs {
				names = append(names, v.runs[ri].Label)
			}
			runs = strings.Join(names, ", ")
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", clock(x.ev.At), cell(x.ev.Kind), cell(x.ev.Detail), cell(runs))
	}
	if len(rows) > maxEventRows {
		fmt.Fprintf(b, "\n… and %d more (every event of every run is in %s).\n", len(rows)-maxEventRows, ResultsFile)
	}
}

// clock formats a time since the start as m:ss.mmm (h:mm:ss past an hour).
func clock(d sim.Duration) string {
	ms := int64(d) / 1e6
	h, m, s, frac := ms/3600000, ms/60000%60, ms/1000%60, ms%1000
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d.%03d", h, m, s, frac)
	}
	return fmt.Sprintf("%d:%02d.%03d", m, s, frac)
}

// cell makes text safe inside a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
}

// writeSampling states the sample rate of sampled runs (workload.sample_rate),
// one line per distinct rate, before any number the report shows.
func (v *view) writeSampling(b *bytes.Buffer) {
	seen := map[string]bool{}
	for _, r := range v.runs {
		s := r.Sampling
		if s == nil {
			continue
		}
		line := fmt.Sprintf("**Sampled:** %s of %s datapoints simulated (rate %s%s), each standing for %s: "+
			"every count, size, memory figure and duration below is scaled to all %s; the counts of Redis "+
			"commands and round trips are estimated from the real consumers' polls (docs/sampling.md).",
			FormatCount(float64(s.Simulated)), FormatCount(float64(s.Datapoints)), sig(s.Rate, 3),
			map[bool]string{true: ", chosen by sample_rate: auto", false: ""}[s.Auto], FormatCount(float64(s.Weight)),
			FormatCount(float64(s.Datapoints)))
		if !seen[line] {
			seen[line] = true
			b.WriteString(line + "\n\n")
		}
	}
}
