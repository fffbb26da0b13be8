package broker

import (
	"errors"
	"testing"
	"time"
)

// TestCommit checks the coordinator's OffsetCommit answers
// (GroupCoordinator.handleCommitOffsets) and the simulator's ownership check.
func TestCommit(t *testing.T) {
	cfg := testConfig(AssignorCooperativeSticky)
	cfg.StaticMembership = true
	h := newHarness(t, cfg, 6)
	h.startGroup(3, true) // m0:[0 4] m1:[1 5] m2:[2 3], generation 1
	for p := range int32(6) {
		for range 10 {
			h.log.Append(p, Record{})
		}
	}
	// m2 is replaced by a new incarnation while its old one still runs.
	h.join("m2-new", "pod-2")
	h.settle(time.Second)
	gen := h.g.Generation()
	tests := []struct {
		name   string
		member MemberID
		gen    int32
		p      int32
		offset int64
		want   error
	}{
		{"owner in the current generation", "m0", gen, 0, 7, nil},
		{"owner commits the high watermark", "m0", gen, 4, 10, nil},
		{"the new static incarnation", "m2-new", gen, 2, 3, nil},
		{"not a member", "nobody", gen, 0, 1, ErrUnknownMember},
		{"fenced static incarnation", "m2", gen, 2, 1, ErrFencedInstance},
		{"stale generation", "m0", gen - 1, 0, 1, ErrIllegalGeneration},
		{"future generation", "m0", gen + 1, 0, 1, ErrIllegalGeneration},
		{"partition of another member", "m0", gen, 1, 1, ErrNotOwner},
		{"beyond the high watermark", "m0", gen, 0, 11, ErrOffsetOutOfRange},
		{"negative offset", "m0", gen, 0, -1, ErrOffsetOutOfRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.g.Committed(tt.p)
			err := h.g.Commit(tt.member, tt.gen, tt.p, tt.offset)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Commit = %v, want %v", err, tt.want)
			}
			if tt.want == nil && h.g.Committed(tt.p) != tt.offset {
				t.Fatalf("Committed = %d, want %d", h.g.Committed(tt.p), tt.offset)
			}
			if tt.want != nil && h.g.Committed(tt.p) != before {
				t.Fatalf("a failed commit moved the offset from %d to %d", before, h.g.Committed(tt.p))
			}
		})
	}
	if h.g.Lag(0) != 3 || h.g.Lag(4) != 0 || h.g.Lag(5) != 10 {
		t.Fatalf("lag p0=%d p4=%d p5=%d, want 3 0 10", h.g.Lag(0), h.g.Lag(4), h.g.Lag(5))
	}

	// Between join and sync (CompletingRebalance) commits are refused, in the
	// SyncGroup exchange at the end of the round only.
	h.join("m9", "pod-9")
	if h.g.State() != CompletingRebalance {
		t.Fatalf("state %v, want CompletingRebalance", h.g.State())
	}
	if err := h.g.Commit("m0", gen, 0, 8); err != nil {
		t.Fatalf("commit at the start of the join+sync delay: %v, want it accepted", err)
	}
	h.eng.RunUntil(h.g.syncTimer.At() - SyncWindow/2)
	if err := h.g.Commit("m0", gen, 0, 9); !errors.Is(err, ErrRebalanceInProgress) {
		t.Fatalf("commit in the sync window: %v, want ErrRebalanceInProgress", err)
	}
}

// TestCommitOnEagerRevoke: in PreparingRebalance the generation is still
// valid, so an eager member commits in onPartitionsRevoked; once its callback
// returned, the partition is no longer its own.
func TestCommitOnEagerRevoke(t *testing.T) {
	h := newHarness(t, testConfig(AssignorRange), 4)
	h.startGroup(2, false)
	for p := range int32(4) {
		h.log.Append(p, Record{})
		h.fakes["m0"].commitOnRevoke = true
		h.fakes["m1"].commitOnRevoke = true
	}
	gen := h.g.Generation()
	h.join("m2", "")
	h.settle(time.Minute)
	for _, id := range []MemberID{"m0", "m1"} {
		if errs := h.fakes[id].commitErrs; len(errs) != 0 {
			t.Fatalf("%s's commits in onPartitionsRevoked failed: %v", id, errs)
		}
	}
	for p := range int32(4) {
		if h.g.Committed(p) != 1 {
			t.Fatalf("partition %d committed %d, want 1", p, h.g.Committed(p))
		}
	}
	if err := h.g.Commit("m0", gen, 3, 1); !errors.Is(err, ErrIllegalGeneration) {
		t.Fatalf("commit with the pre-rebalance generation: %v", err)
	}
}

func TestCommitBadPartitionPanics(t *testing.T) {
	h := newHarness(t, testConfig(AssignorRange), 2)
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	_ = h.g.Commit("m0", 0, 2, 0)
}
