// Behavior: OffsetCommit and OffsetFetch for the group's one topic, with the
// coordinator's checks (GroupCoordinator.handleCommitOffsets): a member not in
// the group gets UNKNOWN_MEMBER_ID (FENCED_INSTANCE_ID if a newer incarnation
// of its static instance replaced it), a generation other than the group's gets
// ILLEGAL_GENERATION, and a commit while the group is in CompletingRebalance
// gets REBALANCE_IN_PROGRESS. Commits in PreparingRebalance are accepted, which
// is what lets an eager member commit in onPartitionsRevoked. The group's
// RebalanceTime lumps the join wait and the sync into one delay; in Kafka the
// member-visible CompletingRebalance window is only the SyncGroup exchange, so
// commits are refused only in the last SyncWindow of that delay. The simulator
// adds one check Kafka's coordinator leaves to the client: the member must own
// the partition (being asked to revoke it still counts), so a zombie's or a
// slow member's late commit fails loudly. The new owner resumes from
// Committed.
//
// Not modelled: commit metadata, offsets.retention.minutes (offsets are kept
// forever), transactional commits, and commit latency (a commit takes effect
// at the virtual instant it is called).

package broker

import (
	"fmt"
	"time"
)

// Commit stores offset as the next offset to process in partition p, on
// behalf of member id in generation gen. It fails with a *CommitError wrapping
// ErrUnknownMember, ErrFencedInstance, ErrIllegalGeneration,
// ErrRebalanceInProgress, ErrNotOwner or ErrOffsetOutOfRange (checked in that
// order). A partition index out of range panics.
func (g *Group) Commit(id MemberID, gen int32, p int32, offset int64) error {
	p = g.checkPartition(p, "Commit")
	fail := func(err error) error {
		return &CommitError{Member: id, Generation: gen, CurrentGeneration: g.generation, Partition: p, Offset: offset, Err: err}
	}
	m := g.members[id]
	switch {
	case m == nil && g.fenced[id]:
		return fail(ErrFencedInstance)
	case m == nil:
		return fail(ErrUnknownMember)
	case gen != g.generation:
		return fail(ErrIllegalGeneration)
	case g.state == CompletingRebalance && g.inSyncWindow():
		return fail(ErrRebalanceInProgress)
	case g.owner[p] != m:
		return fail(ErrNotOwner)
	case offset < 0 || offset > g.log.HighWatermark(p):
		return fail(fmt.Errorf("%w: high watermark %d", ErrOffsetOutOfRange, g.log.HighWatermark(p)))
	}
	g.committed[p] = offset
	return nil
}

// SyncWindow is the modelled length of the SyncGroup exchange at the end of a
// join+sync round: the only time commits are refused (REBALANCE_IN_PROGRESS).
const SyncWindow = 50 * time.Millisecond

func (g *Group) inSyncWindow() bool {
	return g.syncTimer == nil || g.eng.Now() >= g.syncTimer.At()-SyncWindow
}

// Committed is the group's committed offset of p: the next offset its owner
// should process (0 when nothing was committed yet).
func (g *Group) Committed(p int32) int64 {
	return g.committed[g.checkPartition(p, "Committed")]
}

// Lag is HighWatermark(p) - Committed(p): the records of p not yet committed.
func (g *Group) Lag(p int32) int64 {
	p = g.checkPartition(p, "Lag")
	return g.log.HighWatermark(p) - g.committed[p]
}
