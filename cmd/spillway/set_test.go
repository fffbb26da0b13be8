package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunSetOverridesFields(t *testing.T) {
	out := t.TempDir()
	code, _, stderr := cli(t, "run", "-quiet", "-out", out, "-set", "workload.sample_rate=0.5",
		"-set", "consumers.replicas=3", testdata("tiny.yaml"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	res, err := os.ReadFile(filepath.Join(out, "tiny", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	resolved, err := os.ReadFile(filepath.Join(out, "tiny", "scenario.resolved.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res), `"sampling": {"rate":0.5,"weight":2`) {
		t.Errorf("results.json does not state the sample rate:\n%.600s", res)
	}
	if !strings.Contains(string(resolved), "sample_rate: 0.5") || !strings.Contains(string(resolved), "replicas: 3") {
		t.Errorf("the resolved scenario lacks the overrides:\n%s", resolved)
	}
}

func TestRunSetBadInput(t *testing.T) {
	for _, tt := range []struct{ set, want string }{
		{"workload.sample_rate=0", "-set: testdata/tiny.yaml: override: workload.sample_rate: 0 is outside (0, 1]"},
		{"workload.sample_rate=2", "workload.sample_rate: 2 is outside (0, 1]"},
		{"workload.nope=1", "workload.nope: unknown field path"},
		{"consumers.replicas=many", `consumers.replicas: "many" is not a whole number`},
		{"noequals", `-set: "noequals": want path=value`},
	} {
		t.Run(tt.set, func(t *testing.T) {
			code, _, stderr := cli(t, "run", "-out", t.TempDir(), "-set", tt.set, testdata("tiny.yaml"))
			if code != exitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, exitUsage, tt.want)
			}
		})
	}
}
