package scenarios

import (
	"errors"
	"fmt"
	"testing"
)

func TestFieldErrorFormat(t *testing.T) {
	tests := []struct {
		name string
		err  FieldError
		want string
	}{
		{name: "full", err: FieldError{File: "a.yaml", Line: 3, Path: "log.assignor", Msg: "bad"},
			want: "a.yaml:3: log.assignor: bad"},
		{name: "variant", err: FieldError{File: "a.yaml", Line: 3, Variant: "spill", Path: "x", Msg: "bad"},
			want: "a.yaml:3: variant spill: x: bad"},
		{name: "override", err: FieldError{File: "a.yaml", Variant: OverrideLabel, Path: "x", Msg: "bad"},
			want: "a.yaml: override: x: bad"},
		{name: "no line", err: FieldError{File: "a.yaml", Path: "x", Msg: "bad"}, want: "a.yaml: x: bad"},
		{name: "no file", err: FieldError{Line: 2, Path: "x", Msg: "bad"}, want: "line 2: x: bad"},
		{name: "bare", err: FieldError{Msg: "bad"}, want: "bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Fatalf("Error() = %q, want %q", got, tt.want)
			}
			if !errors.Is(&tt.err, ErrInvalid) {
				t.Fatal("FieldError does not match ErrInvalid")
			}
		})
	}
}

func TestJoinErrorsSortsAndDedups(t *testing.T) {
	errs := []*FieldError{
		{File: "f", Line: 9, Path: "b", Msg: "m"},
		{File: "f", Path: "z", Msg: "no line"},
		{File: "f", Line: 2, Path: "a", Msg: "m"},
		{File: "f", Line: 9, Path: "b", Msg: "m"},
		{File: "f", Line: 5, Path: "c", Msg: "m"},
	}
	err := joinErrors(errs)
	want := "f:2: a: m\nf:5: c: m\nf:9: b: m\nf: z: no line"
	if err.Error() != want {
		t.Fatalf("joined =\n%s\nwant\n%s", err, want)
	}
	if got := FieldErrors(err); len(got) != 4 || got[0].Line != 2 {
		t.Fatalf("FieldErrors = %v", got)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Fatal("joined error does not match ErrInvalid")
	}
	if joinErrors(nil) != nil {
		t.Fatal("joinErrors(nil) != nil")
	}
	single := joinErrors(errs[:1])
	if fe := FieldErrors(single); len(fe) != 1 || fe[0] != errs[0] {
		t.Fatalf("single = %v", fe)
	}
	if FieldErrors(fmt.Errorf("plain")) != nil {
		t.Fatal("FieldErrors of a plain error is not nil")
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"partitions", "assignor", "static_membership", "session_timeout"}
	tests := []struct {
		name string
		word string
		want string
	}{
		{name: "typo", word: "asignor", want: "assignor"},
		{name: "dash for underscore", word: "session-timeout", want: "session_timeout"},
		{name: "case", word: "Partitions", want: "partitions"},
		{name: "too far", word: "replicas", want: ""},
		{name: "one letter", word: "x", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := suggest(tt.word, names); got != tt.want {
				t.Fatalf("suggest(%q) = %q, want %q", tt.word, got, tt.want)
			}
		})
	}
	if got := suggest("roundrobin", assignors); got != "round-robin" {
		t.Fatalf("suggest(roundrobin) = %q", got)
	}
}

func TestLevenshtein(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want int
	}{
		{name: "equal", a: "abc", b: "abc", want: 0},
		{name: "empty", a: "", b: "abc", want: 3},
		{name: "substitution", a: "kitten", b: "sitten", want: 1},
		{name: "classic", a: "kitten", b: "sitting", want: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := levenshtein(tt.a, tt.b); got != tt.want {
				t.Fatalf("levenshtein(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestPaths(t *testing.T) {
	tests := []struct {
		name, path, parent string
	}{
		{name: "field", path: "a.b.c", parent: "a.b"},
		{name: "index", path: "timeline[2]", parent: "timeline"},
		{name: "field of index", path: "timeline[2].at", parent: "timeline[2]"},
		{name: "root", path: "a", parent: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parentPath(tt.path); got != tt.parent {
				t.Fatalf("parentPath(%q) = %q, want %q", tt.path, got, tt.parent)
			}
		})
	}
	if !underPath("a.b", "a") || !underPath("a[1]", "a") || !underPath("a", "a") || underPath("ab", "a") {
		t.Fatal("underPath is wrong")
	}
}
