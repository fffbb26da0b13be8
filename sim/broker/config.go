package broker

import (
	"fmt"
	"slices"
	"time"
)

// Assignor names accepted in GroupConfig.Assignor (the scenario contract's
// log.assignor values). Each maps to franz-go's implementation of the Kafka
// assignor of the same protocol.
const (
	// AssignorRange is Kafka's RangeAssignor (kgo.RangeBalancer), eager.
	AssignorRange = "range"
	// AssignorRoundRobin is Kafka's RoundRobinAssignor (kgo.RoundRobinBalancer), eager.
	AssignorRoundRobin = "round-robin"
	// AssignorSticky is Kafka's StickyAssignor (KIP-54, kgo.StickyBalancer), eager.
	AssignorSticky = "sticky"
	// AssignorCooperativeSticky is Kafka's CooperativeStickyAssignor (KIP-429,
	// kgo.CooperativeStickyBalancer), incremental.
	AssignorCooperativeSticky = "cooperative-sticky"
)

// Assignors lists every assignor name GroupConfig.Assignor accepts, in a fixed
// order (the scenario schema's log.assignor values are tested against it).
var Assignors = []string{AssignorRange, AssignorRoundRobin, AssignorSticky, AssignorCooperativeSticky}

// NoDelay sets RebalanceTime or InitialRebalanceDelay to zero explicitly
// (their zero value means "use the default").
const NoDelay time.Duration = -1

// Defaults of the real systems, used for zero-valued GroupConfig fields.
const (
	// DefaultAssignor: the Java 3.x consumer's partition.assignment.strategy is
	// [RangeAssignor, CooperativeStickyAssignor]; a group whose members all
	// list both uses the first, range.
	DefaultAssignor = AssignorRange
	// DefaultSessionTimeout is session.timeout.ms (45 s since Kafka 3.0, KIP-735).
	DefaultSessionTimeout = 45 * time.Second
	// DefaultRebalanceTimeout is max.poll.interval.ms, which the Java consumer
	// sends as the JoinGroup rebalance timeout (KIP-62): 5 min.
	DefaultRebalanceTimeout = 5 * time.Minute
	// DefaultRebalanceTime is the modelled cost of one join+sync round trip of
	// the whole group: about one heartbeat.interval.ms (3 s), the time it
	// takes every member to learn of the rebalance from a heartbeat.
	DefaultRebalanceTime = 3 * time.Second
	// DefaultInitialRebalanceDelay is the broker's
	// group.initial.rebalance.delay.ms (3 s, KIP-134).
	DefaultInitialRebalanceDelay = 3 * time.Second
	// MinSessionTimeout and MaxSessionTimeout are the broker's
	// group.min.session.timeout.ms (6 s) and group.max.session.timeout.ms
	// (30 min): a JoinGroup outside them fails with INVALID_SESSION_TIMEOUT.
	MinSessionTimeout = 6 * time.Second
	MaxSessionTimeout = 30 * time.Minute
)

// GroupConfig configures a consumer group. A zero field takes the default
// named in its comment (the defaults of Kafka 3.x; see docs/design.md):
//
//	field                  default  Kafka setting
//	Assignor               range    partition.assignment.strategy (first of range, cooperative-sticky)
//	StaticMembership       false    group.instance.id unset
//	SessionTimeout         45s      session.timeout.ms
//	RebalanceTime          3s       (model) join+sync cost of one rebalance round
//	RebalanceTimeout       5m       max.poll.interval.ms (JoinGroup rebalance timeout, KIP-62)
//	InitialRebalanceDelay  3s       group.initial.rebalance.delay.ms (KIP-134)
type GroupConfig struct {
	// Assignor is one of range, round-robin, sticky, cooperative-sticky.
	Assignor string
	// StaticMembership makes members join with a group.instance.id (KIP-345).
	StaticMembership bool
	// SessionTimeout: a member that stops heartbeating (killed, paused) is
	// removed this long after its last heartbeat. Between 6s and 30m.
	SessionTimeout time.Duration
	// RebalanceTime is the virtual time one join+sync round costs once every
	// member has rejoined. NoDelay for zero.
	RebalanceTime time.Duration
	// RebalanceTimeout bounds how long the group waits for members to rejoin
	// (finish onPartitionsRevoked) before it removes them.
	RebalanceTimeout time.Duration
	// InitialRebalanceDelay delays the first rebalance of an empty group so
	// that members starting together are batched. NoDelay for zero.
	InitialRebalanceDelay time.Duration
}

// DefaultGroupConfig returns the configuration with every default filled in.
func DefaultGroupConfig() GroupConfig {
	return GroupConfig{
		Assignor:              DefaultAssignor,
		SessionTimeout:        DefaultSessionTimeout,
		RebalanceTime:         DefaultRebalanceTime,
		RebalanceTimeout:      DefaultRebalanceTimeout,
		InitialRebalanceDelay: DefaultInitialRebalanceDelay,
	}
}

// resolve fills defaults, turns NoDelay into zero, and validates.
func (c GroupConfig) resolve() (GroupConfig, error) {
	if c.Assignor == "" {
		c.Assignor = DefaultAssignor
	}
	if !slices.Contains(Assignors, c.Assignor) {
		return c, fmt.Errorf("broker: unknown assignor %q (want range, round-robin, sticky or cooperative-sticky)", c.Assignor)
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = DefaultSessionTimeout
	}
	if c.SessionTimeout < MinSessionTimeout || c.SessionTimeout > MaxSessionTimeout {
		return c, fmt.Errorf("broker: session timeout %v is outside the broker's allowed range [%v, %v] (group.min/max.session.timeout.ms)",
			c.SessionTimeout, MinSessionTimeout, MaxSessionTimeout)
	}
	if c.RebalanceTimeout == 0 {
		c.RebalanceTimeout = DefaultRebalanceTimeout
	}
	if c.RebalanceTimeout < 0 {
		return c, fmt.Errorf("broker: rebalance timeout %v must be positive", c.RebalanceTimeout)
	}
	var err error
	if c.RebalanceTime, err = delayField("rebalance time", c.RebalanceTime, DefaultRebalanceTime); err != nil {
		return c, err
	}
	if c.InitialRebalanceDelay, err = delayField("initial rebalance delay", c.InitialRebalanceDelay, DefaultInitialRebalanceDelay); err != nil {
		return c, err
	}
	if c.RebalanceTime >= c.RebalanceTimeout {
		return c, fmt.Errorf("broker: rebalance time %v must be shorter than the rebalance timeout %v", c.RebalanceTime, c.RebalanceTimeout)
	}
	return c, nil
}

func delayField(name string, d, def time.Duration) (time.Duration, error) {
	switch {
	case d == 0:
		return def, nil
	case d == NoDelay:
		return 0, nil
	case d < 0:
		return 0, fmt.Errorf("broker: %s %v is negative (use NoDelay for zero)", name, d)
	}
	return d, nil
}
