package scenarios

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrInvalid is matched (errors.Is) by every error Parse, Load, Open, Validate
// and With return for a bad scenario, as opposed to an I/O error.
var ErrInvalid = errors.New("scenarios: invalid scenario")

// FieldError is one problem in a scenario, located by file, line and field path.
// Its message says what is wrong and, where it can, how to write it instead.
type FieldError struct {
	// File is the name the scenario was parsed under ("" when built in Go).
	File string
	// Line is the 1-based line of the offending field, or 0 when unknown.
	Line int
	// Variant is the run an override error belongs to (a variant name, or a
	// sweep label such as "spill/redis.maxmemory=3GiB"); empty for the base.
	Variant string
	// Path is the dotted field path, e.g. "consumers.termination_grace" or
	// "timeline[2].pause.pod"; empty for a file-level problem.
	Path string
	// Msg is the problem and its hint.
	Msg string
}

// Error formats the error as "file:line: variant v: path: message".
func (e *FieldError) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	switch e.Variant {
	case "":
	case OverrideLabel:
		b.WriteString(OverrideLabel + ": ")
	default:
		b.WriteString("variant " + e.Variant + ": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap makes every FieldError match ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// FieldErrors returns the FieldErrors inside err (one, or several joined), in
// order. It returns nil if err holds none.
func FieldErrors(err error) []*FieldError {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*FieldError
		for _, e := range j.Unwrap() {
			out = append(out, FieldErrors(e)...)
		}
		return out
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return []*FieldError{fe}
	}
	return nil
}

// joinErrors sorts errs by line (errors without a line last), drops duplicates
// and joins them; nil if there are none.
func joinErrors(errs []*FieldError) error {
	if len(errs) == 0 {
		return nil
	}
	sorted := append([]*FieldError(nil), errs...)
	sort.SliceStable(sorted, func(i, j int) bool {
		li, lj := sorted[i].Line, sorted[j].Line
		if (li == 0) != (lj == 0) {
			return lj == 0
		}
		return li < lj
	})
	seen := make(map[string]bool, len(sorted))
	out := make([]error, 0, len(sorted))
	for _, e := range sorted {
		s := e.Error()
		if seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, e)
	}
	if len(out) == 1 {
		return out[0]
	}
	return errors.Join(out...)
}

// joinPath appends a field name to a dotted path.
func joinPath(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + "." + child
}

// parentPath strips the last ".field" or "[index]" from a path.
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// underPath reports whether p is prefix or a field inside it.
func underPath(p, prefix string) bool {
	if p == prefix {
		return true
	}
	return strings.HasPrefix(p, prefix) && (p[len(prefix)] == '.' || p[len(prefix)] == '[')
}

// suggest returns the candidate closest to word, or "" if none is close
// enough to be a likely typo. Case, '-' and '_' are ignored first.
func suggest(word string, candidates []string) string {
	norm := func(s string) string {
		return strings.NewReplacer("-", "", "_", "", ".", "").Replace(strings.ToLower(s))
	}
	w := norm(word)
	best, bestDist := "", -1
	for _, c := range candidates {
		d := levenshtein(w, norm(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	limit := len(w) / 3
	if limit < 2 {
		limit = 2
	}
	if bestDist > limit || bestDist >= len(w) {
		// No likely typo; a unique candidate that starts with the word is a
		// likely abbreviation ("spill" for "spill-on-revoke").
		prefixed := ""
		for _, c := range candidates {
			if len(w) >= 3 && strings.HasPrefix(norm(c), w) {
				if prefixed != "" {
					return ""
				}
				prefixed = c
			}
		}
		return prefixed
	}
	return best
}

// didYouMean formats a suggestion as " (did you mean x?)", or "".
func didYouMean(word string, candidates []string) string {
	if s := suggest(word, candidates); s != "" {
		return " (did you mean " + s + "?)"
	}
	return ""
}

// levenshtein is the edit distance between a and b, by bytes.
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
