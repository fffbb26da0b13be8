package main

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		code    int
		wantOut []string
		wantErr []string
	}{
		{name: "valid file and shipped name", args: []string{testdata("tiny.yaml"), "scale-in"}, code: exitOK,
			wantOut: []string{"ok testdata/tiny.yaml: scenario tiny, 2 run(s)", "ok scale-in: scenario scale-in"}},
		{name: "sweep counts every run", args: []string{testdata("sweep.yaml")}, code: exitOK,
			wantOut: []string{"scenario sweep, 4 run(s)"}},
		{name: "errors with file:line", args: []string{testdata("invalid.yaml")}, code: exitUsage,
			wantErr: []string{
				"testdata/invalid.yaml:5: workload.intervall: unknown field (did you mean interval?)",
				"testdata/invalid.yaml:7: consumers.termination_grace:",
			}},
		{name: "one bad of two", args: []string{testdata("tiny.yaml"), testdata("invalid.yaml")}, code: exitUsage,
			wantOut: []string{"ok testdata/tiny.yaml"}, wantErr: []string{"invalid.yaml:5:"}},
		{name: "unknown name", args: []string{"scale-inn"}, code: exitUsage, wantErr: []string{"unknown scenario"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := cli(t, append([]string{"validate"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errs)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
		})
	}
}

func TestList(t *testing.T) {
	code, out, _ := cli(t, "list")
	if code != exitOK || !strings.HasPrefix(out, "NAME") || !strings.Contains(out, "scale-in") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}
