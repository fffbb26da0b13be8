package broker

import (
	"errors"
	"testing"
)

func TestCommitErrorWrapsSentinel(t *testing.T) {
	err := error(&CommitError{Member: "m1", Generation: 3, CurrentGeneration: 5, Partition: 7, Offset: 42, Err: ErrIllegalGeneration})
	if !errors.Is(err, ErrIllegalGeneration) || errors.Is(err, ErrUnknownMember) {
		t.Fatalf("errors.Is does not see the sentinel through %v", err)
	}
	var ce *CommitError
	if !errors.As(err, &ce) || ce.Partition != 7 {
		t.Fatalf("errors.As failed on %v", err)
	}
	want := `commit of partition 7 offset 42 by member "m1" in generation 3 (group generation 5): broker: illegal generation`
	if err.Error() != want {
		t.Fatalf("message = %q, want %q", err.Error(), want)
	}
}
