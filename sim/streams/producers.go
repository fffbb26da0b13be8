package streams

import (
	"container/heap"
	"fmt"
	"math"
	"slices"
	"time"
)

// Behavior: producers that schedule per-datapoint ticks (UptimeNinja's write-up:
// a time.Ticker per monitor vs a tick table polled from a database, duplicate
// events when producers scale out, ownership of schedules, restarts that delay
// long-interval checks). The workload says when each tick is due; this model
// says when, and how many times, the producers emit it:
//
//   - ticker: every replica runs a ticker per datapoint. A replica that never
//     restarted fires on the schedule; one that restarted at B fires at B + n×I
//     (time.NewTicker's first tick is one interval after it is made), so the
//     tick due at t goes out at the first firing at or after t (n ≥ 1), unless
//     that is an interval or more late (the next tick supersedes it), or the
//     replica is down then. Every replica emits: replicas − 1 duplicates per
//     tick, with no ownership.
//   - tick-table: a table of next ticks; each replica polls it every poll_every
//     (replica r at r×poll_every/replicas, restarted ones from their start) and
//     claims the due rows in the UPDATE (no duplicates). A tick goes out at the
//     first poll at or after it is due, by any live replica, unless that is an
//     interval or more late (the row's next tick then supersedes it: missed).
//   - leased: schedules are split into shards, each leased to one replica
//     (shard i first to replica i mod replicas), which fires them on the
//     schedule. A replica that stops releases its leases; a live one takes each
//     at its next renewal (every lease_ttl/3, replica q at q×period/replicas), or
//     the restarted replica takes it back when it starts, if no one else could.
//     Ticks due while a shard has no owner go out when it gets one, unless that
//     is an interval or more late.
//
// One firing, poll or lease acquisition emits a datapoint once: a tick that
// jitter maps onto the same one as the previous tick is missed.
//
// A tick emitted more than once counts as duplicates beyond the first; a tick
// never emitted is missed; the delay of a tick is its first emission − its due
// time. Emitted ticks are numbered per datapoint (Emission.Seq): the consumer's
// ground truth is "the previous tick emitted", so a missed tick does not make
// the next one look stale.
//
// Not modelled: the database's own latency and load beyond counting polls,
// clock skew between producers, a ticker's drift.

// Scheduling is how producers schedule ticks.
type Scheduling uint8

// The scheduling modes.
const (
	Ticker Scheduling = iota
	TickTable
	LeasedSchedules
)

// ParseScheduling maps a producers.scheduling value to a Scheduling.
func ParseScheduling(s string) (Scheduling, error) {
	switch s {
	case "ticker":
		return Ticker, nil
	case "tick-table":
		return TickTable, nil
	case "leased":
		return LeasedSchedules, nil
	}
	return 0, fmt.Errorf("streams: unknown scheduling %q", s)
}

// Downtime is a span during which one producer replica is down.
type Downtime struct {
	Replica     int
	From, Until time.Duration
}

// ProducerConfig configures Producers.
type ProducerConfig struct {
	Replicas   int
	Scheduling Scheduling
	PollEvery  time.Duration // tick-table
	LeaseTTL   time.Duration // leased: renewal every LeaseTTL/3
	Shards     int           // leased: schedule shards; 0 = 64
	Down       []Downtime    // restarts, known in advance (the scenario's timeline)
}

// Emission is one tick a producer emits.
type Emission struct {
	Key  uint32
	Seq  uint32        // the datapoint's emitted-tick number, from 1
	At   time.Duration // emission time
	Due  time.Duration // when the tick was due
	Dup  bool          // a copy of a tick already emitted
	copy int
}

// Producers turns due ticks into emissions. It is not safe for concurrent use.
type Producers struct {
	cfg   ProducerConfig
	down  [][]Downtime // per replica, by From
	gaps  [][]gap      // leased: per shard, spans without an owner
	queue emissionHeap
	seq   []uint32
	// last is, per emitter (a ticker replica; the one table or lease owner) and
	// key, its latest emission: one firing, poll or acquisition emits a key once,
	// so a tick that maps onto the same one as the previous (jitter) is missed.
	last [][]time.Duration

	duplicates, missed int64
}

type gap struct{ from, to time.Duration } // to = math.MaxInt64: never owned again

// NewProducers returns the producers of cfg for keys datapoints.
func NewProducers(cfg ProducerConfig, keys int) (*Producers, error) {
	if cfg.Replicas < 1 {
		return nil, fmt.Errorf("streams: producers need at least one replica, got %d", cfg.Replicas)
	}
	if cfg.Scheduling == TickTable && cfg.PollEvery <= 0 {
		return nil, fmt.Errorf("streams: a tick table needs a positive poll period")
	}
	if cfg.Scheduling == LeasedSchedules && cfg.LeaseTTL <= 0 {
		return nil, fmt.Errorf("streams: leased schedules need a positive lease TTL")
	}
	if cfg.Shards <= 0 {
		cfg.Shards = 64
	}
	p := &Producers{cfg: cfg, down: make([][]Downtime, cfg.Replicas), seq: make([]uint32, keys)}
	emitters := 1
	if cfg.Scheduling == Ticker {
		emitters = cfg.Replicas
	}
	p.last = make([][]time.Duration, emitters)
	for i := range p.last {
		p.last[i] = make([]time.Duration, keys)
		for k := range p.last[i] {
			p.last[i][k] = -1
		}
	}
	for _, d := range cfg.Down {
		if d.Replica < 0 || d.Replica >= cfg.Replicas || d.Until <= d.From {
			return nil, fmt.Errorf("streams: bad producer downtime %+v", d)
		}
		p.down[d.Replica] = append(p.down[d.Replica], d)
	}
	for r := range p.down {
		slices.SortFunc(p.down[r], func(a, b Downtime) int { return int(a.From - b.From) })
		// Overlapping restarts of one replica merge into one downtime.
		merged := p.down[r][:0]
		for _, d := range p.down[r] {
			if n := len(merged); n > 0 && d.From <= merged[n-1].Until {
				merged[n-1].Until = max(merged[n-1].Until, d.Until)
				continue
			}
			merged = append(merged, d)
		}
		p.down[r] = merged
	}
	if cfg.Scheduling == LeasedSchedules {
		p.gaps = make([][]gap, cfg.Shards)
		for sh := range p.gaps {
			p.gaps[sh] = p.shardGaps(sh)
		}
	}
	return p, nil
}

// Duplicates is the number of duplicate emissions scheduled so far.
func (p *Producers) Duplicates() int64 { return p.duplicates }

// Missed is the number of due ticks that will never be emitted.
func (p *Producers) Missed() int64 { return p.missed }

// Polls is the number of tick-table polls the replicas make in [0, end).
func (p *Producers) Polls(end time.Duration) int64 {
	if p.cfg.Scheduling != TickTable {
		return 0
	}
	var n int64
	for r := range p.cfg.Replicas {
		for t := p.nextPoll(r, 0); t < end; t = p.nextPoll(r, t+1) {
			n++
		}
	}
	return n
}

// downAt reports whether replica r is down at t, and until when.
func (p *Producers) downAt(r int, t time.Duration) (bool, time.Duration) {
	for _, d := range p.down[r] {
		if t >= d.From && t < d.Until {
			return true, d.Until
		}
	}
	return false, 0
}

// restartedAt is the end of r's latest downtime at or before t (ok false: none).
func (p *Producers) restartedAt(r int, t time.Duration) (time.Duration, bool) {
	var b time.Duration
	ok := false
	for _, d := range p.down[r] {
		if d.Until <= t {
			b, ok = d.Until, true
		}
	}
	return b, ok
}

// Schedule files key k's tick due at due (interval iv) and returns how many
// emissions it will make (0: missed).
func (p *Producers) Schedule(k uint32, due, iv time.Duration) int {
	var at []time.Duration
	once := func(e int, f time.Duration) {
		if f > p.last[e][k] {
			p.last[e][k] = f
			at = append(at, f)
		}
	}
	switch p.cfg.Scheduling {
	case Ticker:
		for r := range p.cfg.Replicas {
			if f, ok := p.tickerFire(r, due, iv); ok {
				once(r, f)
			}
		}
	case TickTable:
		f := time.Duration(math.MaxInt64)
		for r := range p.cfg.Replicas {
			f = min(f, p.nextPoll(r, due))
		}
		if f-due < iv {
			once(0, f)
		}
	case LeasedSchedules:
		f := due
		for _, g := range p.gaps[int(k)%p.cfg.Shards] {
			if due >= g.from && due < g.to {
				f = g.to
			}
		}
		if f-due < iv {
			once(0, f)
		}
	}
	if len(at) == 0 {
		p.missed++
		return 0
	}
	slices.Sort(at)
	p.seq[k]++
	for i, a := range at {
		heap.Push(&p.queue, Emission{Key: k, Seq: p.seq[k], At: a, Due: due, Dup: i > 0, copy: i})
	}
	p.duplicates += int64(len(at) - 1)
	return len(at)
}

// tickerFire is when replica r's ticker emits the tick due at due, if it does.
func (p *Producers) tickerFire(r int, due, iv time.Duration) (time.Duration, bool) {
	b, restarted := p.restartedAt(r, due)
	if down, until := p.downAt(r, due); down {
		b, restarted = until, true
	}
	f := due
	if restarted {
		n := max(1, ceilDiv(due-b, iv))
		f = b + time.Duration(n)*iv
	}
	if f-due >= iv {
		return 0, false
	}
	if down, _ := p.downAt(r, f); down {
		return 0, false // down again by then: its next start handles later ticks
	}
	return f, true
}

// nextPoll is replica r's first tick-table poll at or after t.
func (p *Producers) nextPoll(r int, t time.Duration) time.Duration {
	P := p.cfg.PollEvery
	for range 1 + len(p.down[r]) {
		origin := time.Duration(r) * P / time.Duration(p.cfg.Replicas)
		if b, ok := p.restartedAt(r, t); ok {
			origin = b
		}
		q := origin
		if t > origin {
			q = origin + time.Duration(ceilDiv(t-origin, P))*P
		}
		down, until := p.downAt(r, q)
		if !down {
			return q
		}
		t = until // polls start again when it is back
	}
	return time.Duration(math.MaxInt64)
}

// shardGaps computes when schedule shard sh has no owner, from the downtimes.
func (p *Producers) shardGaps(sh int) []gap {
	R := p.cfg.Replicas
	period := max(p.cfg.LeaseTTL/3, time.Millisecond)
	owner := sh % R
	var gaps []gap
	t := time.Duration(0)
	for {
		// The owner's next downtime after t.
		var next *Downtime
		for i := range p.down[owner] {
			if d := &p.down[owner][i]; d.From >= t {
				next = d
				break
			}
		}
		if next == nil {
			return gaps
		}
		// Released at next.From: the first live replica to renew takes it; the
		// owner itself when it is back, if no one renews before.
		best, who := next.Until, owner
		for q := range R {
			if q == owner {
				continue
			}
			phase := time.Duration(q) * period / time.Duration(R)
			at := next.From
			for range 1 + len(p.down[q]) {
				c := phase
				if at > phase {
					c = phase + time.Duration(ceilDiv(at-phase, period))*period
				}
				down, until := p.downAt(q, c)
				if !down {
					at = c
					break
				}
				at = until
			}
			if down, _ := p.downAt(q, at); !down && at < best {
				best, who = at, q
			}
		}
		if best > next.From {
			gaps = append(gaps, gap{from: next.From, to: best})
		}
		owner, t = who, max(best, next.From+1)
	}
}

func ceilDiv(a, b time.Duration) int64 {
	if a <= 0 {
		return 0
	}
	return int64((a + b - 1) / b)
}

// Pop appends to out every emission before to, in (time, key, copy) order.
func (p *Producers) Pop(to time.Duration, out []Emission) []Emission {
	for len(p.queue) > 0 && p.queue[0].At < to {
		out = append(out, heap.Pop(&p.queue).(Emission))
	}
	return out
}

type emissionHeap []Emission

func (h emissionHeap) Len() int { return len(h) }
func (h emissionHeap) Less(i, j int) bool {
	a, b := &h[i], &h[j]
	if a.At != b.At {
		return a.At < b.At
	}
	if a.Key != b.Key {
		return a.Key < b.Key
	}
	if a.Seq != b.Seq {
		return a.Seq < b.Seq
	}
	return a.copy < b.copy
}
func (h emissionHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *emissionHeap) Push(x any)   { *h = append(*h, x.(Emission)) }
func (h *emissionHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
