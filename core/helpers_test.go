package core

import (
	"context"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/spillway-sim/spillway/internal/redistest"
)

// backend is one Redis the store suite runs against.
type backend struct {
	name   string
	client func(t *testing.T, hooks ...redis.Hook) redis.UniversalClient
	real   bool
}

// backends returns miniredis, plus a real redis-server when the binary is on PATH.
func backends(t *testing.T) []backend {
	t.Helper()
	out := []backend{{name: "miniredis", client: func(t *testing.T, hooks ...redis.Hook) redis.UniversalClient {
		t.Helper()
		mr := miniredis.RunT(t)
		c := redis.NewClient(&redis.Options{Addr: mr.Addr(), DisableIdentity: true, MaxRetries: -1, MaintNotificationsConfig: noMaint})
		for _, h := range hooks {
			c.AddHook(h)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}}}
	if addr, ok := redistest.Shared(t); ok {
		out = append(out, backend{name: "redis-server", real: true, client: func(t *testing.T, hooks ...redis.Hook) redis.UniversalClient {
			t.Helper()
			c := redis.NewClient(&redis.Options{Addr: addr, DisableIdentity: true, MaxRetries: -1, MaintNotificationsConfig: noMaint})
			if err := c.FlushAll(context.Background()).Err(); err != nil {
				t.Fatalf("FLUSHALL: %v", err)
			}
			c.ConfigSet(context.Background(), "maxmemory", "0")
			for _, h := range hooks {
				c.AddHook(h)
			}
			t.Cleanup(func() { c.Close() })
			return c
		}})
	}
	return out
}

func TestMain(m *testing.M) {
	redis.SetLogger(quietLogger{}) // connection-refused tests would print dial errors
	code := m.Run()
	redistest.Shutdown()
	os.Exit(code)
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) { return redistest.FreePort() }

var noMaint = redistest.NoMaint

// isInit reports a connection-setup command (HELLO, CLIENT ...), which hooks see
// too but which is not the store's traffic.
func isInit(c redis.Cmder) bool {
	n := strings.ToLower(c.Name())
	return n == "hello" || n == "client"
}

// fakeClock is a settable clock for tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// hookFunc is a go-redis hook built from two funcs; nil ones pass through.
type hookFunc struct {
	process  func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error
	pipeline func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error
}

func (h hookFunc) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h hookFunc) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	if h.process == nil {
		return next
	}
	return func(ctx context.Context, cmd redis.Cmder) error { return h.process(ctx, cmd, next) }
}
func (h hookFunc) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	if h.pipeline == nil {
		return next
	}
	return func(ctx context.Context, cmds []redis.Cmder) error { return h.pipeline(ctx, cmds, next) }
}

// replyErr is a Redis error reply as a hook injects it.
type replyErr string

func (e replyErr) Error() string { return string(e) }
func (replyErr) RedisError()     {}

// timeoutErr is a network timeout as a hook injects it.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// failWrites answers every call that writes entries (a pipeline or transaction
// with SETs) with err and counts those calls. The claims a spill makes first are
// let through.
func failWrites(err error, calls *atomic.Int64) redis.Hook {
	isWrite := func(c redis.Cmder) bool { return strings.ToLower(c.Name()) == "set" }
	return hookFunc{
		process: func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
			if isWrite(cmd) {
				calls.Add(1)
				cmd.SetErr(err)
				return err
			}
			return next(ctx, cmd)
		},
		pipeline: func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
			for _, c := range cmds {
				if isWrite(c) {
					calls.Add(1)
					for _, c := range cmds {
						c.SetErr(err)
					}
					return err
				}
			}
			return next(ctx, cmds)
		},
	}
}

// isTx reports a fenced spill's transaction (MULTI ... EXEC) among a pipeline's commands.
func isTx(cmds []redis.Cmder) bool {
	for _, c := range cmds {
		if c.Name() == "exec" {
			return true
		}
	}
	return false
}

// setKeys lists the keys a pipeline SETs (a spill batch's entries, and its fence).
func setKeys(cmds []redis.Cmder) []string {
	var out []string
	for _, c := range cmds {
		if c.Name() == "set" {
			if k, ok := c.Args()[1].(string); ok && !strings.HasSuffix(k, "#fence") {
				out = append(out, k)
			}
		}
	}
	return out
}
