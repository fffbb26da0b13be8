package core

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// Reason says why a key was not written (or not restored).
type Reason uint8

// Reasons, in the order reports list them.
const (
	ReasonNone          Reason = iota
	ReasonDeadline             // the context's deadline (grace period, rebalance timeout) passed first
	ReasonCanceled             // the context was canceled
	ReasonFenced               // a newer consumer-group generation owns the partition (zombie write)
	ReasonOOM                  // "OOM command not allowed when used memory > 'maxmemory'"
	ReasonMisconf              // "MISCONF": a failed BGSAVE with stop-writes-on-bgsave-error
	ReasonReadOnly             // "READONLY": the node is a replica (failover in progress)
	ReasonTimeout              // network timeout: the write may or may not have been applied
	ReasonUnavailable          // connection refused/reset/closed, LOADING, CLUSTERDOWN, TRYAGAIN, MASTERDOWN
	ReasonEncode               // the codec could not encode the value
	ReasonDisabled             // strategy memory-only: the store never writes to Redis
	ReasonOther                // any other error reply
	ReasonChanged              // the entry was updated (or added) during the spill: its current version was not written
	ReasonNotReplicated        // written, but fewer replicas than WaitReplicas asked for acknowledged it in time
	numReasons
)

var reasonNames = [numReasons]string{"none", "deadline", "canceled", "fenced", "oom", "misconf", "readonly",
	"timeout", "unavailable", "encode", "disabled", "other", "changed", "not_replicated"}

// String returns the reason's short name as used in reports and metrics labels.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Reasons lists every reason but ReasonNone, in report order.
func Reasons() []Reason {
	out := make([]Reason, 0, numReasons-1)
	for r := ReasonNone + 1; r < numReasons; r++ {
		out = append(out, r)
	}
	return out
}

// retryable reports whether an immediate retry of the same write can succeed.
func (r Reason) retryable() bool {
	switch r {
	case ReasonTimeout, ReasonUnavailable, ReasonReadOnly:
		return true
	}
	return false
}

// stopsWorker reports whether a spill worker must stop after this reason: the
// deadline or cancellation applies to every later batch too.
func (r Reason) stopsWorker() bool { return r == ReasonDeadline || r == ReasonCanceled }

// Classify maps an error from go-redis (or from a hook in front of it) to a Reason.
func Classify(err error) Reason {
	if err == nil || errors.Is(err, redis.Nil) {
		return ReasonNone
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ReasonDeadline
	}
	if errors.Is(err, context.Canceled) {
		return ReasonCanceled
	}
	if errors.Is(err, errFenced) {
		return ReasonFenced
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		switch {
		case strings.HasPrefix(msg, "OOM"):
			return ReasonOOM
		case strings.HasPrefix(msg, "MISCONF"):
			return ReasonMisconf
		case strings.HasPrefix(msg, "READONLY"):
			return ReasonReadOnly
		case strings.HasPrefix(msg, "LOADING"), strings.HasPrefix(msg, "CLUSTERDOWN"),
			strings.HasPrefix(msg, "TRYAGAIN"), strings.HasPrefix(msg, "MASTERDOWN"),
			strings.HasPrefix(msg, "MOVED"), strings.HasPrefix(msg, "ASK"):
			return ReasonUnavailable
		}
		return ReasonOther
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		return ReasonTimeout
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, redis.ErrClosed) || errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.EHOSTUNREACH) {
		return ReasonUnavailable
	}
	var operr *net.OpError
	if errors.As(err, &operr) {
		return ReasonUnavailable
	}
	if strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "EOF") {
		return ReasonUnavailable
	}
	return ReasonOther
}

// replyError classifies an error string returned inside a script reply.
func replyError(msg string) Reason {
	return Classify(redisErrorString(msg))
}

type redisErrorString string

func (e redisErrorString) Error() string { return string(e) }
func (redisErrorString) RedisError()     {}
