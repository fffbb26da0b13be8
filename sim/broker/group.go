package broker

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/spillway-sim/spillway/sim/engine"
)

// GroupState is the coordinator's state of the group (Kafka's
// GroupMetadata states, without Dead).
type GroupState uint8

const (
	// Empty: no members.
	Empty GroupState = iota
	// Stable: every member has its assignment; nothing is moving.
	Stable
	// PreparingRebalance: waiting for members to (re)join: in eager protocols,
	// for every member to finish revoking all it owns; in the cooperative
	// protocol's second round, for the members that lost partitions to finish
	// revoking them.
	PreparingRebalance
	// CompletingRebalance: every member has joined; the join+sync round
	// (RebalanceTime) is in flight. Commits are refused.
	CompletingRebalance
)

// String returns Kafka's name of the state.
func (s GroupState) String() string {
	switch s {
	case Empty:
		return "Empty"
	case Stable:
		return "Stable"
	case PreparingRebalance:
		return "PreparingRebalance"
	case CompletingRebalance:
		return "CompletingRebalance"
	}
	return fmt.Sprintf("GroupState(%d)", uint8(s))
}

// topic is the one topic every member subscribes to; the name only appears in
// the metadata handed to the franz-go balancers.
const topic = "spillway"

// Group is a Kafka consumer group over one Log, driven by the engine's virtual
// clock. It is not safe for concurrent use: every call must come from an engine
// event or before the engine runs.
type Group struct {
	eng         *engine.Engine
	cfg         GroupConfig
	log         *Log
	balancer    kgo.GroupBalancer
	cooperative bool

	members    map[MemberID]*member // in the group
	zombies    map[MemberID]*member // removed while paused or running: owe them Lost
	fenced     map[MemberID]bool    // replaced by a static member with the same instance id
	byInstance map[string]*member

	owner     []*member // per partition; nil when unowned
	revoking  []bool    // per partition: its owner has been asked to revoke it
	committed []int64

	generation int32
	state      GroupState
	syncTimer  *engine.Timer // CompletingRebalance -> finishRound
	joinTimer  *engine.Timer // rebalance timeout of the join phase
	initial    initialDelay

	rounds            int // completed rounds
	round             int // rounds completed in the rebalance in progress
	observers         []func(RebalanceEvent)
	revokedSinceEvent map[MemberID][]int32
	removedSinceEvent []MemberID

	acctAt        time.Duration
	blocked       int // partitions not fetchable, as of acctAt
	pauseTotal    time.Duration
	rebalanceWall time.Duration
}

// NewGroup returns an empty group consuming log. cfg's zero fields take the
// defaults documented on GroupConfig; invalid values are errors.
func NewGroup(eng *engine.Engine, cfg GroupConfig, log *Log) (*Group, error) {
	if eng == nil || log == nil {
		return nil, errors.New("broker: NewGroup needs an engine and a log")
	}
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	n := log.Partitions()
	g := &Group{
		eng:               eng,
		cfg:               cfg,
		log:               log,
		balancer:          balancerFor(cfg.Assignor),
		members:           map[MemberID]*member{},
		zombies:           map[MemberID]*member{},
		fenced:            map[MemberID]bool{},
		byInstance:        map[string]*member{},
		owner:             make([]*member, n),
		revoking:          make([]bool, n),
		committed:         make([]int64, n),
		revokedSinceEvent: map[MemberID][]int32{},
		acctAt:            eng.Now(),
	}
	g.cooperative = g.balancer.IsCooperative()
	return g, nil
}

// Config returns the resolved configuration (defaults filled in, NoDelay
// turned into zero).
func (g *Group) Config() GroupConfig { return g.cfg }

// Log returns the log the group consumes.
func (g *Group) Log() *Log { return g.log }

// State is the group's coordinator state.
func (g *Group) State() GroupState { return g.state }

// Generation is the group's generation: 0 before the first rebalance, +1 for
// every completed rebalance round (a cooperative rebalance that moves
// partitions takes two).
func (g *Group) Generation() int32 { return g.generation }

// Rebalancing reports whether a rebalance is in progress (PreparingRebalance
// or CompletingRebalance).
func (g *Group) Rebalancing() bool {
	return g.state == PreparingRebalance || g.state == CompletingRebalance
}

// Rebalances is the number of completed rebalance rounds (generations created
// by an assignment; a static member's replacement creates none).
func (g *Group) Rebalances() int { return g.rounds }

// Members returns the IDs of the members in the group, sorted.
func (g *Group) Members() []MemberID {
	ids := make([]MemberID, 0, len(g.members))
	for id := range g.members {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// IsMember reports whether id is in the group (joined and not removed).
func (g *Group) IsMember(id MemberID) bool { return g.members[id] != nil }

// Owner returns the member that owns p and its generation. A partition whose
// owner has been asked to revoke it is still owned until the revoke callback
// returns. ok is false when nobody owns p.
func (g *Group) Owner(p int32) (id MemberID, gen int32, ok bool) {
	m := g.owner[g.checkPartition(p, "Owner")]
	if m == nil {
		return "", 0, false
	}
	return m.id, m.gen, true
}

// Owned returns the partitions the broker considers id to own, sorted
// (including those it is revoking); nil for a non-member.
func (g *Group) Owned(id MemberID) []int32 {
	m := g.members[id]
	if m == nil {
		return nil
	}
	return g.ownedBy(m)
}

// Fetchable reports whether p's owner may process it now: p is owned, its
// owner has not been asked to revoke it, and, in eager protocols, no rebalance
// is in progress. It is the broker's view: a killed member's partitions stay
// fetchable until its session expires, though nobody processes them.
func (g *Group) Fetchable(p int32) bool {
	p = g.checkPartition(p, "Fetchable")
	return g.fetchable(p)
}

func (g *Group) fetchable(p int32) bool {
	if g.owner[p] == nil || g.revoking[p] {
		return false
	}
	return g.cooperative || !g.Rebalancing()
}

// RebalancePauseTotal is the rebalance cost in partition-time: the sum over
// partitions of the virtual time during which the partition was not Fetchable
// while the group had at least one member, up to now. An eager rebalance that
// stops 24 partitions for 5 s adds 2 min; a cooperative one that moves 4 of
// them for 5 s adds 20 s. It counts a partition from the moment its owner is
// asked to revoke it (or is removed from the group) until it is assigned
// again, and partitions waiting for the group's first assignment. It does not
// count a killed member's partitions before its session expires (they are
// still Fetchable; the fleet knows nobody processes them).
func (g *Group) RebalancePauseTotal() time.Duration {
	g.accumulate()
	return g.pauseTotal
}

// RebalanceTimeTotal is the total virtual time the group spent rebalancing
// (PreparingRebalance or CompletingRebalance), up to now.
func (g *Group) RebalanceTimeTotal() time.Duration {
	g.accumulate()
	return g.rebalanceWall
}

// OnRebalance registers fn to be called after every completed rebalance round,
// synchronously, after the new assignment is in place and before any member
// receives it. fn may query the group but must not change it.
func (g *Group) OnRebalance(fn func(RebalanceEvent)) {
	g.observers = append(g.observers, fn)
}

// MemberPartitions is a member and a sorted set of partitions.
type MemberPartitions struct {
	Member     MemberID
	Partitions []int32
}

// RebalanceEvent describes one completed rebalance round. Slices are sorted by
// member ID and contain only members with at least one partition.
type RebalanceEvent struct {
	At         time.Duration
	Generation int32
	// Protocol is the assignor name (GroupConfig.Assignor).
	Protocol string
	// Round is 1 for the round that starts a rebalance, 2 (and more) for the
	// cooperative rounds that assign the partitions revoked by the previous one.
	Round int
	// Members is the number of members in the new generation.
	Members int
	// Assignment is every member's assignment in the new generation.
	Assignment []MemberPartitions
	// Revoked: the Revoke callbacks issued since the previous round (eager:
	// everything each member owned when the rebalance began) and, in the
	// cooperative protocol, issued by this round (the partitions that move).
	Revoked []MemberPartitions
	// Added: partitions in each member's new assignment that were not in its
	// assignment of the previous generation (eager: partitions that changed
	// owner, cooperative round 1: orphans of removed members, round 2: the
	// moved partitions).
	Added []MemberPartitions
	// Pending: partitions no member may process after this round: in the
	// cooperative protocol, the moved partitions their previous owners are
	// now revoking (the next round assigns them). Empty after an eager round.
	Pending []int32
	// Removed: members removed from the group since the previous round
	// (left, session expired, rebalance timeout, fenced), sorted.
	Removed []MemberID
}

// String renders the event on one line, for logs and golden files.
func (e RebalanceEvent) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v gen=%d %s round=%d members=%d assign=%s revoked=%s added=%s",
		e.At, e.Generation, e.Protocol, e.Round, e.Members,
		formatMP(e.Assignment), formatMP(e.Revoked), formatMP(e.Added))
	if len(e.Pending) > 0 {
		fmt.Fprintf(&b, " pending=%v", e.Pending)
	}
	if len(e.Removed) > 0 {
		fmt.Fprintf(&b, " removed=%v", e.Removed)
	}
	return b.String()
}

func formatMP(mps []MemberPartitions) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, mp := range mps {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s:%v", mp.Member, mp.Partitions)
	}
	b.WriteByte('}')
	return b.String()
}

func (g *Group) checkPartition(p int32, op string) int32 {
	if p < 0 || int(p) >= len(g.owner) {
		panic(fmt.Sprintf("broker: %s(partition %d) on a %d-partition group", op, p, len(g.owner)))
	}
	return p
}

// ownedBy lists m's partitions, sorted.
func (g *Group) ownedBy(m *member) []int32 {
	var out []int32
	for p, o := range g.owner {
		if o == m {
			out = append(out, int32(p))
		}
	}
	return out
}

func (g *Group) revokingBy(m *member) []int32 {
	var out []int32
	for p, o := range g.owner {
		if o == m && g.revoking[p] {
			out = append(out, int32(p))
		}
	}
	return out
}

// sortedMembers returns the members ordered by ID: every loop that can decide
// an outcome iterates in this order.
func (g *Group) sortedMembers() []*member {
	ms := make([]*member, 0, len(g.members))
	for _, m := range g.members {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b *member) int { return strings.Compare(string(a.id), string(b.id)) })
	return ms
}

// enter and exit bracket every change of state (public calls and timer
// events): enter books the elapsed time at the counts in force, exit recounts.
func (g *Group) enter() { g.accumulate() }

func (g *Group) exit() {
	g.blocked = 0
	if len(g.members) == 0 {
		return
	}
	for p := range g.owner {
		if !g.fetchable(int32(p)) {
			g.blocked++
		}
	}
}

func (g *Group) accumulate() {
	now := g.eng.Now()
	dt := now - g.acctAt
	if dt <= 0 {
		return
	}
	g.acctAt = now
	g.pauseTotal += dt * time.Duration(g.blocked)
	if g.Rebalancing() {
		g.rebalanceWall += dt
	}
}
