package broker

import (
	"errors"
	"fmt"
)

// Sentinel errors returned (wrapped in a *CommitError) by Group.Commit, and
// ErrUnknownMember also by the membership calls. They mirror the Kafka error
// codes a consumer sees from OffsetCommit; match them with errors.Is.
var (
	// ErrUnknownMember is Kafka's UNKNOWN_MEMBER_ID: the member is not in the
	// group (never joined, left, or was removed at its session or rebalance
	// timeout — a zombie).
	ErrUnknownMember = errors.New("broker: unknown member id")
	// ErrFencedInstance is Kafka's FENCED_INSTANCE_ID (KIP-345): a newer
	// member with the same group.instance.id took this member's place.
	ErrFencedInstance = errors.New("broker: fenced instance id")
	// ErrIllegalGeneration is Kafka's ILLEGAL_GENERATION: the generation the
	// member presents is not the group's current generation.
	ErrIllegalGeneration = errors.New("broker: illegal generation")
	// ErrRebalanceInProgress is Kafka's REBALANCE_IN_PROGRESS: the group is
	// completing a rebalance (between the join and the sync, Kafka's
	// CompletingRebalance state), where commits are refused.
	ErrRebalanceInProgress = errors.New("broker: rebalance in progress")
	// ErrNotOwner means the member is in the group and in the current
	// generation but does not own the partition. Kafka's coordinator does not
	// check this (the client does); the simulator does, so that a commit for a
	// partition that already moved is caught as a bug.
	ErrNotOwner = errors.New("broker: partition not owned by member")
	// ErrOffsetOutOfRange means the committed offset is negative or beyond
	// the partition's high watermark.
	ErrOffsetOutOfRange = errors.New("broker: offset out of range")
)

// CommitError says which commit failed and why; Unwrap returns one of the
// sentinel errors above.
type CommitError struct {
	Member            MemberID
	Generation        int32 // the generation the member presented
	CurrentGeneration int32 // the group's generation when the commit arrived
	Partition         int32
	Offset            int64
	Err               error
}

// Error implements error.
func (e *CommitError) Error() string {
	return fmt.Sprintf("commit of partition %d offset %d by member %q in generation %d (group generation %d): %v",
		e.Partition, e.Offset, e.Member, e.Generation, e.CurrentGeneration, e.Err)
}

// Unwrap returns the sentinel error.
func (e *CommitError) Unwrap() error { return e.Err }
