package scenarios

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads and parses the scenario file at path; errors name the path as given.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes a scenario strictly, fills its defaults and validates it. name
// is the file name used in error messages (and the default scenario name, less
// its extension).
//
// The steps are those of pebble's options: strict decode (unknown fields, wrong
// types and duplicate keys are errors), EnsureDefaults, Validate. Every problem
// found is reported at once, as FieldErrors joined with errors.Join and sorted
// by line; errors.Is(err, ErrInvalid) holds for all of them.
func Parse(name string, data []byte) (*Scenario, error) {
	var doc, second yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		return nil, syntaxError(name, err)
	}
	if err := dec.Decode(&second); err == nil {
		return nil, &FieldError{File: name, Line: second.Line,
			Msg: "a second YAML document: a scenario file holds exactly one (remove the ---)"}
	} else if err != io.EOF {
		return nil, syntaxError(name, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, &FieldError{File: name, Msg: "empty scenario (start with version: 1)"}
	}
	root := doc.Content[0]
	s := newBase("")
	d := newDecoder(name)
	d.decode(root, reflect.ValueOf(s).Elem(), "")
	if root.Kind != yaml.MappingNode {
		return nil, joinErrors(d.errs)
	}
	if _, ok := d.lines["version"]; !ok {
		d.errorf(root.Line, "version", "missing (write version: %d as the first line)", SchemaVersion)
	}
	for i := range s.Timeline {
		p := fmt.Sprintf("timeline[%d]", i)
		if _, ok := d.lines[p+".at"]; !ok && !covered(p, d.errs) {
			d.errorf(d.lines[p], p, "missing at (write e.g. {at: 10m, scale: 3})")
		}
	}
	if _, ok := d.lines["name"]; !ok {
		s.Name = nameFromFile(name)
	}
	s.meta = &meta{file: name, lines: d.lines}
	s.EnsureDefaults()
	errs := d.errs
	for _, e := range s.validate("") {
		if !covered(e.Path, d.errs) {
			errs = append(errs, e)
		}
	}
	if err := joinErrors(errs); err != nil {
		return nil, err
	}
	return s, nil
}

// covered reports whether a decode error already concerns path (the same
// field, one inside it or one around it), so that a validation error about the
// half-decoded value would only repeat it.
func covered(path string, decodeErrs []*FieldError) bool {
	if path == "" {
		return false
	}
	for _, e := range decodeErrs {
		if e.Path != "" && (underPath(path, e.Path) || underPath(e.Path, path)) {
			return true
		}
	}
	return false
}

// nameFromFile turns "dir/scale-in.yaml" into "scale-in".
func nameFromFile(file string) string {
	base := filepath.Base(file)
	for _, ext := range []string{".yaml", ".yml"} {
		if strings.HasSuffix(base, ext) {
			return strings.TrimSuffix(base, ext)
		}
	}
	if base == "." || base == string(filepath.Separator) {
		return ""
	}
	return base
}

var reYAMLLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 parse error into a FieldError with its line.
func syntaxError(file string, err error) error {
	msg := err.Error()
	if m := reYAMLLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if strings.HasPrefix(m[2], "did not find expected") {
			// yaml.v3 prints parser (not scanner) errors with a 0-based line.
			line++
		}
		return &FieldError{File: file, Line: line, Msg: "invalid YAML: " + m[2]}
	}
	return &FieldError{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// Resolved returns the scenario as YAML with every default and the seed written
// out: the file a report is written beside, so the run can be replayed. Parse
// accepts it and yields an identical Scenario.
func (s *Scenario) Resolved() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("# Resolved scenario: every default and the seed written out. Replay with `spillway run <this file>`.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("scenarios: resolving %s: %w", s.Name, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("scenarios: resolving %s: %w", s.Name, err)
	}
	return buf.Bytes(), nil
}
