package redisnode

import "time"

// Behavior: a Meter's call trace, for models that place an action's round
// trips on the client's connections after the fact (sim/clientpool.go). Each
// lane keeps its calls in the order they were made: lane 0 is the calling
// goroutine, lane w+1 spill worker w, whose batches are dealt statically
// (core.SpillWorker), so a lane's list does not depend on goroutine order.
//
// Not traced: setup commands (HELLO, CLIENT SETINFO), which the hook lets
// through uncharged, and calls refused for passing the Meter's budget.

// TracedCall is one charged call of a Meter: its cost to the caller, the server
// time it took, and how many real round trips it stands for.
type TracedCall struct {
	// Cost is the virtual time the call took the caller (wait for the server,
	// round trip, service, latency spike): what the lane was charged.
	Cost time.Duration
	// Service is the server's CPU time for the call's commands.
	Service time.Duration
	// Real is the real round trips the call stands for: 1, or more in a sampled
	// run (weight.go), made one after the other on the lane.
	Real float64
	// Wait is the part of Cost spent waiting for the busy server before the
	// first of those round trips (the backlog the lane found): only the first
	// real round trip waits for it.
	Wait time.Duration
}

// traceCall records a charged call on lane when the meter traces (wait: the
// part of cost spent queued behind the server's backlog); m may be nil.
func (m *Meter) traceCall(lane int, cost, wait, service time.Duration, real float64) {
	if m == nil || !m.Trace {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(m.trace) <= lane {
		m.trace = append(m.trace, nil)
	}
	m.trace[lane] = append(m.trace[lane], TracedCall{Cost: cost, Service: service, Real: max(real, 1), Wait: wait})
}

// Traced returns the calls charged per lane, in call order (nil without Trace).
// The lists are the meter's own: read them after the action, do not modify them.
func (m *Meter) Traced() [][]TracedCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.trace
}
