package core

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Reason
	}{
		{"nil", nil, ReasonNone},
		{"redis nil", redis.Nil, ReasonNone},
		{"deadline", fmt.Errorf("spill: %w", context.DeadlineExceeded), ReasonDeadline},
		{"canceled", context.Canceled, ReasonCanceled},
		{"fenced", fmt.Errorf("x: %w", ErrFenced), ReasonFenced},
		{"oom", replyErr("OOM command not allowed when used memory > 'maxmemory'."), ReasonOOM},
		{"misconf", replyErr("MISCONF Redis is configured to save RDB snapshots"), ReasonMisconf},
		{"readonly", replyErr("READONLY You can't write against a read only replica."), ReasonReadOnly},
		{"loading", replyErr("LOADING Redis is loading the dataset in memory"), ReasonUnavailable},
		{"clusterdown", replyErr("CLUSTERDOWN The cluster is down"), ReasonUnavailable},
		{"tryagain", replyErr("TRYAGAIN Multiple keys request during rehashing of slot"), ReasonUnavailable},
		{"other reply", replyErr("ERR unknown command"), ReasonOther},
		{"net timeout", timeoutErr{}, ReasonTimeout},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, ReasonUnavailable},
		{"closed client", redis.ErrClosed, ReasonUnavailable},
		{"plain error", errors.New("something else"), ReasonOther},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.err); got != tc.want {
				t.Fatalf("Classify(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestReasonsAndRetry(t *testing.T) {
	if len(Reasons()) != int(numReasons)-1 || Reasons()[0] != ReasonDeadline {
		t.Fatalf("Reasons() = %v", Reasons())
	}
	for _, r := range Reasons() {
		if r.String() == "unknown" || r.String() == "" {
			t.Errorf("reason %d has no name", r)
		}
	}
	retry := map[Reason]bool{ReasonTimeout: true, ReasonUnavailable: true, ReasonReadOnly: true}
	for _, r := range Reasons() {
		if r.retryable() != retry[r] {
			t.Errorf("%v retryable = %v", r, r.retryable())
		}
	}
	if !ReasonDeadline.stopsWorker() || ReasonOOM.stopsWorker() {
		t.Error("only deadline and cancel stop a worker")
	}
}
