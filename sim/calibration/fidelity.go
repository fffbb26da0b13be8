package calibration

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Behavior: the fidelity suite's measurements — BGSAVEs and AOF rewrites of a real
// redis-server while clients write at a paced rate, measured by cmd/calibrate
// -fidelity and shipped as fidelity.json. Each case is a dataset shaped like the
// simulator's write-through keys (workload.RedisKey keys, values as long as the
// core's envelope of a context, a TTL on every key), a write rate, a key pattern
// and what the server reported: used memory before the fork, latest_fork_usec, how
// long the child lived, how many writes the clients got acknowledged while it
// lived, and its copy-on-write (rdb_last_cow_size or aof_last_cow_size). The
// simulator replays every case (sim's fidelity test) and compares.

//go:embed fidelity.json
var shippedFidelityJSON []byte

// Fidelity is one measured fidelity suite.
type Fidelity struct {
	Machine Machine        `json:"machine"`
	Cases   []FidelityCase `json:"cases"`
}

// The fidelity cases' child kinds and key patterns.
const (
	KindBGSave     = "bgsave"
	KindAOFRewrite = "aof-rewrite"
	PatternUniform = "uniform"
	PatternHot     = "hot"
)

// FidelityCase is one fork of a loaded dataset with writers running.
type FidelityCase struct {
	// Name is "<kind>/<dataset>/<pattern>/<target rate>", e.g. "bgsave/2GiB/hot/50000".
	Name string `json:"name"`
	// Kind is bgsave (BGSAVE) or aof-rewrite (BGREWRITEAOF with appendonly yes).
	Kind string `json:"kind"`
	// Pattern is uniform (every write picks a key uniformly) or hot: HotWriteFraction
	// of the writes go to the HotKeyFraction of the keys (key ids divisible by
	// 1/HotKeyFraction), uniformly among them; the rest to the other keys.
	Pattern          string  `json:"pattern"`
	HotKeyFraction   float64 `json:"hot_key_fraction,omitempty"`
	HotWriteFraction float64 `json:"hot_write_fraction,omitempty"`
	// Keys is the dataset's key count: ids [0, Keys), named as the simulator names
	// a datapoint's key of partition id mod Partitions.
	Keys       int64 `json:"keys"`
	Partitions int   `json:"partitions"`
	// ContextBytes is the simulated context whose envelope (compression none) is
	// ValueBytes long; every key has a TTL (SET .. PX).
	ContextBytes int `json:"context_bytes"`
	ValueBytes   int `json:"value_bytes"`
	// TargetWritesPerSec is the paced rate of all writers together.
	TargetWritesPerSec int `json:"target_writes_per_sec"`
	// Writes is the number of writes acknowledged between the fork's reply and the
	// moment the tool saw the child finish.
	Writes int64 `json:"writes"`
	// UsedBytes and RSSBytes are used_memory and used_memory_rss before the fork.
	UsedBytes int64 `json:"used_bytes"`
	RSSBytes  int64 `json:"rss_bytes"`
	// ForkUsec is latest_fork_usec.
	ForkUsec int64 `json:"fork_usec"`
	// ChildNanos is the wall time from the fork's reply to the tool seeing the child
	// done (INFO polled every 10 ms).
	ChildNanos int64 `json:"child_ns"`
	// COWBytes is rdb_last_cow_size (bgsave) or aof_last_cow_size (aof-rewrite).
	COWBytes int64 `json:"cow_bytes"`
}

// WritesPerSec is the acknowledged write rate while the child lived.
func (c FidelityCase) WritesPerSec() float64 {
	if c.ChildNanos <= 0 {
		return 0
	}
	return float64(c.Writes) / (float64(c.ChildNanos) / 1e9)
}

// IsHot reports whether key id is one of a hot pattern's hot keys.
func (c FidelityCase) IsHot(id int64) bool {
	return c.Pattern == PatternHot && id%HotStride(c.HotKeyFraction) == 0
}

// HotStride is the spacing of hot key ids for a hot-key fraction f: 1/f rounded.
func HotStride(f float64) int64 {
	if f <= 0 || f > 1 {
		panic(fmt.Sprintf("calibration: HotStride(%v): want 0 < f <= 1", f))
	}
	return max(1, int64(1/f+0.5))
}

// DefaultFidelity returns the shipped fidelity suite (fidelity.json).
func DefaultFidelity() Fidelity {
	f, err := DecodeFidelity(bytes.NewReader(shippedFidelityJSON))
	if err != nil {
		panic(fmt.Sprintf("calibration: shipped fidelity.json is broken: %v", err))
	}
	return f
}

// DecodeFidelity reads a fidelity suite from JSON, rejecting unknown fields, and
// validates it.
func DecodeFidelity(r io.Reader) (Fidelity, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var f Fidelity
	if err := dec.Decode(&f); err != nil {
		return Fidelity{}, fmt.Errorf("calibration: decode fidelity: %w", err)
	}
	if dec.More() {
		return Fidelity{}, fmt.Errorf("calibration: decode fidelity: trailing data after the JSON object")
	}
	return f, f.Validate()
}

// EncodeFidelity writes f as indented JSON with a trailing newline.
func EncodeFidelity(w io.Writer, f Fidelity) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("calibration: encode fidelity: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Validate reports whether every case can be replayed.
func (f Fidelity) Validate() error {
	names := map[string]bool{}
	for i, c := range f.Cases {
		bad := func(what string) error {
			return fmt.Errorf("%w: fidelity case %d (%s): %s", ErrInvalid, i, c.Name, what)
		}
		switch {
		case c.Name == "" || names[c.Name]:
			return bad("name empty or repeated")
		case c.Kind != KindBGSave && c.Kind != KindAOFRewrite:
			return bad("kind must be " + KindBGSave + " or " + KindAOFRewrite)
		case c.Pattern != PatternUniform && c.Pattern != PatternHot:
			return bad("pattern must be " + PatternUniform + " or " + PatternHot)
		case c.Pattern == PatternHot && (c.HotKeyFraction <= 0 || c.HotKeyFraction > 0.5 ||
			c.HotWriteFraction <= 0 || c.HotWriteFraction > 1):
			return bad("a hot pattern needs 0 < hot_key_fraction <= 0.5 and 0 < hot_write_fraction <= 1")
		case c.Keys < 1 || c.Partitions < 1 || c.ContextBytes < 1 || c.ValueBytes < c.ContextBytes:
			return bad("keys, partitions and context_bytes must be >= 1 and value_bytes >= context_bytes")
		case c.Writes < 0 || c.UsedBytes <= 0 || c.ForkUsec < 0 || c.ChildNanos <= 0 || c.COWBytes < 0:
			return bad("writes, fork_usec and cow_bytes must be >= 0, used_bytes and child_ns > 0")
		case !strings.HasPrefix(c.Name, c.Kind+"/"):
			return bad("the name must start with the kind")
		}
		names[c.Name] = true
	}
	return nil
}
