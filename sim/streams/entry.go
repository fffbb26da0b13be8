package streams

import (
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Behavior: one log entry, as XADD writes it: the datapoint (k), its tick's
// sequence number (s), when it was emitted in virtual time (t, ns), its offset
// in its stream (o, counted by the producer side) and, for the simulator's
// ground truth only, whether a producer emitted this tick before (d). The field
// names are short: a stream stores its fields in every listpack entry that
// differs from the node's master entry, and small integers are what a real
// producer would write.

// Entry is one record of the log.
type Entry struct {
	Stream int32         // the stream (partition) it was added to
	Offset int64         // its position in the stream, from 0
	Key    uint32        // the datapoint
	Seq    uint32        // the datapoint's tick number, from 1
	At     time.Duration // emission time
	Dup    bool          // a duplicate of a tick already emitted (ground truth, not the consumer's knowledge)
}

// values are the XADD field-value pairs of e.
func (e Entry) values() []any {
	d := "0"
	if e.Dup {
		d = "1"
	}
	return []any{"k", strconv.FormatUint(uint64(e.Key), 10), "s", strconv.FormatUint(uint64(e.Seq), 10),
		"t", strconv.FormatInt(int64(e.At), 10), "o", strconv.FormatInt(e.Offset, 10), "d", d}
}

// decode reads an entry of stream s from an XMessage.
func decode(s int32, m redis.XMessage) (Entry, error) {
	e := Entry{Stream: s}
	get := func(f string) (uint64, error) {
		v, ok := m.Values[f].(string)
		if !ok {
			return 0, fmt.Errorf("streams: entry %s of stream %d has no field %q", m.ID, s, f)
		}
		return strconv.ParseUint(v, 10, 64)
	}
	k, err := get("k")
	if err != nil {
		return e, err
	}
	seq, err := get("s")
	if err != nil {
		return e, err
	}
	at, err := get("t")
	if err != nil {
		return e, err
	}
	off, err := get("o")
	if err != nil {
		return e, err
	}
	d, err := get("d")
	if err != nil {
		return e, err
	}
	e.Key, e.Seq, e.At, e.Offset, e.Dup = uint32(k), uint32(seq), time.Duration(at), int64(off), d == 1
	return e, nil
}
