package main

import (
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/spillway-sim/spillway/scenarios"
)

// setFlags is the repeatable -set path=value flag of spillway run.
type setFlags []string

func (s *setFlags) String() string { return strings.Join(*s, " ") }

// Set checks the flag's shape; the path and value are checked against the
// scenario (apply), where every problem is reported with the field.
func (s *setFlags) Set(v string) error {
	path, _, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(path) == "" {
		return fmt.Errorf("%q: want path=value, e.g. workload.sample_rate=0.01", v)
	}
	*s = append(*s, v)
	return nil
}

// values parses each value as YAML, as if written in a scenario file after its
// path (so 3 is a number, 64MiB a size, null clears an optional section). A
// path set twice keeps the last value.
func (s setFlags) values() (map[string]any, error) {
	out := map[string]any{}
	for _, kv := range s {
		path, text, _ := strings.Cut(kv, "=")
		var v any
		if err := yaml.Unmarshal([]byte(text), &v); err != nil {
			return nil, fmt.Errorf("-set %s: the value is not YAML: %v", kv, err)
		}
		out[strings.TrimSpace(path)] = v
	}
	return out, nil
}

// apply returns sc with the overrides applied and validated (scenarios.With).
func (s setFlags) apply(sc *scenarios.Scenario) (*scenarios.Scenario, error) {
	vals, err := s.values()
	if err != nil {
		return nil, err
	}
	return sc.With(vals)
}

// printSetError prints a -set problem, one line per field.
func printSetError(w io.Writer, arg string, err error) {
	fes := scenarios.FieldErrors(err)
	if len(fes) == 0 {
		fmt.Fprintf(w, "spillway run: %s: %v\n", arg, err)
		return
	}
	for _, fe := range fes {
		fmt.Fprintf(w, "spillway run: -set: %v\n", fe)
	}
}

// setError is a problem with the -set overrides (not with the file itself).
type setError struct{ err error }

func (e setError) Error() string { return e.err.Error() }
