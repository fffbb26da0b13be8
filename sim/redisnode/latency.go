package redisnode

import (
	"math"
	"time"
)

// Behavior: the virtual time a client waits for one round trip to a
// single-threaded Redis server: queueing behind work already on the server, the
// network round trip, the command's service time, and contention between the
// parallel spill workers of one action.
//
// Service time per command comes from the calibration (calibration/latency.go:
// the server main thread's CPU per pipelined command, fitted per shape by keys and
// bytes on a real redis-server): GET/SET/MGET/DEL and EVALSHA (a script that SETs n
// keys). Shapes the calibration did not measure are composed from those constants
// and are approximations: GETDEL = GET + one DEL key; SADD/SREM/SMEMBERS = SET's
// per-op cost + MGET's per-key cost per member + SET's per-byte cost; EXPIRE, EXISTS,
// TTL, PING, SCRIPT LOAD = GET's per-op cost. Config.OpTime/ByteTime/ScriptTime
// replace all of that with a flat model when set.
//
// Queueing, deterministically and independent of goroutine order:
//   - The node keeps busyUntil, the virtual time its single thread is free. Every
//     action (one Meter: a spill, a restore, a claim) starts at Meter.Start (or the
//     engine's now) and adds the service time of its commands to the server's work:
//     busyUntil = max(busyUntil, start) + Σ service. A fork stall adds
//     fork_time_per_gib × used memory the same way (fork.go).
//   - Calls of lane 0 (the calling goroutine) are sequential: each one arrives at
//     start + Lead + the lane's time so far + RTT/2 and waits for
//     max(0, busyUntil − arrival) before RTT + service.
//   - Spill workers (lanes 1..W) run concurrently, so their order is not defined;
//     each worker's first call waits for the backlog present when the action began
//     (busyUntil − start − RTT/2), and each of its calls then costs
//     max(RTT + s, W × s): W workers keep the server busy, so a worker's batch comes
//     back after the W batches in the queue have been served, or after its own round
//     trip if the server keeps up. W is Meter.Workers when set (the simulator knows
//     min(spill_parallelism, batches)), else the client's pool size − 1 (the
//     parallelism the simulator gives it), and never less than the worker's lane.
//   - A latency spike (AddLatency) adds its extra delay to every call that starts
//     inside its window.
//
// So a spill storm raises the latency of restores that arrive while its work is
// queued, and every command that arrives during a fork stall waits for it.
//
// Not modelled: I/O threads, network bandwidth, TCP effects, client-side CPU, a
// server that interleaves concurrent clients' commands finer than one call, and the
// spread of real per-command times (the p99 of the calibrated round trip is not
// used). Ring clients send a pipeline's per-shard parts in parallel; here their
// costs add up on lane 0 (an overestimate), deterministically.

// serviceTime is the server time of one command; readBytes are the value bytes it
// returns (estimated from the keyspace before it runs).
func (n *Node) serviceTime(ci *cmdInfo, readBytes int64, wireArgBytes int) time.Duration {
	s := n.cfg
	if s.flat {
		d := s.OpTime + time.Duration(wireArgBytes)*s.ByteTime
		if ci.script {
			d += s.ScriptTime + time.Duration(ci.keys)*s.OpTime
		}
		return d
	}
	l := s.cal.Latency
	var ns float64
	switch ci.shape {
	case shapeFast:
		ns = l.Get.PerOpNanos
	case shapeGet:
		ns = l.Get.Nanos(1, int(readBytes))
	case shapeSet:
		ns = float64(max(ci.keys, 1))*l.SetPX.PerOpNanos + l.SetPX.PerByteNanos*float64(ci.argVals)
	case shapeMGet:
		ns = l.MGet.Nanos(ci.keys, int(readBytes))
	case shapeDel:
		ns = l.Del.Nanos(ci.keys, 0)
	case shapeGetDel:
		ns = l.Get.Nanos(1, int(readBytes)) + l.Del.PerKeyNanos
	case shapeSetMembers:
		ns = l.SetPX.PerOpNanos + l.MGet.PerKeyNanos*float64(ci.keys) + l.SetPX.PerByteNanos*float64(ci.argVals+readBytes)
	case shapeScript:
		ns = l.EvalSHA.Nanos(ci.keys, int(ci.argVals))
	}
	return time.Duration(math.Round(ns))
}

// callCost is what one round trip costs its caller: the wait before the server
// takes it, then RTT + service alone, or the worker's share of a saturated server.
func callCost(wait, rtt, service time.Duration, workers int) time.Duration {
	if workers <= 1 {
		return wait + rtt + service
	}
	return wait + max(rtt+service, time.Duration(workers)*service)
}

// spike is an extra delay on every call starting in [from, until).
type spike struct {
	from, until, extra time.Duration
}

// spikeAt is the extra delay of calls starting at at; expired spikes are dropped.
func (n *Node) spikeAt(at time.Duration) time.Duration {
	var d time.Duration
	keep := n.spikes[:0]
	for _, s := range n.spikes {
		if s.until <= at {
			continue
		}
		keep = append(keep, s)
		if s.from <= at {
			d += s.extra
		}
	}
	n.spikes = keep
	return d
}
