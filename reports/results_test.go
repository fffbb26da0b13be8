package reports

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/spillway-sim/spillway/sim"
)

// TestMarshalResultStable: the same result gives the same bytes, twice and
// from an identical copy.
func TestMarshalResultStable(t *testing.T) {
	_, res := fixture(t)
	a, err := MarshalResult(res)
	if err != nil {
		t.Fatal(err)
	}
	b, err := MarshalResult(res)
	if err != nil {
		t.Fatal(err)
	}
	_, res2 := fixture(t)
	c, err := MarshalResult(res2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) || !bytes.Equal(a, c) {
		t.Fatal("MarshalResult is not byte-identical for the same result")
	}
}

// TestMarshalResultMatchesJSON: results.json is json.Marshal(res) laid out
// differently: both decode to the same value, and it decodes into sim.Result.
func TestMarshalResultMatchesJSON(t *testing.T) {
	_, fx := fixture(t)
	seeds := []uint64{4, 5}
	tests := []struct {
		name string
		res  *sim.Result
	}{
		{name: "fixture", res: fx},
		{name: "no runs", res: &sim.Result{Scenario: "empty", Seed: 1}},
		{name: "empty runs", res: &sim.Result{Scenario: "empty", Runs: []*sim.RunResult{}}},
		{name: "empty run", res: &sim.Result{Scenario: "e", Runs: []*sim.RunResult{{Label: "a", Variant: "a",
			Summary: sim.Summary{}, Events: []sim.Event{}, Series: sim.Series{Rows: [][]float64{}}}}}},
		{name: "html characters", res: &sim.Result{Scenario: "a<b>&c", Runs: []*sim.RunResult{{Label: "x",
			Events: []sim.Event{{Kind: "k", Detail: "6 -> 3 & <x>"}}}}}},
		{name: "repeated", res: &sim.Result{Scenario: "r", Seed: 4, Repeat: 2, Runs: []*sim.RunResult{
			{Label: "seed=4", Variant: "default", Seed: &seeds[0]}, {Label: "seed=5", Variant: "default", Seed: &seeds[1]}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MarshalResult(tt.res)
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(tt.res)
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("results.json is not JSON: %v\n%s", err, got)
			}
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("results.json differs from json.Marshal:\n%s\nvs\n%s", got, want)
			}
			var back sim.Result
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatalf("does not decode into sim.Result: %v", err)
			}
			if strings.Contains(string(got), `\u003c`) {
				t.Error("HTML characters escaped")
			}
		})
	}
}

func TestMarshalResultLayout(t *testing.T) {
	_, res := fixture(t)
	got, err := MarshalResult(res)
	if err != nil {
		t.Fatal(err)
	}
	s := string(got)
	for _, want := range []string{
		"{\n  \"scenario\": \"fixture\",\n  \"seed\": 7,\n  \"runs\": [\n    {\n      \"label\": \"memory-only\",",
		"\n        \"context_loss_ratio\":0.1,\n",
		"\n          [0,0,0,0,0,0,",
		"\n        {\"at\":\"4m0s\",\"kind\":\"timeline\",\"detail\":\"scale to 2\"},\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("results.json lacks %q", want)
		}
	}
	if !strings.HasSuffix(s, "\n  ]\n}\n") {
		t.Errorf("results.json ends %q", s[len(s)-20:])
	}
}

func TestMarshalResultErrors(t *testing.T) {
	tests := []struct {
		name string
		res  *sim.Result
	}{
		{name: "nil", res: nil},
		{name: "NaN in summary", res: &sim.Result{Runs: []*sim.RunResult{{Summary: sim.Summary{{Name: "x", Value: math.NaN()}}}}}},
		{name: "Inf in series", res: &sim.Result{Runs: []*sim.RunResult{{Series: sim.Series{Rows: [][]float64{{math.Inf(1)}}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := MarshalResult(tt.res); err == nil {
				t.Error("no error")
			}
		})
	}
}
