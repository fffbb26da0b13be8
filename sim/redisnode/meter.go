package redisnode

import (
	"context"
	"sync"
	"time"

	"github.com/spillway-sim/spillway/core"
)

// Meter accumulates the modelled virtual time of the Redis calls of one pod
// action (a spill, a restore, a claim). Calls from spill worker w are charged to
// lane w+1 (core.SpillWorker), other calls to lane 0: workers run in parallel, so
// the action takes as long as its slowest lane.
//
// Budget, when positive, is the virtual time the action may take (the grace period
// left, the rebalance timeout): a call that would end a lane past it is answered
// with context.DeadlineExceeded instead of reaching Redis. Because batches are dealt
// to workers statically and each lane's time depends only on its own commands,
// where the deadline cuts does not depend on goroutine order.
//
// Use one Meter per action: a node treats the calls of one Meter as one client
// action (latency.go), and settles the effects of earlier actions before the first
// call of a new one.
type Meter struct {
	Budget time.Duration
	// Lead is virtual time already spent before the first call (e.g. waiting for a
	// stalled server); it is added to every lane.
	Lead time.Duration
	// Start is the virtual time the action begins (e.g. the pod's busy-until
	// cursor); a value before the engine's now means now. The server's queue is
	// measured from it: an action that starts while the server is still busy with
	// earlier work waits for it.
	Start time.Duration
	// Workers is the number of spill workers the action runs in parallel
	// (min(spill_parallelism, batches)); 0 means the client's pool size − 1.
	Workers int
	// Batch, in a sampled run (Config.Weight > 1), is how many real keys one
	// real call of this action carries (the store's spill batch): a call whose k
	// keys stand for k × Weight keys stands for max(1, k × Weight / Batch) real
	// calls, made one after the other on its lane. 0: each call stands for one
	// real call carrying all those keys.
	Batch int
	// KeyedTrips and BareTrips, in a sampled run, are the real round trips
	// each call of the action stands for when it stands for several real
	// actions (a sampled poll's restore or write-through Sync, for those of the
	// real consumer's polls in that time; weight.go trips): a call that carries
	// weighted keys counts KeyedTrips times the share of the real actions that
	// carry one of its keys (Keys, PerAction), and at least its real calls
	// (Batch); one that carries none counts BareTrips. 0: one. They change the
	// counts of round trips and commands, not the action's time.
	KeyedTrips, BareTrips float64
	// Keys is how many weighted keys the action carries in all its calls, and
	// PerAction how many real keys each real action carries: a call carrying k
	// of them is made by the real actions that carry one of its k × weight real
	// keys, 1 − (1 − k/Keys)^PerAction of them. Keys 0: all of them.
	Keys      int
	PerAction float64
	// KeyedOps is, likewise, the real commands a multi-key command (an MGET of
	// one partition's keys) stands for per share of the real actions that carry
	// one of its keys. 0: one per real call.
	KeyedOps float64
	// Trace, when set, keeps every call's cost per lane (Traced): the client
	// pool model (sim/clientpool.go) replays them on the client's connections.
	Trace bool

	trace [][]TracedCall
	mu    sync.Mutex
	lanes []time.Duration
	calls int
	nodes map[*Node]*meterNode
}

// meterNode is what one node knows about one Meter's calls.
type meterNode struct {
	seq       uint64                // the node's order of first calls
	laneAt    map[int]time.Duration // time charged per lane by this node
	laneSeq   map[int]uint64        // calls per lane at this node
	laneDelta map[int]int64         // estimated memory added per lane, not yet settled
	repl      map[int]*laneRepl     // replication per lane (replica.go)
}

// replLane returns lane's replication state, creating it.
func (mn *meterNode) replLane(lane int) *laneRepl {
	if mn.repl == nil {
		mn.repl = map[int]*laneRepl{}
	}
	lr := mn.repl[lane]
	if lr == nil {
		lr = &laneRepl{}
		mn.repl[lane] = lr
	}
	return lr
}

func newMeterNode(seq uint64) *meterNode {
	return &meterNode{seq: seq, laneAt: map[int]time.Duration{}, laneSeq: map[int]uint64{}, laneDelta: map[int]int64{}}
}

type meterKey struct{}

// WithMeter returns ctx carrying m: calls made with it are charged to m.
func WithMeter(ctx context.Context, m *Meter) context.Context {
	return context.WithValue(ctx, meterKey{}, m)
}

func meterFrom(ctx context.Context) (*Meter, int) {
	m, _ := ctx.Value(meterKey{}).(*Meter)
	lane := 0
	if w, ok := core.SpillWorker(ctx); ok {
		lane = w + 1
	}
	return m, lane
}

// node returns the per-node state of m at n, creating it with a new sequence
// number from next when this is m's first call there.
func (m *Meter) node(n *Node, next func() uint64) *meterNode {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.nodes == nil {
		m.nodes = map[*Node]*meterNode{}
	}
	mn := m.nodes[n]
	if mn == nil {
		mn = newMeterNode(next())
		m.nodes[n] = mn
	}
	return mn
}

// charge adds cost to lane unless that would pass the budget; it reports whether
// the call may proceed.
func (m *Meter) charge(lane int, cost time.Duration) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(m.lanes) <= lane {
		m.lanes = append(m.lanes, m.Lead)
	}
	if m.Budget > 0 && m.lanes[lane]+cost > m.Budget {
		m.lanes[lane] = m.Budget
		return false
	}
	m.lanes[lane] += cost
	m.calls++
	return true
}

// Elapsed is the virtual time of the action: its slowest lane (Lead when no call was made).
func (m *Meter) Elapsed() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.Lead
	for _, l := range m.lanes {
		d = max(d, l)
	}
	return d
}

// Calls is the number of round trips charged.
func (m *Meter) Calls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}
