package reports

import (
	"fmt"
	"math"

	"github.com/spillway-sim/spillway/sim"
	"github.com/spillway-sim/spillway/sim/calibration"
	"github.com/spillway-sim/spillway/sim/workload"
)

// The capacity answers of one run (sim.Recommendations), from its event-exact
// summary metrics — never from the sampled series, which miss what happens between
// two samples (a fork's copy-on-write, the moment of an OOM kill).
//
//   - maxmemory_bytes: the spilled context's peak used_memory
//     (redis_used_memory_peak_bytes) plus headroomFraction. When the run cut that
//     peak short — it evicted keys, refused writes or was OOM-killed — the peak is
//     not what the context needs (nor when spills failed or were cut by the
//     grace), and every datapoint's context in Redis at once
//     (the calibrated memory model, calibration.UsedMemory) is taken when larger.
//   - fork footprint ratio φ: RSS, copied pages included, per byte of used memory
//     during a fork. From a fork the run completed, the larger of the RSS peak and the
//     copy-on-write peak, each over the used memory of its moment
//     (redis_used_memory_at_*_peak_bytes) — a ratio measured at this run's write
//     rate; the copy-on-write share of the dataset depends on the write rate over
//     the snapshot rate, not on the dataset's size, so it carries over to another
//     maxmemory. Without a completed fork (none ran, or the OOM killer cut it short),
//     the worst case: the fork copies every page, φ = 2 × the calibrated
//     fragmentation, plus the child's own copies (COW.BaselineBytes).
//   - fork_safe_maxmemory_bytes: (system memory − the child's own copies) / φ. It is
//     then held under every level the run failed at: below the used memory of an OOM
//     kill by the kill's own footprint (system memory × used / RSS at the kill), and
//     at most forkFailMargin of the used memory at which a fork was refused.
//   - system_memory_bytes: maxmemory_bytes × φ (+ the child's copies), with φ raised
//     to what the caps above imply, so that this machine's fork-safe maxmemory is
//     maxmemory_bytes; system_memory_shortfall_bytes is how far the run's machine is
//     below it.
//   - spill_parallelism: the largest handoff spill (handoff_spill_keys_max) written at
//     the longest handoff spill's throughput per worker
//     (handoff_spill_keys_per_worker_second) must end within graceTarget of the
//     termination grace; it assumes the time falls as 1/workers (a spill the
//     single-threaded server bounds falls less: sweep it, as grace-period does).

// graceTarget is the share of the termination grace a spill should take (the
// report's advice: a grace of 1.5 × the longest spill).
const graceTarget = 1 / 1.5

// forkFailMargin is the share of the used memory at a refused fork that a
// fork-safe maxmemory may reach.
const forkFailMargin = 0.9

// recommendation is a run's answers with the numbers behind them, for the report.
type recommendation struct {
	sim.Recommendations
	run string

	// needBytes is the used memory the context needs; needAllKeys says it is
	// every datapoint's context (the run's own peak was cut short).
	needBytes   float64
	needAllKeys bool
	stored      bool // the run wrote context to Redis

	systemBytes float64 // the run's system memory (0: unlimited)
	phi         float64 // fork footprint ratio assumed
	childBytes  float64 // the child's own copies added to φ × used (worst case only)
	phiFrom     string  // how φ was found, for the report
	capFrom     string  // the failure level that capped the fork-safe maxmemory, "" when none did

	// The Redis node's peaks and failures (event-exact).
	rssPeak, usedPeak, usedAtRSSPeak float64
	oomUsed, oomRSS, forkFailedUsed  float64
	forks, ooms, forkFailures        float64
	rejected                         float64

	// Handoff spills.
	spillKeys, spillRate, spillSeconds, graceSeconds float64
	spillConfigured, spillBatches                    int
	spillMeasured                                    bool // SpillParallelism comes from a measured throughput
}

// shortfall reports whether the machine is too small for the working set.
func (r recommendation) shortfall() bool { return r.SystemMemoryShortfallBytes > 0 }

// Recommend fills each run's Recommendations from its summary (a run without the
// Redis memory model's metrics gets none). Write calls it before results.json is
// written; it is deterministic and may be called again.
func Recommend(res *sim.Result) error {
	v, err := newView(res)
	if err != nil {
		return err
	}
	for _, r := range v.runs {
		r.Recommendations = nil
		if rec, ok := recommend(r); ok {
			out := rec.Recommendations
			r.Recommendations = &out
		}
	}
	return nil
}

// recommend computes a run's answers; false when the run has no Redis memory metrics.
func recommend(r runView) (recommendation, bool) {
	usedPeak, ok := r.metric("redis_used_memory_peak_bytes")
	if !ok {
		return recommendation{}, false
	}
	cal := calibration.Default()
	frag := cal.Memory.RSSFragmentationRatio
	child := float64(cal.COW.BaselineBytes)
	rec := recommendation{run: r.Label, usedPeak: usedPeak,
		systemBytes:     float64(r.sc.Redis.SystemMemory.Bytes()),
		rssPeak:         r.metricOr("redis_rss_peak_bytes", 0),
		usedAtRSSPeak:   r.metricOr("redis_used_memory_at_rss_peak_bytes", 0),
		oomUsed:         r.metricOr("redis_oom_used_memory_bytes", 0),
		oomRSS:          r.metricOr("redis_oom_rss_bytes", 0),
		forkFailedUsed:  r.metricOr("redis_fork_failed_used_memory_bytes", 0),
		ooms:            r.metricOr("redis_oom_kills", 0),
		forkFailures:    r.metricOr("redis_fork_failures", 0),
		rejected:        r.metricOr("redis_rejected_writes", 0),
		spillKeys:       r.metricOr("handoff_spill_keys_max", 0),
		spillRate:       r.metricOr("handoff_spill_keys_per_worker_second", 0),
		spillSeconds:    r.metricOr("handoff_spill_duration_max", r.metricOr("spill_duration_max", 0)),
		graceSeconds:    r.sc.Consumers.TerminationGrace.Std().Seconds(),
		spillConfigured: r.sc.State.SpillParallelism,
	}
	for _, e := range r.Events {
		if e.Kind == "fork" {
			rec.forks++
		}
	}

	// What the context needs.
	spilled := r.metricOr("spilled_keys", 0)
	rec.stored = spilled > 0
	if rec.stored {
		rec.needBytes = usedPeak
		cut := r.metricOr("redis_evicted_keys", 0) > 0 || rec.rejected > 0 || rec.ooms > 0 ||
			r.metricOr("spill_failed_keys", 0) > 0
		if cut {
			st := r.sc.State
			value := int(math.Ceil(r.metricOr("spill_bytes", 0) / spilled))
			all := float64(cal.UsedMemory(int64(r.sc.Workload.Datapoints), workload.RedisKeyLen(r.sc.Log.Partitions),
				value, st.TTL > 0 || st.TTLIntervals > 0) + r.sc.Redis.BaselineUsed.Bytes())
			if all > rec.needBytes {
				rec.needBytes, rec.needAllKeys = all, true
			}
		}
		rec.MaxmemoryBytes = int64(math.Ceil(rec.needBytes * (1 + headroomFraction)))
	}

	// The fork footprint ratio.
	cowPeak := r.metricOr("redis_cow_peak_bytes", 0)
	usedAtCOW := r.metricOr("redis_used_memory_at_cow_peak_bytes", 0)
	completed := rec.ooms == 0 && rec.forks > 0 && cowPeak > 0 && usedAtCOW > 0
	switch {
	case completed:
		rec.phi = (frag*usedAtCOW + cowPeak) / usedAtCOW
		if rec.usedAtRSSPeak > 0 {
			rec.phi = math.Max(rec.phi, rec.rssPeak/rec.usedAtRSSPeak)
		}
		rec.phiFrom = "measured in this run's fork(s), at its write rate"
	case rec.ooms > 0:
		rec.phi, rec.childBytes = 2*frag, child
		rec.phiFrom = "the OOM killer cut the save short, so this run cannot say how many more pages it would " +
			"have copied: every page is assumed"
	default:
		rec.phi, rec.childBytes = 2*frag, child
		rec.phiFrom = "no fork completed in this run, so a save that copies every page, as a write-heavy one does, " +
			"is assumed"
	}
	rec.ForkFootprintRatio = math.Round(rec.phi*1000) / 1000

	// Fork-safe maxmemory on the run's machine, under every level it failed at.
	if sys := rec.systemBytes; sys > 0 {
		safe := math.Max(0, sys-rec.childBytes) / rec.phi
		if rec.oomUsed > 0 && rec.oomRSS > 0 {
			if lim := sys * rec.oomUsed / rec.oomRSS; lim < safe {
				safe = lim
				rec.capFrom = fmt.Sprintf("held below the OOM kill at %s used (RSS %s)", FormatBytes(rec.oomUsed),
					FormatBytes(rec.oomRSS))
			}
		}
		if rec.forkFailedUsed > 0 {
			if lim := forkFailMargin * rec.forkFailedUsed; lim < safe {
				safe = lim
				rec.capFrom = fmt.Sprintf("held to %s of the %s used at which a fork was refused",
					FormatPercent(forkFailMargin), FormatBytes(rec.forkFailedUsed))
			}
		}
		rec.ForkSafeMaxmemoryBytes = int64(math.Floor(safe))
	}

	// The machine the recommended maxmemory needs, and this one's shortfall.
	if rec.stored {
		phi := rec.phi
		if rec.capFrom != "" && rec.ForkSafeMaxmemoryBytes > 0 {
			phi = math.Max(phi, (rec.systemBytes-rec.childBytes)/float64(rec.ForkSafeMaxmemoryBytes))
		}
		rec.SystemMemoryBytes = int64(math.Ceil(float64(rec.MaxmemoryBytes)*phi + rec.childBytes))
		if rec.systemBytes > 0 {
			rec.SystemMemoryShortfallBytes = max(0, rec.SystemMemoryBytes-int64(rec.systemBytes))
		}
	}

	// Spill workers for the grace.
	rec.SpillParallelism = rec.spillConfigured
	if batch := r.sc.State.SpillBatch; batch > 0 {
		rec.spillBatches = int(math.Ceil(rec.spillKeys / float64(batch)))
	}
	if rec.spillKeys > 0 && rec.spillRate > 0 && rec.graceSeconds > 0 {
		workerSeconds := rec.spillKeys / rec.spillRate
		rec.SpillParallelism = max(1, int(math.Ceil(workerSeconds/(graceTarget*rec.graceSeconds)-1e-9)))
		rec.spillMeasured = true
	}
	rec.RedisNodesForCPU = nodesForCPU(r.metricOr("redis_cpu_peak_utilization", 0), r.sc.Redis.Nodes) // hosts.go
	return rec, true
}

// spillSecondsAt is the largest handoff spill's time with p workers, at the
// measured throughput per worker (NaN without a measurement).
func (r recommendation) spillSecondsAt(p int) float64 {
	if r.spillKeys <= 0 || r.spillRate <= 0 || p <= 0 {
		return math.NaN()
	}
	return r.spillKeys / r.spillRate / float64(p)
}
