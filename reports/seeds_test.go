package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim"
)

// repeatedFixture is the fixture scenario with repeat: 3: each variant's three
// seeds lose 600, 700 and 800 contexts (memory-only) or none (spill); the
// second spill seed has a Redis OOM kill and a pod SIGKILLed at the end of its grace.
func repeatedFixture(t testing.TB) *sim.Result {
	t.Helper()
	sc, _ := fixture(t)
	sc.Repeat = 3
	plan, err := sc.Plan()
	if err != nil {
		t.Fatal(err)
	}
	res := &sim.Result{Scenario: sc.Name, Seed: sc.Seed, Repeat: 3, Plan: plan}
	for _, pr := range plan.Runs {
		rr := fixtureRun(pr.Label, pr.Variant == "spill")
		rr.Variant = pr.Variant
		seed := pr.Seed
		rr.Seed = &seed
		rr.Run = pr
		if pr.Variant == "memory-only" {
			lost := 600 + 100*float64(pr.SeedIndex)
			for i := range rr.Summary {
				switch rr.Summary[i].Name {
				case "context_lost":
					rr.Summary[i].Value = lost
				case "context_loss_ratio":
					rr.Summary[i].Value = lost / 7000
				}
			}
		}
		if pr.Variant == "spill" && pr.SeedIndex == 1 {
			rr.Summary = append(rr.Summary, sim.Metric{Name: "redis_oom_kills", Value: 1})
			rr.Events = append(rr.Events, sim.Event{Kind: "sigkill", Detail: "pod-3 SIGKILL after the grace period"})
		}
		res.Runs = append(res.Runs, rr)
	}
	return res
}

// TestRepeatedReport: a repeated result's report gives, per variant, the mean
// and 95 % interval over its seeds, the OOM and grace-overrun shares, one row
// per variant in the run table, and an intervals figure; results.json keeps
// every seed's run.
func TestRepeatedReport(t *testing.T) {
	res := repeatedFixture(t)
	dir := t.TempDir()
	files, err := Write(dir, res)
	if err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(files.Report)
	report := string(md)
	// memory-only context_lost: 700 ± 4.303 × 100 / √3 = [451.6, 948.4].
	for _, want := range []string{
		"Every run below ran with 3 seeds (7, 8, 9: the scenario's seed and the next 2)",
		"| metric | memory-only | spill |",
		"| `context_lost` | 700 [452 – 948] | 0 |",
		"| seeds with a Redis OOM kill | 0/3 | 1/3 (33.3 %) |",
		"| seeds with a grace overrun | 0/3 | 1/3 (33.3 %) |",
		"| memory-only | memory-only | state.strategy=memory-only | 7, 8, 9 |",
		"The plots over time show each run's first seed",
		"![Mean over 3 seeds with its 95 % confidence interval](intervals.png)",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(report, "| memory-only/seed=8 | memory-only | state.strategy=memory-only |") {
		t.Error("the run table lists seeds, not variants")
	}
	var names []string
	for _, p := range files.Plots {
		names = append(names, p.Name)
	}
	if !contains(names, plotIntervals) || contains(names, plotSweep) {
		t.Errorf("plots %v: want the intervals figure", names)
	}
	js, _ := os.ReadFile(filepath.Join(dir, ResultsFile))
	for _, want := range []string{`"repeat": 3,`, `"label": "memory-only/seed=9",`, `"seed": 9,`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("results.json lacks %s", want)
		}
	}
}

// TestCheckExpectationsOverSeeds: of: mean and ci_high bound each variant's
// seeds together, through the same checker as every other expectation.
func TestCheckExpectationsOverSeeds(t *testing.T) {
	res := repeatedFixture(t)
	sc := res.Plan.Scenario
	sc.Expect = append(sc.Expect[:0:0], sc.Expect...)
	sc.Expect = append(sc.Expect,
		// mean 700: passes; interval high end 948.4: fails.
		expectation(t, "{variant: memory-only, metric: context_lost, max: 800, of: mean}"),
		expectation(t, "{variant: memory-only, metric: context_lost, max: 900, of: ci_high}"))
	var got []string
	for _, o := range CheckExpectations(res) {
		if o.Seeds > 0 {
			got = append(got, outcomeLine(o))
		}
	}
	want := []string{
		"✅ pass — run `memory-only`: mean of `context_lost` over 3 seeds = 700, bound max 800",
		"❌ **FAIL** — run `memory-only`: ci_high of `context_lost` over 3 seeds = 948, violates max 900",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// expectation decodes one expect line.
func expectation(t testing.TB, src string) scenarios.Expectation {
	t.Helper()
	var e scenarios.Expectation
	if err := yaml.Unmarshal([]byte(src), &e); err != nil {
		t.Fatal(err)
	}
	return e
}
