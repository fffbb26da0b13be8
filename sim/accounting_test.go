package sim

import (
	"testing"

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
