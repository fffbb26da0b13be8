package scenarios

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// The decoder walks a yaml.Node tree alongside the Go schema by reflection, so
// that every problem is reported with its line and dotted field path, unknown
// fields get a "did you mean", and decoding goes on after an error to report
// them all. It records the line of every key it meets (path -> line) for the
// validation that follows.

var (
	durationType = reflect.TypeFor[Duration]()
	sizeType     = reflect.TypeFor[Size]()
	boundType    = reflect.TypeFor[Bound]()
	rateType     = reflect.TypeFor[SampleRate]()
)

// maxAnyNodes caps the nodes one free-form value (a set or sweep value) may
// expand to through aliases, against "billion laughs" documents.
const maxAnyNodes = 10000

type decoder struct {
	file  string
	lines map[string]int
	errs  []*FieldError
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, lines: map[string]int{}}
}

func (d *decoder) errorf(line int, path, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// resolveAlias follows alias nodes to their anchored value.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// decode stores node n into v (addressable), reporting problems under path.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	n = resolveAlias(n)
	if n.Kind == yaml.AliasNode {
		d.errorf(n.Line, path, "unresolved alias *%s", n.Value)
		return
	}
	if isNull(n) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			v.SetZero()
			return
		}
		d.errorf(n.Line, path, "has no value (write one, or remove the line to use the default)")
		return
	}
	// Scalars with a unit: each decoder returns the value or a message.
	var x any
	var msg string
	switch v.Type() {
	case durationType:
		x, msg = decodeDuration(n)
	case sizeType:
		x, msg = decodeSize(n)
	case boundType:
		x, msg = decodeBound(n)
	case rateType:
		x, msg = decodeSampleRate(n)
	}
	if msg != "" {
		d.errorf(n.Line, path, "%s", msg)
		return
	}
	if x != nil {
		v.Set(reflect.ValueOf(x))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			nv := reflect.New(v.Type().Elem())
			applyDefaults(nv.Elem(), path, false, nil)
			v.Set(nv)
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n.Line, path, "expected a list, got %s", describe(n))
			return
		}
		if len(n.Content) == 0 {
			v.SetZero()
			return
		}
		out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, el := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			d.lines[p] = el.Line
			d.decode(el, out.Index(i), p)
		}
		v.Set(out)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Interface:
		budget := maxAnyNodes
		x, ok := d.decodeAny(n, path, &budget)
		if ok {
			if x == nil {
				v.SetZero()
			} else {
				v.Set(reflect.ValueOf(x))
			}
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.errorf(n.Line, path, "expected text, got %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.errorf(n.Line, path, "%s is not true or false", describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		var x int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			d.notWhole(n, path)
			return
		}
		if n.Decode(&x) != nil || v.OverflowInt(x) {
			d.errorf(n.Line, path, "%s is out of range", describe(n))
			return
		}
		v.SetInt(x)
	case reflect.Uint64:
		var x uint64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			d.notWhole(n, path)
			return
		}
		if strings.HasPrefix(strings.TrimSpace(n.Value), "-") {
			d.errorf(n.Line, path, "%s must not be negative", describe(n))
			return
		}
		if n.Decode(&x) != nil {
			d.errorf(n.Line, path, "%s is out of range", describe(n))
			return
		}
		v.SetUint(x)
	case reflect.Float64:
		var f float64
		tag := n.ShortTag()
		if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || n.Decode(&f) != nil {
			d.errorf(n.Line, path, "%s is not a number", describe(n))
			return
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			d.errorf(n.Line, path, "%s is not a finite number", describe(n))
			return
		}
		v.SetFloat(f)
	default:
		panic(fmt.Sprintf("scenarios: decoder has no rule for %s (field %s)", v.Type(), path))
	}
}

var reDigits = regexp.MustCompile(`^[-+]?[0-9_]+$`)

// notWhole reports a value that is not an integer; YAML types integers too
// large for int64 as floats, which deserve a range error instead.
func (d *decoder) notWhole(n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode && reDigits.MatchString(n.Value) {
		d.errorf(n.Line, path, "%s is out of range", describe(n))
		return
	}
	d.errorf(n.Line, path, "%s is not a whole number", describe(n))
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		what := "a mapping of fields (key: value)"
		if path == "" {
			d.errorf(n.Line, path, "a scenario must be %s, got %s", what, describe(n))
			return
		}
		d.errorf(n.Line, path, "expected %s, got %s", what, describe(n))
		return
	}
	info := structFields(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolveAlias(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k.Line, path, "field names must be plain words, got %s", describe(k))
			continue
		}
		p := joinPath(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			d.errorf(k.Line, p, "appears twice (first at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		idx, ok := info.index[k.Value]
		if !ok {
			where := "the scenario"
			if path != "" {
				where = path
			}
			if s := suggest(k.Value, info.names); s != "" {
				d.errorf(k.Line, p, "unknown field (did you mean %s?)", s)
			} else {
				d.errorf(k.Line, p, "unknown field (%s takes %s)", where, strings.Join(info.names, ", "))
			}
			continue
		}
		d.lines[p] = k.Line
		d.decode(val, v.Field(idx), p)
	}
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, path, "expected a mapping (key: value), got %s", describe(n))
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		panic(fmt.Sprintf("scenarios: decoder has no rule for %s (field %s)", v.Type(), path))
	}
	if len(n.Content) == 0 {
		v.SetZero()
		return
	}
	out := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolveAlias(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k.Line, path, "keys must be plain text, got %s", describe(k))
			continue
		}
		p := path + "." + k.Value
		if first, dup := seen[k.Value]; dup {
			d.errorf(k.Line, p, "appears twice (first at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		d.lines[p] = k.Line
		ev := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, ev, p)
		out.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), ev)
	}
	v.Set(out)
}

// decodeAny decodes a free-form value (an override or sweep value) into plain
// Go values: nil, bool, int (or uint64 past MaxInt64), float64, string, []any,
// map[string]any. Integral floats become int and timestamps stay text, so that
// the value marshals back to YAML that decodes to the same Go value.
func (d *decoder) decodeAny(n *yaml.Node, path string, budget *int) (any, bool) {
	n = resolveAlias(n)
	*budget--
	if *budget < 0 {
		d.errorf(n.Line, path, "value is too large (more than %d nodes through aliases)", maxAnyNodes)
		return nil, false
	}
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, true
		case "!!bool":
			var b bool
			if n.Decode(&b) == nil {
				return b, true
			}
		case "!!int":
			var x any
			if n.Decode(&x) == nil {
				switch x.(type) {
				case int, uint64:
					return x, true
				}
			}
			d.errorf(n.Line, path, "%s is out of range", describe(n))
			return nil, false
		case "!!float":
			var f float64
			if n.Decode(&f) != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				d.errorf(n.Line, path, "%s is not a finite number", describe(n))
				return nil, false
			}
			if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				return int(f), true
			}
			return f, true
		}
		return n.Value, true
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return []any{}, true
		}
		out := make([]any, len(n.Content))
		ok := true
		for i, el := range n.Content {
			x, good := d.decodeAny(el, fmt.Sprintf("%s[%d]", path, i), budget)
			out[i], ok = x, ok && good
		}
		return out, ok
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		ok := true
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolveAlias(n.Content[i])
			if k.Kind != yaml.ScalarNode {
				d.errorf(k.Line, path, "keys must be plain text, got %s", describe(k))
				ok = false
				continue
			}
			p := path + "." + k.Value
			if _, dup := out[k.Value]; dup {
				d.errorf(k.Line, p, "appears twice")
				ok = false
				continue
			}
			x, good := d.decodeAny(n.Content[i+1], p, budget)
			out[k.Value], ok = x, ok && good
		}
		return out, ok
	}
	d.errorf(n.Line, path, "unsupported YAML value")
	return nil, false
}

// fieldsInfo maps YAML names of a struct's fields to their indexes.
type fieldsInfo struct {
	index map[string]int
	names []string // in declaration order
}

var fieldsCache sync.Map // reflect.Type -> *fieldsInfo

func structFields(t reflect.Type) *fieldsInfo {
	if fi, ok := fieldsCache.Load(t); ok {
		return fi.(*fieldsInfo)
	}
	fi := &fieldsInfo{index: map[string]int{}}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			panic(fmt.Sprintf("scenarios: field %s.%s has no yaml tag", t.Name(), f.Name))
		}
		fi.index[name] = i
		fi.names = append(fi.names, name)
	}
	fieldsCache.Store(t, fi)
	return fi
}

// lookupField finds the field at a dotted path (struct fields only, no list
// indexes) under v. With alloc, nil pointers on the way are allocated and given
// their defaults; without, a nil pointer ends the walk with ok false.
func lookupField(v reflect.Value, path string, alloc bool) (reflect.Value, bool) {
	cur := ""
	for _, seg := range strings.Split(path, ".") {
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !alloc {
					return reflect.Value{}, false
				}
				nv := reflect.New(v.Type().Elem())
				applyDefaults(nv.Elem(), cur, false, nil)
				v.Set(nv)
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return reflect.Value{}, false
		}
		idx, ok := structFields(v.Type()).index[seg]
		if !ok {
			return reflect.Value{}, false
		}
		v = v.Field(idx)
		cur = joinPath(cur, seg)
	}
	return v, true
}

// fieldPaths lists every dotted path of struct fields reachable from t without
// crossing a list or map, in declaration order.
func fieldPaths(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == durationType || t == sizeType || t == boundType {
		return nil
	}
	var out []string
	fi := structFields(t)
	for _, name := range fi.names {
		p := joinPath(prefix, name)
		out = append(out, p)
		out = append(out, fieldPaths(t.Field(fi.index[name]).Type, p)...)
	}
	return out
}

// formatValue renders a field's value for a label: canonical text for
// durations and sizes, fmt's form otherwise.
func formatValue(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case Duration:
		return x.String()
	case Size:
		return x.String()
	case SampleRate:
		return x.String()
	case time.Duration:
		return x.String()
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "null"
		}
		return formatValue(v.Elem())
	}
	out, err := yaml.Marshal(v.Interface())
	if err != nil {
		return fmt.Sprint(v.Interface())
	}
	s := strings.TrimSpace(string(out))
	if strings.Contains(s, "\n") {
		return fmt.Sprint(v.Interface())
	}
	return s
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
