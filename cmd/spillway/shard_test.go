package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// dirFiles reads every file of dir by name.
func dirFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = data
	}
	return out
}

// runShards runs every shard of scenario into out and returns the partials' paths.
func runShards(t *testing.T, out, scenario string, n int, extra ...string) []string {
	t.Helper()
	var parts []string
	for i := 0; i < n; i++ {
		args := append([]string{"run", "-quiet", "-out", out, "-shard", shard{i, n}.String()}, extra...)
		if code, _, stderr := cli(t, append(args, scenario)...); code != exitOK {
			t.Fatalf("shard %d/%d: exit %d: %s", i, n, code, stderr)
		}
		parts = append(parts, filepath.Join(out, "repeat", shard{i, n}.fileName()))
	}
	return parts
}

// TestMergeMatchesUnsharded: a scenario with variants, a sweep and repeated
// seeds (12 runs), run whole and as 3 shards joined by merge, gives the same
// bytes in every file of its report directory.
func TestMergeMatchesUnsharded(t *testing.T) {
	whole, shards, merged := t.TempDir(), t.TempDir(), t.TempDir()
	code, stdout, stderr := cli(t, "run", "-out", whole, testdata("repeat.yaml"))
	if code != exitOK {
		t.Fatalf("unsharded: exit %d\n%s\n%s", code, stdout, stderr)
	}
	parts := runShards(t, shards, testdata("repeat.yaml"), 3)
	if entries, _ := os.ReadDir(filepath.Join(shards, "repeat")); len(entries) != 3 {
		t.Errorf("a shard wrote more than its partial: %v", entries)
	}
	slices.Reverse(parts) // the order partials are given in does not matter
	code, mstdout, mstderr := cli(t, append([]string{"merge", "-out", merged}, parts...)...)
	if code != exitOK {
		t.Fatalf("merge: exit %d\n%s\n%s", code, mstdout, mstderr)
	}
	want, got := dirFiles(t, filepath.Join(whole, "repeat")), dirFiles(t, filepath.Join(merged, "repeat"))
	if len(want) < 10 {
		t.Fatalf("the unsharded report has only %d files", len(want))
	}
	for name, data := range want {
		if !bytes.Equal(data, got[name]) {
			t.Errorf("%s differs between the unsharded run and the merge (%d vs %d bytes)", name, len(data),
				len(got[name]))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("merge wrote %s, the unsharded run did not", name)
		}
	}
	if !strings.Contains(mstdout, "repeat: merged 3 shard(s)") || !strings.Contains(mstdout, "expectations: all") {
		t.Errorf("merge output:\n%s", mstdout)
	}
	// results.json keeps every seed's run.
	var res struct {
		Repeat int `json:"repeat"`
		Runs   []struct {
			Label string `json:"label"`
			Seed  uint64 `json:"seed"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(want["results.json"], &res); err != nil {
		t.Fatal(err)
	}
	if res.Repeat != 3 || len(res.Runs) != 12 || res.Runs[0].Label != "memory-only/consumers.termination_grace=10s/seed=5" ||
		res.Runs[2].Seed != 7 || res.Runs[11].Label != "spill/consumers.termination_grace=30s/seed=7" {
		t.Errorf("results.json: repeat %d, %d runs: %+v", res.Repeat, len(res.Runs), res.Runs)
	}
}

// TestMergeRefuses: partials that do not belong together, or do not cover
// every slice once, are refused with an error naming the problem, and
// nothing is written.
func TestMergeRefuses(t *testing.T) {
	dir := t.TempDir()
	parts := runShards(t, dir, testdata("repeat.yaml"), 3)
	other := runShards(t, filepath.Join(dir, "four"), testdata("repeat.yaml"), 4)
	seeded := runShards(t, filepath.Join(dir, "seeded"), testdata("repeat.yaml"), 3, "-seed", "9")
	repeated := runShards(t, filepath.Join(dir, "repeated"), testdata("repeat.yaml"), 3, "-repeat", "2")
	// edit rewrites a copy of parts[1] with one field changed.
	edit := func(name, field string, value any) string {
		data, err := os.ReadFile(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		m[field] = value
		if field == "source" { // a different file: its bytes and their hash
			m["sha256"] = "0fe5d1b0a2c33cd0fa2fbee4c4c12fd2e0f3c9b02bc2b0e5ed8ed6a8d3c2bb7a"
		}
		out, _ := json.Marshal(m)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	src, _ := os.ReadFile(testdata("repeat.yaml"))
	changed := append([]byte("# a comment changes the bytes\n"), src...)
	tests := []struct {
		name  string
		parts []string
		want  string
	}{
		{name: "missing slice", parts: parts[:2], want: "shard 2/3 missing"},
		{name: "duplicate slice", parts: []string{parts[0], parts[1], parts[1], parts[2]},
			want: "shard 1/3 is given twice"},
		{name: "shard counts", parts: []string{parts[0], parts[1], other[2]}, want: "different shard counts"},
		{name: "seeds", parts: []string{parts[0], seeded[1], parts[2]}, want: "ran seed 5 but"},
		{name: "repeat", parts: []string{parts[0], repeated[1], parts[2]}, want: "ran 3 seed(s) per run but"},
		{name: "version", parts: []string{parts[0], edit("version.json", "version", "v0.0.1 go1.20"), parts[2]},
			want: "different program versions (" + programVersion() + " vs v0.0.1 go1.20)"},
		{name: "scenario bytes", parts: []string{parts[0], edit("bytes.json", "source", changed), parts[2]},
			want: "does not match its sha256"},
		{name: "not a partial", parts: []string{testdata("repeat.yaml")}, want: "not a spillway partial"},
	}
	// A different scenario file, hash and all.
	{
		data, _ := os.ReadFile(parts[1])
		var m map[string]any
		_ = json.Unmarshal(data, &m)
		sum := sha256Hex(changed)
		m["source"], m["sha256"] = changed, sum
		out, _ := json.Marshal(m)
		path := filepath.Join(dir, "file.json")
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		tests = append(tests, struct {
			name  string
			parts []string
			want  string
		}{name: "scenario file", parts: []string{parts[0], path, parts[2]}, want: "come from different scenario files"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			code, _, stderr := cli(t, append([]string{"merge", "-out", out}, tt.parts...)...)
			if code != exitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and %q", code, stderr, tt.want)
			}
			if entries, _ := os.ReadDir(out); len(entries) > 0 {
				t.Errorf("merge wrote %v despite refusing", entries)
			}
		})
	}
}

func TestParseShard(t *testing.T) {
	tests := []struct {
		arg  string
		want shard
		err  string
	}{
		{arg: "0/3", want: shard{0, 3}},
		{arg: "2/3", want: shard{2, 3}},
		{arg: "0/1", want: shard{0, 1}},
		{arg: "3/3", err: "numbered 0 to 2"},
		{arg: "-1/3", err: "numbered 0 to 2"},
		{arg: "1/0", err: "need at least 1"},
		{arg: "1", err: "write i/N"},
		{arg: "a/b", err: "write i/N"},
	}
	for _, tt := range tests {
		got, err := parseShard(tt.arg)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseShard(%q): %v, want an error with %q", tt.arg, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseShard(%q) = %v, %v; want %v", tt.arg, got, err, tt.want)
		}
	}
}

// TestRunRepeat: -repeat overrides the file's repeat; a repeat that leaves an
// interval bound without an interval is bad input located at the bound; off a
// terminal, a repeated run prints plain progress lines.
func TestRunRepeat(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := cli(t, "run", "-out", out, "-repeat", "2", testdata("repeat.yaml"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "repeat: 8 run(s)") || !strings.Contains(stdout, "(2 seeds per variant") {
		t.Errorf("stdout:\n%s", stdout)
	}
	if !strings.Contains(stderr, "repeat: 1/8 runs, ") || !strings.Contains(stderr, "repeat: 8/8 runs, ") ||
		strings.Contains(stderr, "\x1b") {
		t.Errorf("stderr lacks plain progress lines:\n%q", stderr)
	}
	code, _, stderr = cli(t, "run", "-out", out, "-repeat", "1", testdata("repeat.yaml"))
	if code != exitUsage || !strings.Contains(stderr, "repeat.yaml:23: expect[2].of: ci_high is an end of a confidence interval") {
		t.Errorf("-repeat 1: exit %d, stderr:\n%s", code, stderr)
	}
	code, _, stderr = cli(t, "run", "-out", out, "-repeat", "-3", testdata("repeat.yaml"))
	if code != exitUsage || !strings.Contains(stderr, "-repeat -3: must be 1 to 1000") {
		t.Errorf("-repeat -3: exit %d, stderr:\n%s", code, stderr)
	}
}
