package redisnode

import "time"

// Behavior: how busy a node's single-threaded main thread is — the service time
// of the commands it served (and its fork stalls) over wall time — and how many
// commands per second it served, per fixed window of CPUWindow of virtual time
// (windows [k·CPUWindow, (k+1)·CPUWindow)). It reads the same queue the latency
// model keeps (latency.go): each call occupies the thread from
// max(busyUntil, its action's start) for its service time, so the busy intervals
// never overlap and a window is at most 100 % busy; a call's commands count in the
// window its service starts in. The service times are the calibrated main-thread
// CPU per pipelined command (calibration/latency.go: INFO cpu
// used_cpu_*_main_thread on a real redis-server), so the busy fraction is what
// INFO cpu would show for the main thread under a pipelined load.
//
// This is the number behind Instaclustr's nodes "processing 90 thousand operations
// per second and sitting at around 70% cpu" ("Upgrades to Our Internal Monitoring
// Pipeline: Using Redis as a Cassandra Cache", Instaclustr, 2022,
// https://www.instaclustr.com/blog/upgrades-to-our-internal-monitoring-pipeline-using-redis-as-a-cassandra-cache/)
// and the report's flag of a node above 70 % busy. Not modelled: the main thread's own background work (serverCron, active
// expiry, eviction, lazy frees), I/O threads, the fork child's CPU (another core),
// and client-side CPU.

// CPUWindow is the window of the busy-fraction and ops/s peaks
// (redis_cpu_peak_utilization, redis_ops_per_sec_peak).
const CPUWindow = time.Second

// CPUStats is a node's main-thread load.
type CPUStats struct {
	// PeakUtilization is the highest share of a CPUWindow the main thread was busy.
	PeakUtilization float64
	// PeakOpsPerSec is the most commands served in one CPUWindow, per second.
	PeakOpsPerSec float64
	// Busy is the main thread's busy time since the node started.
	Busy time.Duration
	// Ops is the commands served since the node started (as Stats.Ops).
	Ops int64
}

// cpuMeter accumulates the open window and the peaks of the closed ones.
type cpuMeter struct {
	win      time.Duration // start of the open window
	busy     time.Duration // busy time in the open window
	ops      int64         // commands whose service started in the open window
	peakBusy time.Duration
	peakOps  int64
	total    time.Duration
	totalOps int64
}

// serve occupies the main thread from s for work and counts ops commands: the one
// place busyUntil moves. s is never before the previous busyUntil.
func (n *Node) serve(s, work time.Duration, ops int64) {
	n.busyUntil = s + work
	n.cpu.add(s, work, ops)
}

// roll closes the open window when t is past it.
func (c *cpuMeter) roll(t time.Duration) {
	w := t - t%CPUWindow
	if w <= c.win {
		return
	}
	c.peakBusy, c.peakOps = max(c.peakBusy, c.busy), max(c.peakOps, c.ops)
	c.win, c.busy, c.ops = w, 0, 0
}

// add puts a busy interval [s, s+d) and ops commands started at s in the windows.
func (c *cpuMeter) add(s, d time.Duration, ops int64) {
	c.roll(s)
	c.ops += ops
	c.totalOps += ops
	c.total += d
	for d > 0 {
		c.roll(s)
		take := min(d, c.win+CPUWindow-s)
		c.busy += take
		s += take
		d -= take
	}
}

// stats are the peaks so far, the open window included.
func (c *cpuMeter) stats() CPUStats {
	return CPUStats{
		PeakUtilization: float64(max(c.peakBusy, c.busy)) / float64(CPUWindow),
		PeakOpsPerSec:   float64(max(c.peakOps, c.ops)) / CPUWindow.Seconds(),
		Busy:            c.total,
		Ops:             c.totalOps,
	}
}

// CPU returns the node's main-thread load.
func (n *Node) CPU() CPUStats {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.settle()
	return n.cpu.stats()
}
