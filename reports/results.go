package reports

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/spillway-sim/spillway/sim"
)

// MarshalResult encodes res as results.json: the same document as
// json.Marshal(res) (it decodes into a sim.Result), laid out for diffs — one
// summary metric, series row, event and CDF point per line — with HTML
// characters left unescaped. Field order is the struct order and the summary
// keeps its own order, so the same result always gives the same bytes.
func MarshalResult(res *sim.Result) ([]byte, error) {
	if res == nil {
		return nil, fmt.Errorf("reports: nil result")
	}
	w := &jsonWriter{}
	w.raw("{\n")
	w.field(1, "scenario", res.Scenario, ",\n")
	w.field(1, "seed", res.Seed, ",\n")
	if res.Repeat != 0 {
		w.field(1, "repeat", res.Repeat, ",\n")
	}
	w.indent(1)
	w.raw(`"runs": `)
	if res.Runs == nil {
		w.raw("null\n}\n")
		return w.bytes()
	}
	w.raw("[")
	for i, r := range res.Runs {
		if i > 0 {
			w.raw(",")
		}
		w.raw("\n")
		w.run(r)
	}
	if len(res.Runs) > 0 {
		w.raw("\n")
		w.indent(1)
	}
	w.raw("]\n}\n")
	return w.bytes()
}

// jsonWriter writes JSON by hand around values encoded by encoding/json; the
// first error sticks.
type jsonWriter struct {
	buf bytes.Buffer
	err error
}

func (w *jsonWriter) bytes() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	return w.buf.Bytes(), nil
}

func (w *jsonWriter) raw(s string) { w.buf.WriteString(s) }

func (w *jsonWriter) indent(level int) {
	for i := 0; i < level; i++ {
		w.buf.WriteString("  ")
	}
}

// value writes v as compact JSON.
func (w *jsonWriter) value(v any) {
	if w.err != nil {
		return
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		w.err = fmt.Errorf("reports: encoding results.json: %w", err)
		return
	}
	w.buf.Write(bytes.TrimSuffix(b.Bytes(), []byte{'\n'}))
}

func (w *jsonWriter) field(level int, name string, v any, after string) {
	w.indent(level)
	w.value(name)
	w.raw(": ")
	w.value(v)
	w.raw(after)
}

// list writes a JSON array of n items, one per line, or null when isNil.
func (w *jsonWriter) list(level int, isNil bool, n int, item func(i int)) {
	if isNil {
		w.raw("null")
		return
	}
	if n == 0 {
		w.raw("[]")
		return
	}
	w.raw("[\n")
	for i := 0; i < n; i++ {
		w.indent(level + 1)
		item(i)
		if i < n-1 {
			w.raw(",")
		}
		w.raw("\n")
	}
	w.indent(level)
	w.raw("]")
}

func (w *jsonWriter) run(r *sim.RunResult) {
	if r == nil {
		w.indent(2)
		w.raw("null")
		return
	}
	w.indent(2)
	w.raw("{\n")
	w.field(3, "label", r.Label, ",\n")
	w.field(3, "variant", r.Variant, ",\n")
	if r.Point != "" {
		w.field(3, "point", r.Point, ",\n")
	}
	if r.Sampling != nil {
		w.field(3, "sampling", r.Sampling, ",\n")
	}
	if r.Seed != nil {
		w.field(3, "seed", *r.Seed, ",\n")
	}
	w.indent(3)
	w.raw(`"summary": `)
	w.summary(r.Summary)
	w.raw(",\n")
	if r.Recommendations != nil {
		w.field(3, "recommendations", r.Recommendations, ",\n")
	}

	w.indent(3)
	w.raw("\"series\": {\n")
	w.field(4, "columns", r.Series.Columns, ",\n")
	w.indent(4)
	w.raw(`"rows": `)
	w.list(4, r.Series.Rows == nil, len(r.Series.Rows), func(i int) { w.value(r.Series.Rows[i]) })
	w.raw("\n")
	w.indent(3)
	w.raw("},\n")

	w.indent(3)
	w.raw(`"events": `)
	w.list(3, r.Events == nil, len(r.Events), func(i int) { w.value(r.Events[i]) })
	w.raw(",\n")
	w.indent(3)
	w.raw(`"latency_cdf": `)
	w.list(3, r.Latency == nil, len(r.Latency), func(i int) { w.value(r.Latency[i]) })
	w.raw("\n")
	w.indent(2)
	w.raw("}")
}

// summary writes the summary object one metric per line, each encoded by
// sim.Summary's own MarshalJSON so numbers are formatted exactly as sim does.
func (w *jsonWriter) summary(s sim.Summary) {
	if len(s) == 0 { // a nil Summary marshals as {} too: its MarshalJSON has a value receiver
		w.raw("{}")
		return
	}
	w.raw("{\n")
	for i, m := range s {
		if w.err != nil {
			return
		}
		b, err := sim.Summary{m}.MarshalJSON()
		if err != nil {
			w.err = fmt.Errorf("reports: encoding summary metric %s: %w", m.Name, err)
			return
		}
		if !json.Valid(b) {
			w.err = fmt.Errorf("reports: summary metric %s = %v is not valid JSON", m.Name, m.Value)
			return
		}
		w.indent(4)
		w.buf.Write(b[1 : len(b)-1])
		if i < len(s)-1 {
			w.raw(",")
		}
		w.raw("\n")
	}
	w.indent(3)
	w.raw("}")
}
