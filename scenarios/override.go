package scenarios

import (
	"fmt"
	"maps"
	"reflect"
	"time"

	"gopkg.in/yaml.v3"
)

// DefaultVariant is the name of the single run of a scenario without variants.
const DefaultVariant = "default"

// OverrideLabel is the run label of errors from With.
const OverrideLabel = "override"

// overrideRoots are the top-level fields an override may not touch: they say
// what the scenario is and which runs it has, not how a run behaves.
var overrideRoots = []string{"version", "name", "description", "repeat", "variants", "sweep", "expect"}

// exclusive pairs fields of which one replaces the other: an override that sets
// one clears the other.
var exclusive = map[string]string{
	"state.ttl":           "state.ttl_intervals",
	"state.ttl_intervals": "state.ttl",
	"workload.interval":   "workload.intervals",
	"workload.intervals":  "workload.interval",
}

var settablePaths = func() []string {
	var out []string
	for _, p := range fieldPaths(reflect.TypeFor[Scenario](), "") {
		if checkRoot(p) {
			out = append(out, p)
		}
	}
	return out
}()

func checkRoot(p string) bool {
	for _, r := range overrideRoots {
		if underPath(p, r) {
			return false
		}
	}
	return true
}

// checkSettable returns why path cannot be overridden, or "".
func checkSettable(path string) string {
	if !checkRoot(path) {
		return "cannot be overridden (a variant or sweep changes how a run behaves, not the scenario's identity or its runs)"
	}
	if contains(settablePaths, path) {
		return ""
	}
	return "unknown field path" + didYouMean(path, settablePaths)
}

// Run is one run of a scenario (from VariantRuns or SweepPoints): a variant, at
// one sweep point when there is a sweep. Its Scenario has the overrides applied, defaults filled, and no
// variants, sweep or expectations of its own.
type Run struct {
	// Label is unique within the scenario and stable: "default", "spill",
	// "redis.maxmemory=3GiB" (sweep, no variants) or
	// "spill/redis.maxmemory=3GiB" (sweep x variants).
	Label string
	// Variant is the variant's name, or DefaultVariant.
	Variant string
	// Point is the sweep value in canonical form ("3GiB"), or "" without a sweep.
	Point string
	// Cell is the label of the run's variant and sweep point without its
	// seed: the Label of a scenario that does not repeat; for one that does
	// (repeat), the label its seeds share ("spill", "spill/redis.maxmemory=3GiB").
	Cell string
	// Seed is the run's seed (Scenario.Seed).
	Seed uint64
	// SeedIndex is which of its cell's seeds the run is: 0 for the first (the
	// scenario's own seed) up to repeat-1.
	SeedIndex int
	// Scenario is the run's own scenario.
	Scenario *Scenario
}

// With returns a deep copy of s with the fields at the given dotted paths set
// (e.g. "state.strategy": "memory-only", "redis.maxmemory": "3GiB",
// "log.static_membership": true), defaults refilled and revalidated. Values are
// written as in a file (strings for durations and sizes; Duration, Size and
// time.Duration values work too). Setting a field that excludes another
// (state.ttl and state.ttl_intervals, workload.interval and
// workload.intervals) clears the other; null clears an optional section such
// as consumers.autoscaler. Errors are FieldErrors labelled OverrideLabel.
func (s *Scenario) With(set map[string]any) (*Scenario, error) {
	c, errs := s.apply(OverrideLabel, set, nil, false)
	if len(errs) == 0 {
		errs = c.validate("")
		for _, e := range errs {
			if e.Variant == "" {
				e.Variant = OverrideLabel
			}
		}
	}
	if err := joinErrors(errs); err != nil {
		return nil, err
	}
	return c, nil
}

// VariantRuns returns one run per variant in file order, or a single run named
// DefaultVariant when there are none. The sweep, if any, is not applied.
func (s *Scenario) VariantRuns() ([]Run, error) {
	runs, errs := s.expand(false)
	if err := joinErrors(errs); err != nil {
		return nil, err
	}
	return runs, nil
}

// SweepPoints returns every run of the scenario, the grid a report holds:
// variants in file order, and within each variant the sweep values in file
// order. Without a sweep it equals VariantRuns.
func (s *Scenario) SweepPoints() ([]Run, error) {
	runs, errs := s.expand(true)
	if err := joinErrors(errs); err != nil {
		return nil, err
	}
	return runs, nil
}

// Plan is a scenario expanded once into every run its report holds. From
// there on the runs travel with their results: the simulator runs exactly these,
// each result carries its Run (label, variant, point and resolved Scenario), and
// expectations and reports read them from the result, never by expanding the
// scenario again or matching labels.
type Plan struct {
	// Scenario is the scenario as loaded (its Resolved form goes beside a report).
	Scenario *Scenario
	// Runs are SweepPoints: variants in file order, sweep values within each,
	// and with repeat, every seed of each (RepeatSeeds order) within that.
	Runs []Run
	// Repeat is how many seeds each variant and sweep point runs with
	// (Scenario.Seeds): 1 unless the scenario repeats.
	Repeat int
}

// Plan expands the scenario into its runs: SweepPoints, each repeated with
// Seeds() seeds. A repeated run's Scenario is its point's with Seed replaced,
// and its label is the point's with "/seed=S" appended ("seed=S" for the
// single run of a scenario without variants or sweep).
func (s *Scenario) Plan() (*Plan, error) {
	points, err := s.SweepPoints()
	if err != nil {
		return nil, err
	}
	n := s.Seeds()
	if n > MaxRepeat {
		return nil, &FieldError{File: s.File(), Line: s.Line("repeat"), Path: "repeat",
			Msg: fmt.Sprintf("%d seeds: at most %d", n, MaxRepeat)}
	}
	plan := &Plan{Scenario: s, Repeat: n}
	for _, pt := range points {
		pt.Cell, pt.Seed = pt.Label, pt.Scenario.Seed
		if n == 1 {
			plan.Runs = append(plan.Runs, pt)
			continue
		}
		for i, seed := range RepeatSeeds(pt.Scenario.Seed, n) {
			r := pt
			r.Seed, r.SeedIndex = seed, i
			r.Label = fmt.Sprintf("%s/seed=%d", pt.Label, seed)
			if len(s.Variants) == 0 && s.Sweep == nil {
				r.Label = fmt.Sprintf("seed=%d", seed)
			}
			r.Scenario = pt.Scenario.clone()
			r.Scenario.Seed = seed
			plan.Runs = append(plan.Runs, r)
		}
	}
	return plan, nil
}

// expand builds and validates the runs; errors are labelled with their run and
// located at the override that caused them.
func (s *Scenario) expand(withSweep bool) ([]Run, []*FieldError) {
	type variant struct {
		name string
		set  map[string]any
		idx  int
	}
	vs := []variant{{name: DefaultVariant, idx: -1}}
	if len(s.Variants) > 0 {
		vs = vs[:0]
		for i, v := range s.Variants {
			vs = append(vs, variant{name: v.Name, set: v.Set, idx: i})
		}
	}
	var runs []Run
	var errs []*FieldError
	for vi, v := range vs {
		lineOf := func(key string) int { return s.Line(fmt.Sprintf("variants[%d].set.%s", v.idx, key)) }
		vr, verrs := s.apply(v.name, v.set, lineOf, true)
		if len(verrs) > 0 {
			errs = append(errs, verrs...)
			continue
		}
		if !withSweep || s.Sweep == nil {
			if e := vr.validate(v.name); len(e) > 0 {
				errs = append(errs, e...)
				continue
			}
			runs = append(runs, Run{Label: v.name, Variant: v.name, Scenario: vr})
			continue
		}
		seen := map[string]int{}
		for j, val := range s.Sweep.Values {
			valuePath := fmt.Sprintf("sweep.values[%d]", j)
			line := s.Line(valuePath)
			pr, perrs := vr.apply(v.name, map[string]any{s.Sweep.Field: val}, func(string) int { return line }, true)
			point := fmt.Sprint(val)
			if len(perrs) == 0 {
				if f, ok := lookupField(reflect.ValueOf(pr).Elem(), s.Sweep.Field, false); ok {
					point = formatValue(f)
				}
			}
			label := s.Sweep.Field + "=" + point
			if len(s.Variants) > 0 {
				label = v.name + "/" + label
			}
			for _, e := range perrs {
				e.Variant = label
			}
			if len(perrs) > 0 {
				errs = append(errs, perrs...)
				continue
			}
			if first, dup := seen[point]; dup {
				if vi == 0 {
					errs = append(errs, &FieldError{File: s.File(), Line: line, Path: valuePath,
						Msg: fmt.Sprintf("%s repeats sweep.values[%d]", point, first)})
				}
				continue
			}
			seen[point] = j
			if e := pr.validate(label); len(e) > 0 {
				errs = append(errs, e...)
				continue
			}
			runs = append(runs, Run{Label: label, Variant: v.name, Point: point, Scenario: pr})
		}
	}
	return runs, errs
}

// apply returns a copy of s with set applied (keys in sorted order) and
// defaults refilled. lineOf gives the file line of each override, for errors
// and for later validation errors about the fields it set. forRun strips the
// copy's variants, sweep and expectations.
func (s *Scenario) apply(label string, set map[string]any, lineOf func(key string) int, forRun bool) (*Scenario, []*FieldError) {
	c := s.clone()
	if forRun {
		c.Variants, c.Sweep, c.Expect = nil, nil, nil
	}
	if c.meta == nil {
		c.meta = &meta{lines: map[string]int{}}
	}
	root := reflect.ValueOf(c).Elem()
	var errs []*FieldError
	for _, key := range sortedKeys(set) {
		line := 0
		if lineOf != nil {
			line = lineOf(key)
		}
		fail := func(msg string) {
			errs = append(errs, &FieldError{File: c.File(), Line: line, Variant: label, Path: key, Msg: msg})
		}
		if msg := checkSettable(key); msg != "" {
			fail(msg)
			continue
		}
		node, err := valueNode(set[key])
		if err != nil {
			fail("cannot be written as YAML: " + err.Error())
			continue
		}
		f, ok := lookupField(root, key, true)
		if !ok {
			panic(fmt.Sprintf("scenarios: settable path %s not found", key))
		}
		d := newDecoder(c.File())
		d.decode(node, f, key)
		for _, e := range d.errs {
			e.Line, e.Variant = line, label
			errs = append(errs, e)
		}
		if other, ok := exclusive[key]; ok && set[key] != nil {
			if _, both := set[other]; !both {
				if of, ok := lookupField(root, other, false); ok {
					of.SetZero()
				}
			}
		}
		for p := range c.meta.lines {
			if underPath(p, key) {
				delete(c.meta.lines, p)
			}
		}
		c.meta.lines[key] = line // even 0: the field was written, EnsureDefaults must keep it
	}
	c.EnsureDefaults()
	return c, errs
}

// valueNode turns an override value into YAML, as if it had been written in a file.
func valueNode(v any) (n *yaml.Node, err error) {
	if d, ok := v.(time.Duration); ok {
		v = Duration(d)
	}
	n = new(yaml.Node)
	if err := n.Encode(v); err != nil {
		return nil, err
	}
	return n, nil
}

// clone deep-copies s, meta included.
func (s *Scenario) clone() *Scenario {
	c := new(Scenario)
	copyInto(reflect.ValueOf(c).Elem(), reflect.ValueOf(s).Elem())
	if s.meta != nil {
		c.meta = &meta{file: s.meta.file, lines: maps.Clone(s.meta.lines)}
	}
	return c
}

// copyInto deep-copies src into dst (same type), skipping unexported fields.
func copyInto(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		n := reflect.New(src.Type().Elem())
		copyInto(n.Elem(), src.Elem())
		dst.Set(n)
	case reflect.Struct:
		t := src.Type()
		for i := 0; i < src.NumField(); i++ {
			if t.Field(i).IsExported() {
				copyInto(dst.Field(i), src.Field(i))
			}
		}
	case reflect.Slice:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		n := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := 0; i < src.Len(); i++ {
			copyInto(n.Index(i), src.Index(i))
		}
		dst.Set(n)
	case reflect.Map:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		n := reflect.MakeMapWithSize(src.Type(), src.Len())
		iter := src.MapRange()
		for iter.Next() {
			v := reflect.New(src.Type().Elem()).Elem()
			copyInto(v, iter.Value())
			n.SetMapIndex(iter.Key(), v)
		}
		dst.Set(n)
	case reflect.Interface:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		inner := src.Elem()
		v := reflect.New(inner.Type()).Elem()
		copyInto(v, inner)
		dst.Set(v)
	default:
		dst.Set(src)
	}
}

// ShardRuns returns the indices (into Runs) of the index-th of count
// deterministic slices of the plan (0 <= index < count): run j belongs to
// slice j mod count. Dealing the runs out in turn gives every slice a share of
// each variant and sweep point, so slices take about the same time. Together
// the slices hold every run exactly once; a slice may be empty when count
// exceeds the number of runs.
func (p *Plan) ShardRuns(index, count int) []int {
	if count < 1 || index < 0 || index >= count {
		panic(fmt.Sprintf("scenarios: shard %d of %d", index, count))
	}
	var out []int
	for j := index; j < len(p.Runs); j += count {
		out = append(out, j)
	}
	return out
}
