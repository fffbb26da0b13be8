package core

import (
	"context"
	"time"
)

// Clock is where the store reads time: the as-of time of entries, the staleness
// check, TTLs of per-entry functions, checkpoint intervals and report durations.
// The simulator passes its virtual clock; production code uses SystemClock.
type Clock interface {
	Now() time.Time
}

// Sleeper is an optional Clock extension used to wait between retries. A Clock
// that does not implement it gets retries without back-off (the simulator's
// virtual clock cannot be slept on; its Redis hook charges time instead).
type Sleeper interface {
	Sleep(ctx context.Context, d time.Duration) error
}

// ClockFunc adapts a func to Clock (e.g. the simulator engine's Time).
type ClockFunc func() time.Time

// Now implements Clock.
func (f ClockFunc) Now() time.Time { return f() }

// SystemClock is the wall clock, for production use.
type SystemClock struct{}

// Now implements Clock.
func (SystemClock) Now() time.Time { return time.Now() } // wallclock-ok: the production clock

// Sleep implements Sleeper: it waits d or until ctx is done.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d) // wallclock-ok: production retry back-off
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
