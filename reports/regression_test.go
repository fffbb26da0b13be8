//go:build !race

package reports

import (
	"context"
	"strings"
	"testing"

	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim"
)

// Not built under -race: the simulator runs a shipped scenario ~30 times slower
// there (minutes). make test runs it in its own step without -race, as it does the
// golden summaries.

// TestUncappedBGSaveOOMRegression runs bgsave-fork-oom's uncapped variant (a
// write-heavy node OOM-killed in BGSAVE). Before the peaks were event-exact its
// report read the 5 s samples: killed at 9.71 MiB used, it called up to 10.5 MiB
// of maxmemory safe, with "peak RSS 11.1 MiB of 12". No recommendation may reach
// the used memory it died at, and wherever the report shows its peak RSS, that
// peak is at least its system memory.
func TestUncappedBGSaveOOMRegression(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs a shipped scenario")
	}
	sc, err := scenarios.Open("bgsave-fork-oom")
	if err != nil {
		t.Fatal(err)
	}
	var variants []scenarios.Variant
	for _, v := range sc.Variants {
		if v.Name == "uncapped" {
			variants = append(variants, v)
		}
	}
	if len(variants) != 1 {
		t.Fatalf("bgsave-fork-oom has no uncapped variant: %+v", sc.Variants)
	}
	sc.Variants, sc.Expect = variants, nil
	plan, err := sc.Plan()
	if err != nil {
		t.Fatal(err)
	}
	res, err := sim.Run(context.Background(), plan, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := Recommend(res); err != nil {
		t.Fatal(err)
	}
	run := res.Runs[0]
	get := func(name string) float64 {
		v, ok := run.Summary.Get(name)
		if !ok {
			t.Fatalf("no %s in the summary", name)
		}
		return v
	}
	system := float64(sc.Redis.SystemMemory.Bytes())
	oomUsed, oomRSS, rssPeak := get("redis_oom_used_memory_bytes"), get("redis_oom_rss_bytes"), get("redis_rss_peak_bytes")
	if get("redis_oom_kills") < 1 || oomUsed <= 0 {
		t.Fatalf("the uncapped run was not OOM-killed (kills %v, used at the kill %v)", get("redis_oom_kills"), oomUsed)
	}
	if oomRSS <= system || rssPeak < oomRSS {
		t.Fatalf("RSS at the kill %v, peak %v, system memory %v: the peak must reach system memory", oomRSS, rssPeak, system)
	}
	rec := run.Recommendations
	if rec == nil {
		t.Fatal("no recommendations")
	}
	t.Logf("killed at %v used (RSS %v of %v); recommendations %+v", oomUsed, oomRSS, system, *rec)
	if rec.ForkSafeMaxmemoryBytes <= 0 || float64(rec.ForkSafeMaxmemoryBytes) >= oomUsed {
		t.Fatalf("fork_safe_maxmemory_bytes %d, killed at %v used", rec.ForkSafeMaxmemoryBytes, oomUsed)
	}
	if float64(rec.SystemMemoryBytes) <= system || rec.SystemMemoryShortfallBytes != rec.SystemMemoryBytes-int64(system) {
		t.Fatalf("system_memory_bytes %d (shortfall %d) on a %v machine that died", rec.SystemMemoryBytes,
			rec.SystemMemoryShortfallBytes, system)
	}

	v, err := newView(res)
	if err != nil {
		t.Fatal(err)
	}
	md := string(v.markdown(nil))
	answers, setup := strings.Index(md, "## Answers"), strings.Index(md, "| run | strategy | overrides |")
	if answers < 0 || setup < answers || strings.Count(md[:answers], "\n|") > 0 {
		t.Fatalf("the Answers block is not the report's first table:\n%s", md[:min(len(md), 3000)])
	}
	block := md[answers:setup]
	peak := FormatBytes(rssPeak)
	for _, want := range []string{"**OOM-killed** at " + FormatBytes(oomUsed), "RSS " + peak + " of " + FormatBytes(system),
		"≤ " + FormatBytes(float64(rec.ForkSafeMaxmemoryBytes)), "too small"} {
		if !strings.Contains(block, want) {
			t.Errorf("the Answers block lacks %q:\n%s", want, block)
		}
	}
	if want := "peak RSS (copy-on-write included) **" + peak + "**"; !strings.Contains(md, want) {
		t.Errorf("the fork sizing does not show the event-exact peak %q", want)
	}
	// No other peak RSS figure below system memory is shown for this run.
	for _, line := range strings.Split(md, "\n") {
		if strings.Contains(line, "peak RSS") && strings.Contains(line, "iB") && !strings.Contains(line, peak) {
			t.Errorf("a line shows another peak RSS than %s: %s", peak, line)
		}
	}
}
