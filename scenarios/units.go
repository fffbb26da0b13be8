package scenarios

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a span of virtual time written as a Go duration ("90s", "15m",
// "1h30m", "200us"). A bare 0 is accepted; any other bare number is an error,
// because "30" could mean seconds or milliseconds. It marshals back to the
// canonical form of time.Duration.String, which parses to the same value.
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String returns the canonical form: time.Duration's, with "us" for "µs" and
// without trailing zero units ("1h", "1m30s", "200us", "0s"). ParseDuration
// reads it back to the same value.
func (d Duration) String() string {
	s := time.Duration(d).String()
	s = strings.Replace(s, "µs", "us", 1)
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalYAML writes the canonical string form.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML lets plain yaml.v3 decoding read a Duration; the scenario loader
// uses its own decoder, with the same rules and messages.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, msg := decodeDuration(n)
	if msg != "" {
		return fmt.Errorf("line %d: %s", n.Line, msg)
	}
	*d = v
	return nil
}

// ParseDuration parses a Go duration; the error carries a hint on how to write it.
func ParseDuration(s string) (Duration, error) {
	v, msg := parseDurationText(s, false)
	if msg != "" {
		return 0, fmt.Errorf("scenarios: %s", msg)
	}
	return v, nil
}

func decodeDuration(n *yaml.Node) (Duration, string) {
	if n.Kind != yaml.ScalarNode {
		return 0, fmt.Sprintf("expected a duration such as 30s, got %s", describe(n))
	}
	tag := n.ShortTag()
	return parseDurationText(n.Value, tag == "!!int" || tag == "!!float")
}

var (
	reDays       = regexp.MustCompile(`^([0-9]+)\s*d(ays?)?$`)
	reNumberWord = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*([A-Za-zµ]+)$`)
	durationWord = map[string]string{
		"ns": "ns", "nanosecond": "ns", "nanoseconds": "ns",
		"us": "us", "µs": "us", "microsecond": "us", "microseconds": "us",
		"ms": "ms", "millisecond": "ms", "milliseconds": "ms", "msec": "ms",
		"s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
		"m": "m", "min": "m", "mins": "m", "minute": "m", "minutes": "m",
		"h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
	}
)

// parseDurationText parses s. bareNumber says YAML typed the value as a number.
// The returned message, when not empty, explains the problem and how to fix it.
func parseDurationText(s string, bareNumber bool) (Duration, string) {
	t := strings.TrimSpace(s)
	if t == "0" {
		return 0, ""
	}
	if bareNumber {
		return 0, fmt.Sprintf("%q is not a duration (write e.g. %ss)", s, t)
	}
	if d, err := time.ParseDuration(t); err == nil {
		return Duration(d), ""
	}
	hint := "30s, 15m or 1h30m"
	if m := reDays.FindStringSubmatch(t); m != nil {
		if days, err := strconv.Atoi(m[1]); err == nil && days < 100000 {
			hint = fmt.Sprintf("%dh", days*24)
		}
	} else if m := reNumberWord.FindStringSubmatch(t); m != nil {
		if unit, ok := durationWord[strings.ToLower(m[2])]; ok {
			hint = m[1] + unit
		}
	} else if _, err := strconv.ParseFloat(t, 64); err == nil {
		hint = t + "s"
	}
	return 0, fmt.Sprintf("%q is not a duration (write e.g. %s)", s, hint)
}

// Size is a number of bytes. It is written as a plain integer or with a unit:
// KiB, MiB, GiB, TiB (powers of 1024) or KB, MB, GB, TB (powers of 1000, as in
// SI). Units are case-sensitive because redis.conf reads "1gb" as 1024³ bytes:
// a lower-case unit is refused with a hint rather than guessed. A fraction is
// fine when the result is a whole number of bytes ("1.5GiB"). It marshals to the
// largest binary unit that divides it exactly, else the largest decimal unit,
// else a plain integer.
type Size int64

// Byte multiples a Size can be written in.
const (
	KiB Size = 1 << 10
	MiB Size = 1 << 20
	GiB Size = 1 << 30
	TiB Size = 1 << 40
)

type sizeUnit struct {
	name string
	mult int64
}

// sizeUnits is ordered for String: binary units first, largest first.
var sizeUnits = []sizeUnit{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3},
}

var reSize = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)$`)

// Bytes returns s as an int64.
func (s Size) Bytes() int64 { return int64(s) }

// String returns the canonical form, e.g. "64MiB", "1KB" or "1000".
func (s Size) String() string {
	if s == 0 {
		return "0"
	}
	for _, u := range sizeUnits {
		if int64(s)%u.mult == 0 {
			return strconv.FormatInt(int64(s)/u.mult, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// MarshalYAML writes the canonical form: a string with a unit, or an integer.
func (s Size) MarshalYAML() (any, error) {
	str := s.String()
	if _, err := strconv.ParseInt(str, 10, 64); err == nil {
		return int64(s), nil
	}
	return str, nil
}

// UnmarshalYAML lets plain yaml.v3 decoding read a Size, with the loader's rules.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	v, msg := decodeSize(n)
	if msg != "" {
		return fmt.Errorf("line %d: %s", n.Line, msg)
	}
	*s = v
	return nil
}

// ParseSize parses a size such as "64MiB", "8GiB", "100MB" or "4096".
func ParseSize(str string) (Size, error) {
	v, msg := parseSizeText(str)
	if msg != "" {
		return 0, fmt.Errorf("scenarios: %s", msg)
	}
	return v, nil
}

func decodeSize(n *yaml.Node) (Size, string) {
	if n.Kind != yaml.ScalarNode {
		return 0, fmt.Sprintf("expected a size such as 64MiB, got %s", describe(n))
	}
	if n.ShortTag() == "!!int" {
		var v int64
		if err := n.Decode(&v); err != nil {
			return 0, fmt.Sprintf("%q is out of range for a size", n.Value)
		}
		if v < 0 {
			return 0, fmt.Sprintf("%q: sizes cannot be negative", n.Value)
		}
		return Size(v), ""
	}
	return parseSizeText(n.Value)
}

func parseSizeText(str string) (Size, string) {
	t := strings.TrimSpace(str)
	if strings.HasPrefix(t, "-") {
		return 0, fmt.Sprintf("%q: sizes cannot be negative", str)
	}
	m := reSize.FindStringSubmatch(t)
	if m == nil {
		return 0, fmt.Sprintf("%q is not a size (write e.g. 64MiB, 8GiB or 1048576)", str)
	}
	mult := int64(0)
	switch m[2] {
	case "", "B":
		mult = 1
	default:
		for _, u := range sizeUnits {
			if u.name == m[2] {
				mult = u.mult
			}
		}
	}
	if mult == 0 {
		lower := strings.ToLower(m[2])
		switch lower {
		case "k", "kb", "m", "mb", "g", "gb", "t", "tb":
			up := strings.ToUpper(lower[:1])
			return 0, fmt.Sprintf("%q is ambiguous: redis.conf reads %s as a power of 1024 (write %s%siB for 1024-based or %s%sB for 1000-based)",
				str, m[2], m[1], up, m[1], up)
		case "kib", "mib", "gib", "tib":
			return 0, fmt.Sprintf("%q: write the unit as %s%siB", str, m[1], strings.ToUpper(lower[:1]))
		}
		return 0, fmt.Sprintf("%q is not a size: unknown unit %q (write e.g. 64MiB, 8GiB or 1048576)", str, m[2])
	}
	r, ok := new(big.Rat).SetString(m[1])
	if !ok {
		return 0, fmt.Sprintf("%q is not a size (write e.g. 64MiB, 8GiB or 1048576)", str)
	}
	r.Mul(r, new(big.Rat).SetInt64(mult))
	if !r.IsInt() {
		return 0, fmt.Sprintf("%q is not a whole number of bytes", str)
	}
	if !r.Num().IsInt64() {
		return 0, fmt.Sprintf("%q is too large", str)
	}
	return Size(r.Num().Int64()), ""
}

// Bound is one side of an expectation: a plain number, a size (compared in
// bytes) or a duration (compared in seconds). Text keeps what was written when it
// carried a unit, so a bound marshals back as written ("7GiB", "50ms").
type Bound struct {
	// Value is the number compared with the metric: bytes for a size, seconds
	// for a duration.
	Value float64
	// Text is the bound as written when it had a unit; empty for a plain number.
	Text string
}

// String returns the bound as written.
func (b Bound) String() string {
	if b.Text != "" {
		return b.Text
	}
	return strconv.FormatFloat(b.Value, 'g', -1, 64)
}

// MarshalYAML writes Text when set, else the number.
func (b Bound) MarshalYAML() (any, error) {
	if b.Text != "" {
		return b.Text, nil
	}
	return b.Value, nil
}

// UnmarshalYAML lets plain yaml.v3 decoding read a Bound, with the loader's rules.
func (b *Bound) UnmarshalYAML(n *yaml.Node) error {
	v, msg := decodeBound(n)
	if msg != "" {
		return fmt.Errorf("line %d: %s", n.Line, msg)
	}
	*b = v
	return nil
}

// ParseBound parses a plain number, a size ("7GiB") or a duration ("50ms").
func ParseBound(s string) (Bound, error) {
	v, msg := parseBoundText(s)
	if msg != "" {
		return Bound{}, fmt.Errorf("scenarios: %s", msg)
	}
	return v, nil
}

// unit reports what kind of quantity the bound was written as.
func (b Bound) unit() Unit {
	if b.Text == "" {
		return UnitCount
	}
	if _, msg := parseSizeText(b.Text); msg == "" {
		return UnitBytes
	}
	return UnitSeconds
}

func decodeBound(n *yaml.Node) (Bound, string) {
	if n.Kind != yaml.ScalarNode {
		return Bound{}, fmt.Sprintf("expected a number, a size or a duration, got %s", describe(n))
	}
	switch n.ShortTag() {
	case "!!int", "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return Bound{}, fmt.Sprintf("%q is not a number", n.Value)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return Bound{}, fmt.Sprintf("%q is not a finite number", n.Value)
		}
		return Bound{Value: f}, ""
	}
	return parseBoundText(n.Value)
}

func parseBoundText(s string) (Bound, string) {
	t := strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(t, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return Bound{}, fmt.Sprintf("%q is not a finite number", s)
		}
		return Bound{Value: f}, ""
	}
	if v, msg := parseSizeText(t); msg == "" {
		return Bound{Value: float64(v), Text: s}, ""
	}
	if d, msg := parseDurationText(t, false); msg == "" {
		if d < 0 {
			return Bound{}, fmt.Sprintf("%q: a duration bound cannot be negative", s)
		}
		return Bound{Value: d.Std().Seconds(), Text: s}, ""
	}
	return Bound{}, fmt.Sprintf("%q is not a number, a size (e.g. 7GiB) or a duration (e.g. 50ms)", s)
}

// describe names a YAML node for an error message.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "nothing"
}
