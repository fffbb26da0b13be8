package redisnode

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Behavior: the observation seam. Every command and pipeline a go-redis client of
// the node sends passes through this hook, which (1) settles the effects of
// earlier actions, (2) refuses the call when the server is down (connection
// refused) or loading (LOADING), (3) answers write commands with MISCONF or OOM
// as Redis would (server.c processCommand: writeCommandsDeniedByDiskError, then
// performEvictions with deny-oom), passing only the admitted commands of a pipeline
// to miniredis, (4) charges the modelled virtual time to the caller's Meter, or
// answers context.DeadlineExceeded when the call would end past the Meter's budget,
// and (5) records the keys the admitted commands wrote and read, for the models.
//
// Admission is decided from the node's settled state: for a spill worker, the
// memory the action already added is estimated as W × what this worker added
// (its W − 1 peers wrote about as much by the same virtual time) plus the batches
// of the lower lanes of the same round, so a spill that crosses maxmemory is
// refused from about the right batch on (overshooting by about one batch, as Redis
// does), whatever the goroutines' order. The replies Redis gives:
//   - "OOM command not allowed when used memory > 'maxmemory'." (server.h shared.oomerr)
//   - "MISCONF Redis is configured to save RDB snapshots, ..." (server.c
//     writeCommandsGetDiskErrorMessage, DISK_ERROR_TYPE_RDB)
//   - "LOADING Redis is loading the dataset in memory" (shared.loadingerr)
//
// core.Classify maps these to ReasonOOM, ReasonMisconf and ReasonUnavailable, and a
// refused connection (a *net.OpError with ECONNREFUSED) to ReasonUnavailable.

// redisError is a server error reply; it satisfies redis.Error like go-redis's own.
type redisError string

// Error is the reply text.
func (e redisError) Error() string { return string(e) }

// RedisError marks e as a reply from the server (redis.Error).
func (e redisError) RedisError() {}

// The error replies the node gives instead of miniredis.
var (
	ErrOOM     error = redisError("OOM command not allowed when used memory > 'maxmemory'.")
	ErrMisconf error = redisError("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. " +
		"Commands that may modify the data set are disabled, because this instance is configured to report errors during writes " +
		"if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.")
	ErrLoading error = redisError("LOADING Redis is loading the dataset in memory")
)

// refused is what a client sees when the node is down.
func refused() error {
	return &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
}

// hook is the go-redis hook of one client of the node.
type hook struct {
	n        *Node
	poolSize int
}

// DialHook implements redis.Hook.
func (h *hook) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook: one command, one round trip.
func (h *hook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		return h.n.call(ctx, h.poolSize, []redis.Cmder{cmd}, func(ctx context.Context, cmds []redis.Cmder) error {
			return next(ctx, cmds[0])
		})
	}
}

// ProcessPipelineHook implements redis.Hook: a pipeline is one round trip.
func (h *hook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		return h.n.call(ctx, h.poolSize, cmds, next)
	}
}

// call is one round trip of cmds through the models; next sends the admitted
// ones. Its steps, in order: settle the node (begin), refuse the whole call when
// the server is down or loading (refuseDown), estimate the memory the server holds
// when the call runs (estimateUsed), admit or refuse each command (admit), charge
// the call's virtual time (charge), run the admitted commands (run) and record
// their effects for the models (record).
func (n *Node) call(ctx context.Context, poolSize int, cmds []redis.Cmder, next func(context.Context, []redis.Cmder) error) error {
	if isSetup(cmds) {
		return next(ctx, cmds)
	}
	if handled, err := n.clusterCall(ctx, poolSize, cmds, next); handled { // cluster.go: MOVED, ASK, TRYAGAIN
		return err
	}
	m, lane := meterFrom(ctx)
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.begin(m, lane)
	if n.down || n.p.dead || n.p.loading || n.failingOver(c.now) {
		return n.refuseDown(&c, cmds)
	}
	c.workers = workersOf(m, lane, poolSize)
	a := n.admit(cmds, n.estimateUsed(&c, cmds))
	n.weigh(m, cmds, &a)
	if !n.charge(&c, &a) {
		return fail(cmds, context.DeadlineExceeded)
	}
	if !n.replCall(&c, cmds, &a) {
		return fail(cmds, context.DeadlineExceeded)
	}
	admitted, err := n.run(ctx, cmds, &a, next)
	n.record(&c, cmds, &a)
	answerWaits(cmds, c.waitReplies)
	if admitted < len(cmds) {
		return firstErr(cmds)
	}
	return err
}

// callState is one call's place in virtual time: its meter and lane, when it
// starts, and the cost every call pays (round trip, latency spike).
type callState struct {
	m       *Meter
	lane    int
	mn      *meterNode
	now     time.Duration // the engine's time
	start   time.Duration // when the caller's action started (now without a meter)
	lead    time.Duration // the meter's lead
	spike   time.Duration // latency spike in effect now
	rtt     time.Duration
	workers int           // W: the spill workers running beside this one (1 outside a spill)
	laneAt  time.Duration // the lane's time at this node before the call (set by charge)
	repl    replRec       // the call's writes in the replication stream (replCall)
	// waitReplies are the modelled replies of the call's WAIT commands (replCall).
	waitReplies []waitReply
}

// begin settles the effects of earlier calls and actions up to now and places
// the call in virtual time.
func (n *Node) begin(m *Meter, lane int) callState {
	now := n.eng.Now()
	c := callState{m: m, lane: lane, now: now, mn: n.meterNodeOf(m)}
	n.fold(m, lane == 0)
	n.catchUp(now)
	c.start = now
	if m != nil {
		c.start, c.lead = max(m.Start, now), m.Lead
	}
	c.spike = n.spikeAt(now)
	c.rtt = n.cfg.RTT
	return c
}

// refuseDown answers every command of a call to a server that is down (connection
// refused) or loading (LOADING), after the round trip it costs.
func (n *Node) refuseDown(c *callState, cmds []redis.Cmder) error {
	if c.m != nil && !c.m.charge(c.lane, c.rtt+c.spike) {
		return fail(cmds, context.DeadlineExceeded)
	}
	c.m.traceCall(c.lane, c.rtt+c.spike, 0, 0, 1)
	c.mn.laneAt[c.lane] += c.rtt + c.spike
	if n.p.loading && !n.down {
		n.stats.RejectedLoading++
		return fail(cmds, ErrLoading)
	}
	n.stats.RejectedDown++
	return fail(cmds, refused())
}

// workersOf is W for a call on lane: 1 outside a spill, else the meter's worker
// count (or the pool's size less one), and at least the lane.
func workersOf(m *Meter, lane, poolSize int) int {
	if lane == 0 {
		return 1
	}
	workers := poolSize - 1
	if m != nil && m.Workers > 0 {
		workers = m.Workers
	}
	return max(workers, lane, 1)
}

// estimateUsed is the memory the server holds when this call runs, in the
// virtual order the node settles calls in (lane time, then lane): the settled
// state, plus this worker's earlier batches times W (its peers wrote as much by
// then), plus the batches of the lanes before it in this round (taken as large as
// this one).
func (n *Node) estimateUsed(c *callState, cmds []redis.Cmder) int64 {
	est := n.mem.used() + int64(c.workers)*c.mn.laneDelta[c.lane]
	if c.lane > 1 {
		var callDelta int64
		scratch := map[string]int64{}
		for _, cmd := range cmds {
			ci := classify(cmd)
			callDelta += n.estimateDelta(&ci, scratch)
		}
		est += int64(c.lane-1) * max(callDelta, 0)
	}
	return est
}

// admission is what admit decided for each command of a call.
type admission struct {
	infos   []cmdInfo
	rejects []error       // nil: admitted; else the reply instead of running it
	svc     time.Duration // service time of the admitted commands
	delta   int64         // memory the admitted commands add (estimated)
	// calls is the real calls this one stands for and weights the real commands
	// each of its commands does (weight.go: 1 and nil without sampling).
	calls   float64
	trips   float64 // the real round trips it counts as (weight.go trips)
	weights []int64
}

// admit decides each command against the memory est the server holds before it:
// MISCONF for writes while writes are denied, OOM for deny-oom commands over
// maxmemory, and a MULTI ... EXEC all or nothing against the memory before the
// transaction (txAbort). Admitted commands add their estimated memory and service
// time.
func (n *Node) admit(cmds []redis.Cmder, est int64) admission {
	a := admission{infos: make([]cmdInfo, len(cmds)), rejects: make([]error, len(cmds))}
	written := map[string]int64{} // sizes this call's earlier commands gave keys
	txBase := int64(-1)           // inside MULTI ... EXEC: the memory before the transaction (txAbort)
	for i, c := range cmds {
		ci := classify(c)
		a.infos[i] = ci
		name := c.Name()
		if name == "multi" {
			txBase = est
		}
		queued := txBase >= 0 && name != "multi" && name != "exec"
		switch {
		case ci.write && n.misconf():
			a.rejects[i] = ErrMisconf
		case queued && n.overMaxmemory(txBase):
			// Nothing runs before EXEC, so every queued command meets the memory the
			// transaction started with; inside MULTI, Redis refuses any command then.
			a.rejects[i] = ErrOOM
		case !queued && ci.denyOOM && n.overMaxmemory(est):
			a.rejects[i] = ErrOOM
		default:
			d := n.estimateDelta(&ci, written)
			est += d
			a.delta += d
			a.svc += n.serviceTime(&ci, n.readBytes(&ci), argBytes(c))
		}
		if name == "exec" {
			txBase = -1
		}
	}
	txAbort(cmds, a.rejects)
	return a
}

// charge computes the call's cost (waiting for the busy server, round trip,
// service time shared by W workers, latency spike), charges it to the meter and
// advances the lane; false when the call would end past the meter's budget.
func (n *Node) charge(c *callState, a *admission) bool {
	mn, lane := c.mn, c.lane
	c.laneAt = mn.laneAt[lane]
	var wait time.Duration
	switch {
	case lane == 0:
		wait = max(0, n.busyUntil-(c.start+c.lead+c.laneAt+c.rtt/2))
	case mn.laneSeq[lane] == 0:
		wait = max(0, n.busyUntil-(c.start+c.lead+c.rtt/2))
	}
	cost := callCost(wait, c.rtt, a.svc, c.workers) + c.spike
	if a.calls != 1 {
		// The real calls the caller makes run one after the other on this lane,
		// each with its share of the service time (weight.go).
		cost = wait + time.Duration(a.calls*float64(callCost(0, c.rtt, time.Duration(float64(a.svc)/a.calls), c.workers))) + c.spike
	}
	if c.m != nil && !c.m.charge(lane, cost) {
		return false
	}
	c.m.traceCall(lane, cost, wait, a.svc, a.calls)
	mn.laneAt[lane] += cost
	mn.laneSeq[lane]++
	mn.laneDelta[lane] += a.delta
	return true
}

// run counts the refused commands and sends the admitted ones to miniredis; it
// returns how many it sent and next's error.
func (n *Node) run(ctx context.Context, cmds []redis.Cmder, a *admission, next func(context.Context, []redis.Cmder) error) (int, error) {
	admitted := make([]redis.Cmder, 0, len(cmds))
	for i, c := range cmds {
		switch {
		case a.rejects[i] == nil:
			admitted = append(admitted, c)
		case !a.infos[i].write:
			// MULTI and EXEC of a refused transaction: refused, but not writes.
		case a.rejects[i] == ErrOOM:
			n.ms.RejectedOOM += a.weight(i)
		case a.rejects[i] == ErrMisconf:
			n.ms.RejectedMisconf += a.weight(i)
		}
	}
	var err error
	if len(admitted) > 0 {
		err = n.execute(ctx, admitted, next)
	}
	return len(admitted), err
}

// record answers the refused commands, counts the round trip and the served
// commands, and queues the keys they wrote and read for the models (folded now
// for lane 0, else when the action's calls are settled).
func (n *Node) record(c *callState, cmds []redis.Cmder, a *admission) {
	n.countRoundTrips(a.trips)
	mn := c.mn
	rec := &callRec{meter: c.m, seq: mn.seq, laneAt: c.laneAt, lane: c.lane, laneSeq: mn.laneSeq[c.lane], at: c.now,
		start: c.start, work: a.svc, repl: c.repl}
	for i, cmd := range cmds {
		if a.rejects[i] != nil {
			cmd.SetErr(a.rejects[i])
			continue
		}
		w := a.weight(i)
		n.stats.Ops += w
		rec.ops += w
		n.stats.BytesIn += w * int64(argBytes(cmd))
		n.stats.BytesOut += w * int64(replyBytes(cmd))
		ci := &a.infos[i]
		if len(ci.writes) == 0 && len(ci.reads) == 0 && !ci.write {
			continue
		}
		ok := cmd.Err() == nil || errors.Is(cmd.Err(), redis.Nil)
		rec.cmds = append(rec.cmds, cmdEffect{write: ci.write && ok, writes: ci.writes, reads: ci.reads, aofBytes: w * ci.aofBytes})
	}
	n.pending = append(n.pending, rec)
	if c.lane == 0 {
		n.fold(nil, true)
	}
}

// txAbort makes a transaction all or nothing: when a command queued between
// MULTI and EXEC is refused, every command of the transaction is (EXECABORT; the
// refused one's reason is what the client classifies), and none runs.
func txAbort(cmds []redis.Cmder, rejects []error) {
	for i := 0; i < len(cmds); i++ {
		if cmds[i].Name() != "multi" {
			continue
		}
		j := i + 1
		for j < len(cmds) && cmds[j].Name() != "exec" {
			j++
		}
		var why error
		for k := i; k <= j && k < len(cmds); k++ {
			if rejects[k] != nil {
				why = rejects[k]
				break
			}
		}
		if why != nil {
			for k := i; k <= j && k < len(cmds); k++ {
				rejects[k] = why
			}
		}
		i = j
	}
}

// fail answers every command with err.
func fail(cmds []redis.Cmder, err error) error {
	for _, c := range cmds {
		c.SetErr(err)
	}
	return err
}

func firstErr(cmds []redis.Cmder) error {
	for _, c := range cmds {
		if err := c.Err(); err != nil {
			return err
		}
	}
	return nil
}

// overMaxmemory reports whether a deny-oom command must be refused when used
// memory would be est: over maxmemory with nothing the policy may evict to get
// back under it. Under an evicting policy the keys the action is writing are
// evictable too, so only the settled state decides; under noeviction the estimate
// including the action's own writes does.
func (n *Node) overMaxmemory(est int64) bool {
	limit := n.cfg.MaxMemory
	if limit == 0 {
		return false
	}
	if n.cfg.Policy == NoEviction {
		return est > limit
	}
	used := n.mem.used()
	return used > limit && used-n.ks.evictableBytes(n.mem.keyBytes) > limit
}

// estimateDelta estimates the used memory a command adds (negative: frees);
// written holds the estimated sizes of keys earlier commands of the call wrote.
func (n *Node) estimateDelta(ci *cmdInfo, written map[string]int64) int64 {
	var d int64
	cost := func(key string, valueLen int) int64 {
		e := entry{key: key, kind: kindString, valueLen: int32(valueLen), volPos: -1}
		if ci.ttl {
			e.volPos = 0
		}
		return n.mem.bytesOf(&e)
	}
	old := func(key string) int64 {
		if b, ok := written[key]; ok {
			return b
		}
		if e := n.ks.get(key); e != nil {
			return e.bytes
		}
		return 0
	}
	set := func(key string, b int64) {
		d += b - old(key)
		written[key] = b
	}
	switch {
	case ci.shape == shapeDel || ci.shape == shapeGetDel:
		for _, k := range ci.writes {
			set(k, 0)
		}
	case len(ci.valueLens) == len(ci.writes) && len(ci.writes) > 0:
		for i, k := range ci.writes {
			set(k, cost(k, ci.valueLens[i]))
		}
	case ci.script && len(ci.writes) > 0:
		avg := int(ci.argVals / int64(len(ci.writes)))
		for _, k := range ci.writes {
			set(k, cost(k, avg))
		}
	case ci.shape == shapeSetMembers && ci.write:
		entryClass := n.cfg.cal.SizeClass(n.cfg.cal.Memory.DictEntryBytes)
		d = ci.argVals + int64(ci.keys)*(entryClass+n.mem.sdsAlloc(0))
		if !ci.denyOOM {
			d = -d // SREM
		}
	}
	return d
}

// readBytes estimates the value bytes a read returns, from the keyspace.
func (n *Node) readBytes(ci *cmdInfo) int64 {
	var b int64
	for _, k := range ci.reads {
		if e := n.ks.get(k); e != nil {
			b += int64(e.valueLen)
			if ci.shape == shapeSetMembers {
				ci.keys = max(ci.keys, int(e.members))
			}
		}
	}
	return b
}
