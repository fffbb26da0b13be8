package core

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
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
	if addr, ok := sharedServer(t); ok {
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

var (
	serverOnce sync.Once
	serverAddr string
	serverErr  error
	serverProc *exec.Cmd
	serverMu   sync.Mutex // tests sharing the real server run one at a time
)

// sharedServer starts one redis-server for the package's tests on a free loopback
// port. It reports false (and the test logs why) when redis-server is not on PATH.
func sharedServer(t *testing.T) (string, bool) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Log("redis-server not on PATH: skipping the real-Redis backend (CI installs it)")
		return "", false
	}
	serverOnce.Do(func() {
		var addr string
		serverProc, addr, serverErr = startRedis(os.TempDir(), nil)
		serverAddr = addr
	})
	if serverErr != nil {
		t.Fatalf("starting redis-server: %v", serverErr)
	}
	return serverAddr, true
}

func TestMain(m *testing.M) {
	code := m.Run()
	if serverProc != nil {
		serverProc.Process.Kill()
		serverProc.Wait()
	}
	os.Exit(code)
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startRedis starts redis-server on a free loopback port with persistence off and
// waits until it answers PING.
func startRedis(dir string, extra []string) (*exec.Cmd, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	wd, err := os.MkdirTemp(dir, "spillway-redis-")
	if err != nil {
		return nil, "", err
	}
	args := append([]string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", wd, "--protected-mode", "no"}, extra...)
	cmd := exec.Command("redis-server", args...)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	go func() { // drain the log
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
		}
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	c := redis.NewClient(&redis.Options{Addr: addr, DisableIdentity: true, MaxRetries: -1})
	defer c.Close()
	for i := 0; i < 200; i++ {
		if c.Ping(context.Background()).Err() == nil {
			return cmd, addr, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Kill()
	return nil, "", fmt.Errorf("redis-server on %s did not answer PING", addr)
}

var noMaint = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}

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

// failWrites answers every write (script or SET) with err and counts calls.
func failWrites(err error, calls *atomic.Int64) redis.Hook {
	isWrite := func(c redis.Cmder) bool {
		n := strings.ToLower(c.Name())
		return n == "evalsha" || n == "eval" || n == "set"
	}
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

func tmpDir(t *testing.T) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "r")
	os.MkdirAll(d, 0o755)
	return d
}
