package sim

import (
	"math"
	"slices"
	"time"

	"github.com/spillway-sim/spillway/core"
	"github.com/spillway-sim/spillway/scenarios"
)

// Behavior: the scenario's timeline and the Kubernetes controllers around the pods.
//
//   - scale N: a Deployment scale — new pods start (startup delay, then join);
//     surplus pods get SIGTERM, newest first (ReplicaSet scale-down prefers the
//     most recently created pods).
//   - crash N: the N newest running pods are SIGKILLed (OOMKilled): no hook runs.
//   - rolling_restart: dynamic membership — a Deployment rollout with maxSurge 1,
//     maxUnavailable 0: start a new pod, and when it is ready SIGTERM one old pod,
//     until every old pod is replaced. Static membership — a StatefulSet rollout:
//     the highest ordinal first, the replacement keeps the pod's name (and
//     group.instance.id), one at a time, each after its predecessor is ready.
//   - pause {pod, for}: a stop-the-world pause of the pod with that ordinal.
//   - redis_down {for}: the node refuses connections, then comes back with its data
//     (a master with a replica online, down longer than redis.failover_time, is
//     failed over instead: replicas.go).
//
// The HPA (consumers.autoscaler) samples CPU every 15 s (the HPA sync period):
// utilization = message rate × process_time / pods; desired = ceil(pods ×
// utilization / target) unless within the 10 % tolerance; scale-up at once,
// scale-down to the highest desired count over the stabilization window
// (Kubernetes' default 300 s).
func (r *runner) timeline(ev scenarios.Event) {
	switch {
	case ev.Scale != nil:
		r.event("timeline", "scale to %d", *ev.Scale)
		r.scaleTo(*ev.Scale)
	case ev.Crash != nil:
		r.event("timeline", "crash %d pod(s)", *ev.Crash)
		n := *ev.Crash
		for i := len(r.slots) - 1; i >= 0 && n > 0; i-- {
			if p := r.slots[i]; p != nil && p.state == podRunning {
				p.crash()
				n--
			}
		}
		// restartPolicy Always: the kubelet restarts the killed container in the same
		// pod (same name, so the same group.instance.id) after its back-off.
		for _, p := range r.pods {
			if p.state == podDead && p.crashed && r.slots[p.slot] == nil {
				r.startPod(p.slot, crashRestartDelay)
			}
		}
	case ev.RollingRestart:
		r.event("timeline", "rolling restart")
		r.startRollingRestart()
	case ev.Pause != nil:
		if ev.Pause.Pod < len(r.slots) && r.slots[ev.Pause.Pod] != nil {
			r.slots[ev.Pause.Pod].pause(ev.Pause.For.Std())
		}
	case ev.RedisDown != nil:
		r.event("redis", "redis down for %v", ev.RedisDown.For.Std())
		nodes := r.failoverDown(slices.Clone(r.redis.active), ev.RedisDown.For.Std())
		for _, n := range nodes {
			n.SetDown(true)
		}
		r.eng.After(ev.RedisDown.For.Std(), func() {
			for _, n := range nodes {
				n.SetDown(false)
			}
			r.event("redis", "redis back")
		})
	case ev.BGSave:
		for _, n := range r.redis.active {
			if err := n.BGSave(); err != nil {
				r.event("redis", "%s BGSAVE: %v", n.Name(), err)
			} else {
				r.event("timeline", "%s BGSAVE", n.Name())
			}
		}
	case ev.AOFRewrite:
		for _, n := range r.redis.active {
			if err := n.AOFRewrite(); err != nil {
				r.event("redis", "%s BGREWRITEAOF: %v", n.Name(), err)
			} else {
				r.event("timeline", "%s BGREWRITEAOF", n.Name())
			}
		}
	case ev.Latency != nil:
		r.event("timeline", "redis latency +%v for %v", ev.Latency.Add.Std(), ev.Latency.For.Std())
		for _, n := range r.redis.active {
			n.AddLatency(ev.Latency.Add.Std(), ev.Latency.For.Std())
		}
	case ev.RedisNodes != nil:
		before := len(r.redis.active)
		if err := r.redis.resize(*ev.RedisNodes); err != nil {
			r.event("redis", "resharding to %d nodes: %v", *ev.RedisNodes, err)
		} else {
			r.event("timeline", "ring resharded: %d -> %d nodes", before, *ev.RedisNodes)
		}
	case ev.Reshard != nil:
		r.reshard(ev.Reshard.To) // cluster.go
	case ev.ProducerRestart != nil:
		// The producers' downtimes are known from the start (streams.Producers);
		// the event marks the report.
		r.event("timeline", "producer %d restarts (down %v)", ev.ProducerRestart.Replica, ev.ProducerRestart.For.Std())
	case ev.Corrupt != nil:
		n := r.redis.corrupt(*ev.Corrupt, r.rng)
		r.event("timeline", "%d spilled values overwritten with garbage", n)
	case ev.Failover != nil:
		r.failover(ev.Failover.Node)
	default:
		r.event("timeline", "%s: not modelled, ignored", ev.Action())
	}
}

// desired is the replica count the Deployment aims for.
func (r *runner) desired() int {
	if r.wantReplicas == 0 {
		return r.cfg.replicas
	}
	return r.wantReplicas
}

// scaleTo sets the Deployment's replica count.
func (r *runner) scaleTo(n int) {
	r.wantReplicas = n
	live := r.livePodsList()
	for len(live) > n { // newest first
		p := live[len(live)-1]
		live = live[:len(live)-1]
		p.terminate()
	}
	for i := len(live); i < n; i++ {
		slot := -1
		for s, p := range r.slots {
			if p == nil {
				slot = s
				break
			}
		}
		if slot < 0 {
			slot = r.newSlot()
		}
		r.startPod(slot, 0)
	}
}

// livePodsList is the starting and running pods, oldest incarnation first.
func (r *runner) livePodsList() []*pod {
	var out []*pod
	for _, p := range r.pods {
		if (p.state == podStarting || p.state == podRunning) && r.slots[p.slot] == p {
			out = append(out, p)
		}
	}
	return out
}

type rollingRestart struct {
	old []*pod // pods still to replace, in order
}

func (r *runner) startRollingRestart() {
	if r.rolling != nil {
		return
	}
	rr := &rollingRestart{}
	live := r.livePodsList()
	if r.cfg.static { // StatefulSet: highest ordinal first
		for i := len(live) - 1; i >= 0; i-- {
			rr.old = append(rr.old, live[i])
		}
	} else {
		rr.old = live
	}
	r.rolling = rr
	r.rollNext()
}

// rollNext replaces the next old pod.
func (r *runner) rollNext() {
	rr := r.rolling
	for len(rr.old) > 0 && rr.old[0].state != podRunning && rr.old[0].state != podStarting {
		rr.old = rr.old[1:]
	}
	if len(rr.old) == 0 {
		r.rolling = nil
		r.event("timeline", "rolling restart done")
		return
	}
	old := rr.old[0]
	rr.old = rr.old[1:]
	if r.cfg.static {
		old.onExit = func() {
			np := r.startPod(old.slot, 0)
			np.onReady = r.rollNext
		}
		old.terminate()
		return
	}
	np := r.startPod(r.newSlot(), 0) // surge
	np.onReady = func() {
		old.terminate()
		r.slots[old.slot] = nil
		r.rollNext()
	}
}

// podExited runs a pod's exit continuation.
func (r *runner) podExited(p *pod) {
	if p.onExit != nil {
		f := p.onExit
		p.onExit = nil
		f()
	}
}

type autoscaler struct {
	r       *runner
	cfg     *scenarios.Autoscaler
	history []hpaSample
	lastMsg int64
}

type hpaSample struct {
	at      time.Duration
	desired int
}

const hpaPeriod = 15 * time.Second

// hpaTolerance is the HPA's default tolerance (--horizontal-pod-autoscaler-tolerance
// 0.1): no scaling while utilization is within 10 % of the target.
const hpaTolerance = 0.1

// crashRestartDelay is the kubelet's first restart back-off (10 s).
const crashRestartDelay = 10 * time.Second

func newAutoscaler(r *runner, cfg *scenarios.Autoscaler) *autoscaler {
	a := &autoscaler{r: r, cfg: cfg}
	r.eng.After(hpaPeriod, a.tick)
	return a
}

func (a *autoscaler) tick() {
	r := a.r
	defer func() {
		if r.eng.Now()+hpaPeriod <= r.cfg.duration {
			r.eng.After(hpaPeriod, a.tick)
		}
	}()
	appended := r.appended()
	rate := float64(appended-a.lastMsg) / hpaPeriod.Seconds()
	a.lastMsg = appended
	cur := max(r.livePods(), 1)
	util := rate * r.cfg.processTime.Seconds() / float64(cur)
	desired := cur
	if ratio := util / a.cfg.TargetCPU; math.Abs(ratio-1) > hpaTolerance {
		desired = int(math.Ceil(float64(cur) * ratio))
	}
	desired = min(max(desired, a.cfg.Min), a.cfg.Max)
	now := r.eng.Now()
	a.history = append(a.history, hpaSample{now, desired})
	window := a.cfg.Stabilization.Std()
	rec := desired
	kept := a.history[:0]
	for _, h := range a.history {
		if now-h.at <= window {
			kept = append(kept, h)
			rec = max(rec, h.desired)
		}
	}
	a.history = kept
	if rec != r.desired() {
		r.event("hpa", "utilization %.2f of %d pods: scale to %d", util, cur, rec)
		r.scaleTo(rec)
	}
}

// appended is the number of records appended to the log so far.
func (r *runner) appended() int64 {
	var n int64
	if r.streams != nil {
		for _, a := range r.streams.appended {
			n += a
		}
		return n
	}
	for p := int32(0); int(p) < r.log.Partitions(); p++ {
		n += r.log.HighWatermark(p)
	}
	return n
}

// countRestore books a restore report.
func (r *runner) countRestore(rep *core.RestoreReport) {
	if rep == nil {
		return
	}
	r.c.restored += int64(rep.Restored)
	r.c.staleDiscard += int64(rep.Stale)
	r.c.redisMissed += int64(rep.Missing)
}
