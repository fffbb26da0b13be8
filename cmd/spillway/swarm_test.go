package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSwarmUsage(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "seed and seeds", args: []string{"swarm", "-seed", "3", "-seeds", "2"}, wantErr: "exclusive"},
		{name: "zero seeds", args: []string{"swarm", "-seeds", "0"}, wantErr: "-seeds 0"},
		{name: "negative budget", args: []string{"swarm", "-budget", "-1s"}, wantErr: "-budget -1s"},
		{name: "positional", args: []string{"swarm", "x"}, wantErr: `unexpected argument "x"`},
		{name: "bad flag", args: []string{"swarm", "-bogus"}, wantErr: "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := cli(t, tt.args...)
			if code != exitUsage || out != "" || !strings.Contains(errs, tt.wantErr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, out, errs, exitUsage, tt.wantErr)
			}
		})
	}
}

// TestSwarmStdoutDeterministic runs the same seed list twice and compares the
// bytes of stdout; timing goes to stderr.
func TestSwarmStdoutDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three seeds twice (a few seconds)")
	}
	dir := t.TempDir()
	code1, out1, err1 := cli(t, "swarm", "-seeds", "3", "-out", dir)
	code2, out2, _ := cli(t, "swarm", "-seeds", "3", "-out", dir)
	if code1 != code2 || out1 != out2 {
		t.Fatalf("two runs differ:\nexit %d:\n%s\nexit %d:\n%s", code1, out1, code2, out2)
	}
	lines := strings.Split(strings.TrimSuffix(out1, "\n"), "\n")
	for i, want := range []string{"seed 1: ", "seed 2: ", "seed 3: "} {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], want)
		}
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "swarm: 3 seeds, ") {
		t.Errorf("summary line = %q", last)
	}
	if strings.Contains(out1, "ms") || !strings.Contains(err1, "seeds/minute") {
		t.Errorf("timing must go to stderr only:\nstdout %q\nstderr %q", out1, err1)
	}
	if code1 == exitOK && strings.Contains(out1, "FAIL") {
		t.Errorf("exit 0 with a failure printed:\n%s", out1)
	}
}

func TestSwarmOneSeedWritesScenarioOnFailureOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a seed")
	}
	dir := t.TempDir()
	code, out, errs := cli(t, "swarm", "-seed", "1", "-out", dir)
	path := filepath.Join(dir, "swarm-seed-1.yaml")
	_, statErr := os.Stat(path)
	switch code {
	case exitOK:
		if !strings.HasPrefix(out, "seed 1: ok (") || statErr == nil {
			t.Errorf("pass: stdout %q, scenario file written: %t", out, statErr == nil)
		}
	case exitExpect:
		if !strings.Contains(out, "reproduce: spillway swarm -seed 1") || statErr != nil {
			t.Errorf("fail: stdout %q, scenario file: %v", out, statErr)
		}
	default:
		t.Errorf("exit %d\n%s\n%s", code, out, errs)
	}
}

func TestSwarmBudgetStopsStartingSeeds(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a seed")
	}
	code, out, errs := cli(t, "swarm", "-seeds", "50", "-budget", "1ns", "-out", t.TempDir())
	if code != exitOK && code != exitExpect {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "swarm: 1 seeds, ") || !strings.Contains(errs, "49 of 50 seeds not started") {
		t.Errorf("stdout %q\nstderr %q", out, errs)
	}
}
