package reports

import (
	"bytes"
	"fmt"
	"math"
	"strings"
)

// writeAnswers is the report's first block: per run, one row with what a reader
// came for — context lost per handoff and its main cause, the longest handoff
// spill against the grace, the Redis peak against system memory with the
// fork/OOM verdict, and the capacity recommendations — before any other table.
// Every number is an event-exact summary metric or a recommendation (recommend.go).
func (v *view) writeAnswers(b *bytes.Buffer) {
	if len(v.runs) == 0 {
		return
	}
	b.WriteString("## Answers\n\n")
	b.WriteString("| run | context lost per handoff (main cause) | longest handoff spill vs grace | " +
		"Redis peak RSS vs system memory | recommended: maxmemory · fork-safe maxmemory · spill workers · system memory |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, r := range v.runs {
		rec, ok := recommend(r)
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", cell(r.Label), cell(lossAnswer(r)), cell(spillAnswer(r)),
			cell(redisAnswer(r, rec, ok)), cell(recommendAnswer(rec, ok)))
	}
	b.WriteString("\nPeaks are tracked at every change, not sampled. Machine-readable: `runs[].recommendations` in " +
		ResultsFile + "; the arithmetic behind each answer: [Capacity recommendations](#capacity-recommendations).\n\n")
	v.writeHostsCPU(b)
}

// lossAnswer is "N per handoff (r %), mostly `cause`".
func lossAnswer(r runView) string {
	needed := r.metricOr("context_needed", 0)
	lost, stale := r.metricOr("context_lost", 0), r.metricOr("context_stale_used", 0)
	if _, ok := r.metric("context_lost"); !ok {
		return "—"
	}
	handoffs := math.Max(0, r.metricOr("rebalances", 0)-1)
	var s string
	if handoffs >= 1 {
		s = "**" + FormatCount(lost/handoffs) + "**"
	} else {
		s = "no handoff; **" + FormatCount(lost) + "** lost"
	}
	if needed > 0 {
		s += " (" + FormatPercent(lost/needed) + " of needed)"
	}
	if cause, n := topCause(r); n > 0 {
		s += fmt.Sprintf(", %s `%s`", shareWord(n, lost), cause)
	}
	if stale > 0 {
		if handoffs >= 1 {
			stale /= handoffs
		}
		s += "; **" + FormatCount(stale) + " stale used**"
	}
	return s
}

// shareWord is "all", "mostly" or "largest share", by n's share of total.
func shareWord(n, total float64) string {
	switch {
	case n >= total:
		return "all"
	case n > total/2:
		return "mostly"
	}
	return "largest share"
}

// topCause is the loss cause with the most lost contexts (first in summary order on a tie).
func topCause(r runView) (string, float64) {
	best, most := "", 0.0
	for _, m := range r.Summary {
		if c, ok := strings.CutPrefix(m.Name, lostByCausePrefix); ok && m.Value > most {
			best, most = c, m.Value
		}
	}
	return best, most
}

// spillAnswer is the longest handoff spill against the termination grace.
func spillAnswer(r runView) string {
	if r.metricOr("handoff_spill_keys_max", 0) == 0 {
		if _, ok := r.metric("handoff_spill_keys_max"); ok {
			return "no handoff spill"
		}
	}
	spill, ok := r.metric("handoff_spill_duration_max")
	if !ok {
		if spill, ok = r.metric("spill_duration_max"); !ok {
			return "—"
		}
	}
	grace := r.sc.Consumers.TerminationGrace.Std().Seconds()
	overrun := r.metricOr(lostByCausePrefix+"grace_overrun", 0)
	if spill < grace && overrun == 0 {
		s := fmt.Sprintf("%s of %s: fits", FormatSeconds(spill), FormatSeconds(grace))
		if failed := r.metricOr("spill_failed_keys", 0); failed > 0 {
			s += fmt.Sprintf(", but **%s writes failed** (Redis errors)", FormatCount(failed))
		}
		return s
	}
	return fmt.Sprintf("**%s of %s: cut off**, %s lost", FormatSeconds(spill), FormatSeconds(grace),
		FormatCount(overrun))
}

// redisAnswer is the peak RSS against system memory and what the forks did.
func redisAnswer(r runView, rec recommendation, ok bool) string {
	if !ok {
		return "—"
	}
	s := "RSS " + FormatBytes(rec.rssPeak)
	if rec.systemBytes > 0 {
		s += fmt.Sprintf(" of %s (%s)", FormatBytes(rec.systemBytes), FormatPercent(rec.rssPeak/rec.systemBytes))
	}
	switch {
	case rec.ooms > 0:
		s += fmt.Sprintf(": **OOM-killed** at %s used", FormatBytes(rec.oomUsed))
	case rec.forkFailures > 0:
		s += fmt.Sprintf(": **fork refused** at %s used", FormatBytes(rec.forkFailedUsed))
		if rec.rejected > 0 {
			s += ", " + FormatCount(rec.rejected) + " writes rejected"
		}
	case rec.forks > 0:
		s += fmt.Sprintf(": survived %s", pluralF(rec.forks, "fork"))
	default:
		s += ": no fork"
	}
	return s
}

// recommendAnswer is the four recommendations, and the machine's shortfall.
func recommendAnswer(rec recommendation, ok bool) string {
	if !ok {
		return "—"
	}
	var parts []string
	if rec.stored {
		parts = append(parts, FormatBytes(float64(rec.MaxmemoryBytes)))
	} else {
		parts = append(parts, "no context in Redis")
	}
	if rec.ForkSafeMaxmemoryBytes > 0 {
		parts = append(parts, "≤ "+FormatBytes(float64(rec.ForkSafeMaxmemoryBytes)))
	} else {
		parts = append(parts, "no memory limit set")
	}
	if rec.spillMeasured {
		parts = append(parts, FormatCount(float64(rec.SpillParallelism)))
	} else {
		parts = append(parts, FormatCount(float64(rec.SpillParallelism))+" (as set: nothing measured)")
	}
	if rec.stored {
		parts = append(parts, FormatBytes(float64(rec.SystemMemoryBytes)))
	}
	s := strings.Join(parts, " · ")
	if rec.shortfall() {
		s += fmt.Sprintf(" — **this %s machine is %s too small**", FormatBytes(rec.systemBytes),
			FormatBytes(float64(rec.SystemMemoryShortfallBytes)))
	}
	return s
}

// pluralF is "1 fork", "2 forks".
func pluralF(n float64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return FormatCount(n) + " " + noun + "s"
}
