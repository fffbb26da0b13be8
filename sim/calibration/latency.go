package calibration

import (
	"fmt"
	"math"
	"time"
)

// Behavior: the time a single-threaded Redis 7.0 server spends on one command, as a
// linear function of the keys and bytes it handles, plus the network round trip.
//
// Service time is the server main thread's CPU (user+sys, INFO cpu
// used_cpu_*_main_thread) per command under pipelining, so read/write syscalls are
// amortized over a pipeline: it is the cost a command adds to a busy server's queue.
// The round trip (RTT) is a separate, non-pipelined PING through go-redis on loopback;
// a lone command costs RTT + ServiceTime, a pipeline RTT + the sum of its commands.
// Shapes fitted (cmd/calibrate): GET and SET .. PX by value size; MGET by keys and
// bytes; DEL by keys; EVALSHA of a script that SETs n keys with PX, by keys and bytes.
//
// Not modelled: I/O threads, client-side cost of go-redis, TLS, network bandwidth,
// big-value query-buffer handling, lazyfree of large values, slow-log and keyspace
// notifications, and any noise: the constants come from one shared 2-core VM.

// OpKind names a command shape ServiceTime knows.
type OpKind string

// The command shapes of the Latency constants.
const (
	OpGet     OpKind = "GET"
	OpSetPX   OpKind = "SET"
	OpMGet    OpKind = "MGET"
	OpDel     OpKind = "DEL"
	OpEvalSHA OpKind = "EVALSHA"
)

// OpKinds lists every OpKind in a fixed order.
var OpKinds = []OpKind{OpGet, OpSetPX, OpMGet, OpDel, OpEvalSHA}

// Cost returns the OpCost of op, or an error for an unknown op.
func (l Latency) Cost(op OpKind) (OpCost, error) {
	switch op {
	case OpGet:
		return l.Get, nil
	case OpSetPX:
		return l.SetPX, nil
	case OpMGet:
		return l.MGet, nil
	case OpDel:
		return l.Del, nil
	case OpEvalSHA:
		return l.EvalSHA, nil
	}
	return OpCost{}, fmt.Errorf("calibration: unknown op %q", op)
}

// set stores the cost of op; it panics on an unknown op (callers iterate OpKinds).
func (l *Latency) set(op OpKind, c OpCost) {
	switch op {
	case OpGet:
		l.Get = c
	case OpSetPX:
		l.SetPX = c
	case OpMGet:
		l.MGet = c
	case OpDel:
		l.Del = c
	case OpEvalSHA:
		l.EvalSHA = c
	default:
		panic(fmt.Sprintf("calibration: set cost of unknown op %q", op))
	}
}

// Nanos is the cost in nanoseconds of a command handling keys keys and bytes bytes.
func (o OpCost) Nanos(keys, bytes int) float64 {
	return o.PerOpNanos + o.PerKeyNanos*float64(keys) + o.PerByteNanos*float64(bytes)
}

// ServiceTime is the server time of one command of shape op touching keys keys and
// bytes bytes of values (read or written). It panics on an unknown op or negative
// counts: both are programming errors of the caller.
func (c Calibration) ServiceTime(op OpKind, keys, bytes int) time.Duration {
	cost, err := c.Latency.Cost(op)
	if err != nil {
		panic(err.Error())
	}
	if keys < 0 || bytes < 0 {
		panic(fmt.Sprintf("calibration: ServiceTime(%s, keys=%d, bytes=%d): negative count", op, keys, bytes))
	}
	return time.Duration(math.Round(cost.Nanos(keys, bytes)))
}

// RTT is the median loopback round trip measured with PING.
func (c Calibration) RTT() time.Duration { return time.Duration(c.Latency.RTTNanos) }
