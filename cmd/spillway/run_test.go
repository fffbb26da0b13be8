package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testdata(name string) string { return filepath.Join("testdata", name) }

func TestRunWritesReport(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := cli(t, "run", "-out", out, testdata("tiny.yaml"))
	if code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	dir := filepath.Join(out, "tiny")
	for _, f := range []string{"results.json", "scenario.resolved.yaml", "report.md", "context_lost.png",
		"context_lost.svg", "lag_pods.png", "latency_cdf.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: missing or empty (%v)", f, err)
		}
	}
	for _, want := range []string{"tiny: 2 run(s)", "memory-only", "spill", "loss ratio", "expectations: all 2 passed",
		"report: " + filepath.Join(dir, "report.md")} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if stderr != "" {
		t.Errorf("stderr not empty (no terminal, no failures): %q", stderr)
	}
}

func TestRunExpectationFailure(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := cli(t, "run", "-quiet", "-out", out, testdata("failing.yaml"))
	if code != exitExpect {
		t.Fatalf("exit %d, want %d\nstderr: %s", code, exitExpect, stderr)
	}
	if stdout != "" {
		t.Errorf("-quiet printed to stdout: %q", stdout)
	}
	// scenario, variant, metric, value and bound of the one failure; the spill
	// variant meets the bound.
	want := "FAIL failing: run memory-only: context_loss_ratio = "
	if !strings.Contains(stderr, want) || !strings.Contains(stderr, "is above max 0 (variant memory-only)") {
		t.Errorf("stderr lacks the failure:\n%s", stderr)
	}
	if strings.Count(stderr, "FAIL") != 1 {
		t.Errorf("want exactly one failure:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "failing", "report.md")); err != nil {
		t.Errorf("no report written for a failing run: %v", err)
	}
}

// TestRunPointExpectation: an expectation limited to a sweep point is checked
// on that point's run, and only there: failing, it makes the run exit 1;
// passing, it is counted once.
func TestRunPointExpectation(t *testing.T) {
	tests := []struct {
		name, file string
		code       int
		stdout     string
		stderr     string
	}{
		{name: "failing", file: "point-failing.yaml", code: exitExpect, stdout: "expectations: 1 of 1 failed",
			stderr: "FAIL point-failing: run memory-only/consumers.termination_grace=30s: context_loss_ratio = "},
		{name: "passing", file: "point-passing.yaml", code: exitOK, stdout: "expectations: all 1 passed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, "run", "-out", t.TempDir(), testdata(tt.file))
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, stdout)
			}
			if tt.stderr == "" && stderr != "" || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q, want %q", stderr, tt.stderr)
			}
			if n := strings.Count(stderr, "FAIL"); tt.code == exitExpect && n != 1 {
				t.Errorf("%d failures, want 1:\n%s", n, stderr)
			}
		})
	}
}

// TestRunParallelMatchesSerial: -parallel changes how runs are scheduled,
// never what they produce.
func TestRunParallelMatchesSerial(t *testing.T) {
	serial, parallel := t.TempDir(), t.TempDir()
	if code, _, stderr := cli(t, "run", "-quiet", "-parallel", "1", "-out", serial, testdata("sweep.yaml")); code != exitOK {
		t.Fatalf("serial: exit %d: %s", code, stderr)
	}
	if code, _, stderr := cli(t, "run", "-quiet", "-parallel", "4", "-out", parallel, testdata("sweep.yaml")); code != exitOK {
		t.Fatalf("parallel: exit %d: %s", code, stderr)
	}
	for _, f := range []string{"results.json", "report.md", "sweep.png", "context_lost.svg"} {
		a, err := os.ReadFile(filepath.Join(serial, "sweep", f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(parallel, "sweep", f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between -parallel 1 and -parallel 4", f)
		}
	}
	res, _ := os.ReadFile(filepath.Join(serial, "sweep", "results.json"))
	for _, label := range []string{"memory-only/consumers.termination_grace=10s", "spill/consumers.termination_grace=30s"} {
		if !strings.Contains(string(res), `"label": "`+label+`"`) {
			t.Errorf("results.json lacks run %s", label)
		}
	}
}

func TestRunSeedOverride(t *testing.T) {
	out := t.TempDir()
	if code, _, stderr := cli(t, "run", "-quiet", "-out", out, testdata("tiny.yaml"), "-seed", "99"); code != exitOK {
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
	if !strings.Contains(string(res), `"seed": 99,`) || !strings.Contains(string(resolved), "seed: 99\n") {
		t.Errorf("seed 99 not in results.json / the resolved scenario")
	}
}

func TestRunBadInputRunsNothing(t *testing.T) {
	out := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "invalid file", args: []string{testdata("tiny.yaml"), testdata("invalid.yaml")},
			want: "invalid.yaml:5: workload.intervall: unknown field"},
		{name: "same name twice", args: []string{testdata("tiny.yaml"), testdata("tiny.yaml")},
			want: `are both named "tiny"`},
		{name: "missing file", args: []string{"testdata/nope.yaml"}, want: "nope.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := cli(t, append([]string{"run", "-out", out}, tt.args...)...)
			if code != exitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and %q", code, stderr, tt.want)
			}
			if _, err := os.Stat(filepath.Join(out, "tiny")); !os.IsNotExist(err) {
				t.Errorf("a run happened despite bad input (%v)", err)
			}
		})
	}
}

// TestPlanMemoryCheck: a scenario estimated above MemAvailable is refused with
// the estimate unless -force; a tight fit lowers the parallelism.
func TestPlanMemoryCheck(t *testing.T) {
	tests := []struct {
		name    string
		avail   int64 // < 0: unknown
		opts    runOptions
		ok      bool
		workers int
		wantErr string
	}{
		{name: "refused", avail: 1 << 20, opts: runOptions{parallel: 4}, wantErr: "needs about 64"},
		{name: "forced", avail: 1 << 20, opts: runOptions{parallel: 4, force: true}, ok: true, workers: 2},
		// the tiny scenario needs about 64 MiB per run: one fits in 100 MiB
		{name: "fewer at once", avail: 100 << 20, opts: runOptions{parallel: 4}, ok: true, workers: 1,
			wantErr: "running 1 at a time instead of 2"},
		{name: "fewer at once, quietly", avail: 100 << 20, opts: runOptions{parallel: 4, quiet: true}, ok: true,
			workers: 1},
		{name: "plenty", avail: 1 << 40, opts: runOptions{parallel: 4}, ok: true, workers: 2},
		{name: "parallel 1", avail: 1 << 40, opts: runOptions{parallel: 1}, ok: true, workers: 1},
		{name: "unknown memory", avail: -1, opts: runOptions{parallel: 4}, ok: true, workers: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			a := newApp(context.Background(), io.Discard, &stderr)
			a.memAvailable = func() (int64, bool) { return tt.avail, tt.avail >= 0 }
			opts := tt.opts
			opts.out = t.TempDir()
			plans, ok := a.plan([]string{testdata("tiny.yaml")}, &opts)
			if ok != tt.ok || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Fatalf("ok %v (want %v), stderr %q (want %q)", ok, tt.ok, stderr.String(), tt.wantErr)
			}
			if tt.wantErr == "" && stderr.Len() > 0 {
				t.Errorf("unexpected stderr %q", stderr.String())
			}
			if ok && (len(plans) != 1 || plans[0].workers != tt.workers) {
				t.Errorf("plans %+v, want one with %d workers", plans, tt.workers)
			}
		})
	}
}

// TestRunRefusedThenForced: the refusal is exit 2 with nothing written; -force runs.
func TestRunRefusedThenForced(t *testing.T) {
	out := t.TempDir()
	for _, force := range []bool{false, true} {
		var stdout, stderr bytes.Buffer
		a := newApp(context.Background(), &stdout, &stderr)
		a.memAvailable = func() (int64, bool) { return 1 << 20, true }
		args := []string{"run", "-quiet", "-out", out, testdata("tiny.yaml")}
		want := exitUsage
		if force {
			args, want = append(args, "-force"), exitOK
		}
		if code := a.main(args); code != want {
			t.Errorf("force=%v: exit %d, want %d; stderr %s", force, code, want, stderr.String())
		}
		_, err := os.Stat(filepath.Join(out, "tiny", "results.json"))
		if written := err == nil; written != force {
			t.Errorf("force=%v: results written = %v", force, written)
		}
	}
}

func TestRunCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	a := newApp(ctx, &stdout, &stderr)
	args := []string{"run", "-quiet", "-parallel", "4", "-out", t.TempDir(), testdata("sweep.yaml")}
	if code := a.main(args); code != exitUsage {
		t.Errorf("exit %d after cancel, want %d; stderr: %s", code, exitUsage, stderr.String())
	}
	// The error is the first run's, in the scenario's order, whatever the parallelism.
	want := "spillway run: sweep: sim: sweep/memory-only/consumers.termination_grace=10s: context canceled\n"
	if stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
}
