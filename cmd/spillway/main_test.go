package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// cli runs the CLI in-process and returns its exit code and output.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestDispatch(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		wantOut    string
		wantErr    string
		wantNoDiag bool
	}{
		{name: "no args", args: nil, code: exitUsage, wantErr: "Usage:"},
		{name: "unknown verb", args: []string{"frobnicate"}, code: exitUsage, wantErr: `unknown command "frobnicate"`},
		{name: "help", args: []string{"help"}, code: exitOK, wantOut: "spillway run [-out DIR]"},
		{name: "-h", args: []string{"-h"}, code: exitOK, wantOut: "Exit status: 0 ok; 1 an expectation failed"},
		{name: "help run", args: []string{"help", "run"}, code: exitOK, wantOut: "-parallel N"},
		{name: "help swarm", args: []string{"help", "swarm"}, code: exitOK, wantOut: "  no-drop-without-ack\n"},
		{name: "help unknown", args: []string{"help", "nope"}, code: exitUsage, wantErr: "unknown command"},
		{name: "list", args: []string{"list"}, code: exitOK, wantOut: "scale-in"},
		{name: "list with args", args: []string{"list", "x"}, code: exitUsage, wantErr: "usage: spillway list"},
		{name: "list names", args: []string{"list", "-names"}, code: exitOK, wantOut: "rolling-deploy\nscale-in\n"},
		{name: "run without scenario", args: []string{"run"}, code: exitUsage, wantErr: "name at least one scenario"},
		{name: "run bad flag", args: []string{"run", "-bogus", "x"}, code: exitUsage, wantErr: "flag provided but not defined"},
		{name: "run bad parallel", args: []string{"run", "-parallel", "0", "x"}, code: exitUsage, wantErr: "-parallel 0"},
		{name: "run unknown scenario", args: []string{"run", "no-such-scenario"}, code: exitUsage,
			wantErr: "unknown scenario"},
		{name: "validate without args", args: []string{"validate"}, code: exitUsage, wantErr: "usage: spillway validate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := cli(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errs)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantOut, out)
			}
			if !strings.Contains(errs, tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, errs)
			}
		})
	}
}

// TestEveryVerbInHelp: the usage lists every command, so adding one to the
// table is enough to document it.
func TestEveryVerbInHelp(t *testing.T) {
	var b bytes.Buffer
	newApp(context.Background(), io.Discard, io.Discard).usage(&b)
	for _, c := range commands {
		if !strings.Contains(b.String(), "spillway "+c.name) {
			t.Errorf("usage lacks %s", c.name)
		}
	}
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		name string
		args []string
		pos  []string
		out  string
		seed uint64
	}{
		{name: "flags first", args: []string{"-out", "d", "a", "b"}, pos: []string{"a", "b"}, out: "d"},
		{name: "flags after", args: []string{"a", "-seed", "9", "b", "-out", "e"}, pos: []string{"a", "b"}, out: "e", seed: 9},
		{name: "double dash", args: []string{"a", "--", "-out", "b"}, pos: []string{"a", "-out", "b"}, out: "out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newApp(context.Background(), io.Discard, io.Discard)
			fs, o := a.runFlags()
			pos, err := parseInterspersed(fs, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(pos, ",") != strings.Join(tt.pos, ",") || o.out != tt.out || o.seed != tt.seed {
				t.Errorf("pos %v out %q seed %d, want %v %q %d", pos, o.out, o.seed, tt.pos, tt.out, tt.seed)
			}
		})
	}
}
