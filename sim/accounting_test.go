package sim

import (
	"testing"
	"time"

	"github.com/spillway-sim/spillway/core"
	"github.com/spillway-sim/spillway/scenarios"
)

func TestCausesMatchTheScenarioContract(t *testing.T) {
	if len(Causes()) != len(scenarios.LossCauses) {
		t.Fatalf("%d causes here, %d in scenarios.LossCauses", len(Causes()), len(scenarios.LossCauses))
	}
	for i, c := range Causes() {
		if c.String() != scenarios.LossCauses[i] {
			t.Fatalf("cause %d is %q here, %q in the contract", i, c, scenarios.LossCauses[i])
		}
	}
}

func TestFate(t *testing.T) {
	f := make(fate, 3)
	if f.cause(0) != CauseUnknown {
		t.Fatal("a key never processed has a cause")
	}
	f.inMemory(1, 7)
	if !f.heldBy(1, 7) || f.heldBy(1, 8) || f.cause(1) != CauseUnknown {
		t.Fatal("inMemory/heldBy")
	}
	f.lose(1, CauseGraceOverrun)
	if f.heldBy(1, 7) || f.cause(1) != CauseGraceOverrun {
		t.Fatalf("lose: cause %v", f.cause(1))
	}
}

func TestHandoffStats(t *testing.T) {
	var h handoffStats
	disabled := &core.SpillReport{Keys: 50, NotWritten: 50}
	disabled.ByReason[core.ReasonDisabled] = 50
	h.record(disabled, time.Second, 1) // memory-only: nothing to write, nothing recorded
	h.record(&core.SpillReport{Keys: 300, Written: 300}, 100*time.Millisecond, 2)
	cut := &core.SpillReport{Keys: 200, Written: 80, NotWritten: 120}
	cut.ByReason[core.ReasonDeadline] = 120
	h.record(cut, 400*time.Millisecond, 1)                                // cut by the grace: 80 keys in 0.4 s on one worker
	h.record(&core.SpillReport{Keys: 10, NotWritten: 10}, time.Second, 1) // wrote nothing: no throughput
	if h.keysMax != 300 || h.longest != time.Second || h.workerRate != 200 || h.rateTook != 400*time.Millisecond {
		t.Fatalf("handoff stats %+v: want 300 keys max, longest 1s, 200 keys per worker-second over 400ms", h)
	}
}
