package scenarios

import (
	"errors"
	"os"
	"sort"
	"strings"
	"testing"
)

func TestLibrary(t *testing.T) {
	lib := Library()
	if len(lib) == 0 {
		t.Fatal("empty library")
	}
	if !sort.SliceIsSorted(lib, func(i, j int) bool { return lib[i].Name < lib[j].Name }) {
		t.Fatalf("library not sorted: %v", lib)
	}
	for _, e := range lib {
		t.Run(e.Name, func(t *testing.T) {
			s, err := Open(e.Name)
			if err != nil {
				t.Fatal(err)
			}
			if s.Name != e.Name {
				t.Errorf("file %s.yaml names itself %q", e.Name, s.Name)
			}
			if e.Description == "" || s.Description != e.Description {
				t.Errorf("description %q vs %q", e.Description, s.Description)
			}
			if s.File() != e.Name+".yaml" {
				t.Errorf("File() = %q", s.File())
			}
			if _, err := s.SweepPoints(); err != nil {
				t.Error(err)
			}
			if len(s.Expect) == 0 {
				t.Error("a shipped scenario has no expectations")
			}
		})
	}
}

func TestScaleInMatchesTheBrief(t *testing.T) {
	s, err := Open("scale-in")
	if err != nil {
		t.Fatal(err)
	}
	if s.Consumers.Replicas != 6 || len(s.Timeline) != 1 || s.Timeline[0].Action() != ActionScale ||
		*s.Timeline[0].Scale != 3 || s.Workload.Datapoints != 40000 || s.Log.Partitions != 24 {
		t.Fatalf("scale-in: %+v", s)
	}
	runs, _ := s.VariantRuns()
	if len(runs) != 2 || runs[0].Scenario.State.Strategy != StrategyMemoryOnly ||
		runs[1].Scenario.State.Strategy != StrategySpillOnRevoke {
		t.Fatalf("variants: %+v", runs)
	}
}

func TestOpen(t *testing.T) {
	tests := []struct {
		name    string
		arg     string
		wantErr string
		is      error
	}{
		{name: "shipped name", arg: "scale-in"},
		{name: "relative path", arg: "testdata/minimal.yaml"},
		{name: "yaml suffix is a path", arg: "scale-in.yaml"},
		{name: "typo", arg: "scale-ni", wantErr: `scenarios: unknown scenario "scale-ni" (did you mean scale-in?)`, is: ErrUnknownScenario},
		{name: "missing file", arg: "testdata/nope.yaml", is: os.ErrNotExist},
		{name: "invalid file", arg: "testdata/design-sample.yaml", is: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(tt.arg)
			if tt.is == nil {
				if err != nil || s == nil {
					t.Fatalf("Open(%q) = %v", tt.arg, err)
				}
				return
			}
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Open(%q) error = %v, want %v containing %q", tt.arg, err, tt.is, tt.wantErr)
			}
		})
	}
}
