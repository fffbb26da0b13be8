// Package reports turns a simulation result into a capacity-planning report:
// results.json, the resolved scenario, report.md (GitHub-flavoured Markdown)
// and PNG + SVG plots drawn with gonum/plot.
//
// It owns the report's layout, the human formatting of numbers (1.2 MiB,
// 35.1 s, 0.43 %), the plots, the capacity recommendations and the
// expectation outcomes shown in a report. It must not run the simulator, read
// the wall clock or the machine, or use randomness: the same scenario and
// result always give the same bytes in every file it writes (PNG and SVG from
// gonum/plot are byte-identical across runs; PDF and EPS embed a timestamp and
// are not used).
//
// A report opens with an "Answers" table, one row per run, before any other
// table: context lost per handoff and its main cause, the longest handoff spill
// against the grace, the Redis peak RSS against system memory with the fork/OOM
// verdict, and the capacity recommendations (answers.go).
//
// The recommendations (recommend.go; Recommend fills RunResult.Recommendations,
// which results.json carries as runs[].recommendations) read only the summary's
// event-exact metrics — peaks and failure levels the Redis model tracks at every
// change — never the sampled series, which miss what happens between samples.
// A size the run failed at is never recommended for its machine.
//
// Series columns are read by name and handled generically: a plot whose
// columns are missing is left out. The Redis memory plot appears only when the
// result carries the Redis memory model's columns (redis_used_memory_bytes,
// redis_rss_bytes, redis_cow_bytes, redis_maxmemory_bytes,
// redis_system_memory_bytes) and fork/oom events; the fork sizing when it carries
// redis_used_memory_peak_bytes.
//
// The plots (file stems):
//
//	context_lost   cumulative context lost (and stale used) over time, per run
//	lost_by_cause  stacked bars of context lost by cause, one bar per run
//	latency        per-sample p50/p99 message latency over time (log scale when wide)
//	latency_cdf    each run's whole latency distribution, by percentile, tail stretched
//	redis_memory   used memory, RSS, fork COW with maxmemory/system memory, fork/OOM marks
//	lag_pods       consumer lag and pod count over time
//	sweep          key metrics against the swept value, one line per variant
//
// Usage:
//
//	plan, _ := sc.Plan()
//	res, _ := sim.Run(ctx, plan, sim.Options{})
//	files, err := reports.Write("out/"+sc.Name, res) // res carries the plan: every run's own scenario
//	for _, o := range reports.Failures(reports.CheckExpectations(res)) {
//		fmt.Println("FAIL", o) // scale-in: run spill: context_loss_ratio = 0.03 is above max 0.01
//	}
//	fmt.Println("report:", files.Report)
package reports
