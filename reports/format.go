package reports

import (
	"math"
	"strconv"
	"strings"

	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim"
)

// Kind is how a value is read by a human: the unit a number is formatted in.
type Kind int

// The kinds of values in a report.
const (
	KindCount   Kind = iota // a number of things: 599,955
	KindRatio               // a fraction shown as a percentage: 0.43 %
	KindBytes               // a size: 1.2 MiB
	KindSeconds             // a duration: 35.1 s, 2.4 ms
)

// MetricKind returns how the summary metric m is read: from the scenario
// contract's unit when the name is in it (scenarios.MetricUnit), else from the
// metric's own Unit ("s") or its name's suffix (_bytes, _ratio).
func MetricKind(m sim.Metric) Kind {
	if u, ok := scenarios.MetricUnit(m.Name); ok {
		switch u {
		case scenarios.UnitRatio:
			return KindRatio
		case scenarios.UnitBytes:
			return KindBytes
		case scenarios.UnitSeconds:
			return KindSeconds
		}
		return KindCount
	}
	switch {
	case m.Unit == "s":
		return KindSeconds
	case m.Unit == "bytes" || strings.HasSuffix(m.Name, "_bytes"):
		return KindBytes
	case strings.HasSuffix(m.Name, "_ratio"):
		return KindRatio
	}
	return KindCount
}

// FormatMetric formats a summary metric for a human (see MetricKind).
func FormatMetric(m sim.Metric) string {
	if m.Name == "rebalance_pause_total" { // partition-seconds, not a wall duration
		return FormatCount(math.Round(m.Value)) + " partition-s"
	}
	return Format(MetricKind(m), m.Value)
}

// Format formats v as a value of the given kind.
func Format(k Kind, v float64) string {
	switch k {
	case KindRatio:
		return FormatPercent(v)
	case KindBytes:
		return FormatBytes(v)
	case KindSeconds:
		return FormatSeconds(v)
	}
	return FormatCount(v)
}

// FormatBytes formats a size with binary units and three significant digits:
// "512 B", "1.2 MiB", "35.1 MiB", "7 GiB".
func FormatBytes(v float64) string {
	if bad, s := nonFinite(v); bad {
		return s
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for math.Abs(v) >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return sig(v, 3) + " " + units[i]
}

// FormatSeconds formats a duration given in seconds with three significant
// digits in the largest fitting unit: "20 µs", "2.03 ms", "35.1 s", "2.4 min"
// (from 120 s), "1.5 h" (from 120 min).
func FormatSeconds(v float64) string {
	if bad, s := nonFinite(v); bad {
		return s
	}
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0 s"
	case a < 1e-6:
		return sig(v*1e9, 3) + " ns"
	case a < 1e-3:
		return sig(v*1e6, 3) + " µs"
	case a < 1:
		return sig(v*1e3, 3) + " ms"
	case a < 120:
		return sig(v, 3) + " s"
	case a < 7200:
		return sig(v/60, 3) + " min"
	}
	return sig(v/3600, 3) + " h"
}

// FormatPercent formats a ratio as a percentage with three significant digits:
// 0.0043 → "0.43 %", 0.034486 → "3.45 %", 1 → "100 %".
func FormatPercent(ratio float64) string {
	if bad, s := nonFinite(ratio); bad {
		return s
	}
	return sig(ratio*100, 3) + " %"
}

// FormatCount formats a count: whole numbers (and anything from 100 up, rounded)
// with thousands separators, smaller fractions with three significant digits:
// "599,955", "7,000", "3.5", "0.0123".
func FormatCount(v float64) string {
	if bad, s := nonFinite(v); bad {
		return s
	}
	if v == math.Trunc(v) || math.Abs(v) >= 100 {
		return group(strconv.FormatFloat(math.Round(v), 'f', 0, 64))
	}
	return sig(v, 3)
}

func nonFinite(v float64) (bool, string) {
	switch {
	case math.IsNaN(v):
		return true, "n/a"
	case math.IsInf(v, 1):
		return true, "∞"
	case math.IsInf(v, -1):
		return true, "-∞"
	}
	return false, ""
}

// sig formats v with n significant digits (at least the integer digits), without
// trailing zeros after the decimal point, and with thousands separators.
func sig(v float64, n int) string {
	if v == 0 {
		return "0"
	}
	decimals := n - 1 - int(math.Floor(math.Log10(math.Abs(v))))
	if decimals < 0 {
		decimals = 0
	}
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.ContainsRune(s, '.') {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return group(s)
}

// group inserts thousands separators into the integer part of a formatted number.
func group(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i:]
	}
	if len(intPart) <= 3 {
		return sign + s
	}
	var b strings.Builder
	lead := len(intPart) % 3
	if lead > 0 {
		b.WriteString(intPart[:lead])
	}
	for i := lead; i < len(intPart); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(intPart[i : i+3])
	}
	return sign + b.String() + frac
}
