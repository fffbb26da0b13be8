package sim

import (
	"fmt"

	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim/redisnode"
)

// Behavior: the run's hosts (redis.nodes_per_host): node i runs on host
// i / nodes_per_host, each host with redis.system_memory of memory and the
// scenario's bgsave_schedule (the model: redisnode/host.go). Nodes a redis_nodes
// event adds join the host their index puts them on. Every tick, after the nodes
// have advanced, each host merges its nodes' RSS, lets its OOM killer act and
// starts a waiting staggered fork; a host OOM kill is logged as an event ("oom",
// with the host, the victim and both RSS) besides the fleet's own "oom" event.

// hostOf returns the host node number i runs on, creating it when needed.
func (f *redisFleet) hostOf(i int) *redisnode.Host {
	per := max(f.r.sc.Redis.NodesPerHost, 1)
	h := i / per
	for len(f.hosts) <= h {
		rc := f.r.sc.Redis
		f.hosts = append(f.hosts, redisnode.NewHost(fmt.Sprintf("host-%d", len(f.hosts)),
			rc.SystemMemory.Bytes(), rc.Persistence.BGSaveSchedule == scenarios.BGSaveStaggered))
	}
	return f.hosts[h]
}

// checkHosts runs every host's check at the engine's time.
func (f *redisFleet) checkHosts() {
	for _, h := range f.hosts {
		for _, k := range h.Check(f.r.eng.Now()) {
			f.r.event("host_oom", "%s over system memory (host RSS %s): the OOM killer ended %s (RSS %s, the largest)",
				h.Name(), fmtBytes(k.HostRSSBytes), k.Node, fmtBytes(k.NodeRSSBytes))
		}
	}
}

// hostPeak is the highest RSS any host reached (copied pages included).
func (f *redisFleet) hostPeak() int64 {
	var p int64
	for _, h := range f.hosts {
		p = max(p, h.PeakRSS())
	}
	return p
}

// hostRSS is the RSS of the fullest host now.
func (f *redisFleet) hostRSS() int64 {
	var p int64
	for _, h := range f.hosts {
		p = max(p, h.RSS())
	}
	return p
}

// hostForksMax is the most fork children alive at once on one host.
func (f *redisFleet) hostForksMax() int {
	m := 0
	for _, h := range f.hosts {
		m = max(m, h.ConcurrentForksMax())
	}
	return m
}

// cpu is the busiest node's main-thread peaks: the highest busy fraction and the
// most ops/s of any node in one window (redisnode.CPUWindow).
func (f *redisFleet) cpu() (s redisnode.CPUStats) {
	for _, n := range f.all {
		c := n.CPU()
		s.PeakUtilization = max(s.PeakUtilization, c.PeakUtilization)
		s.PeakOpsPerSec = max(s.PeakOpsPerSec, c.PeakOpsPerSec)
		s.Busy += c.Busy
		s.Ops += c.Ops
	}
	return s
}

// fmtBytes is a size in MiB or GiB for an event's text.
func fmtBytes(b int64) string {
	if b >= 1<<30 {
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}
