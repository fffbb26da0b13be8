package redistest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// NoMaint disables go-redis maintenance notifications (an extra CLIENT command per
// connection that servers before 8.x reject).
var NoMaint = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}

// Available reports whether redis-server is on PATH.
func Available() bool {
	_, err := exec.LookPath("redis-server")
	return err == nil
}

var (
	once    sync.Once
	shared  *Server
	initErr error
)

// Server is a redis-server process started by this package.
type Server struct {
	Addr string
	Dir  string
	cmd  *exec.Cmd
}

// Stop kills the server and waits for it.
func (s *Server) Stop() {
	if s != nil && s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}

// Shared returns the address of a redis-server shared by the package's tests,
// started on first use. It reports false, after logging why, when redis-server is
// not installed.
func Shared(tb testing.TB) (string, bool) {
	tb.Helper()
	if !Available() {
		tb.Log("redis-server not on PATH: skipping the real-Redis part (CI installs it)")
		return "", false
	}
	once.Do(func() { shared, initErr = Start("", nil) })
	if initErr != nil {
		tb.Fatalf("starting redis-server: %v", initErr)
	}
	return shared.Addr, true
}

// Shutdown stops the shared server, if one was started. Call it from TestMain.
func Shutdown() { shared.Stop() }

// Client returns a go-redis client for addr configured as Spillway's tests use it.
func Client(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, DisableIdentity: true, MaxRetries: -1, MaintNotificationsConfig: NoMaint})
}

// FreePort asks the kernel for a free loopback port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start starts redis-server on a free loopback port with persistence off (extra
// arguments may turn it on) in a new directory under dir ("" = os.TempDir), and
// waits until it answers PING. The port is free when chosen but not reserved:
// another test may take it before the server binds, so a server that does not
// answer within 5 s is stopped and started again on another port (3 tries).
func Start(dir string, extra []string) (*Server, error) {
	wd, err := os.MkdirTemp(dir, "spillway-redis-")
	if err != nil {
		return nil, err
	}
	var last error
	for range 3 {
		s, err := start(wd, extra)
		if err == nil {
			return s, nil
		}
		last = err
	}
	return nil, last
}

func start(wd string, extra []string) (*Server, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	args := append([]string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", wd, "--protected-mode", "no"}, extra...)
	cmd := exec.Command("redis-server", args...)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { // drain the log so the server never blocks on it
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
		}
	}()
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), Dir: wd, cmd: cmd}
	c := Client(s.Addr)
	defer c.Close()
	for i := 0; i < 500; i++ {
		if c.Ping(context.Background()).Err() == nil {
			return s, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.Stop()
	return nil, fmt.Errorf("redis-server on %s did not answer PING", s.Addr)
}

// StartCluster starts n cluster-enabled nodes (masters, no replicas) joined with
// redis-cli --cluster create, and waits until every node reports cluster_state:ok.
// It skips the test when redis-server or redis-cli is missing.
func StartCluster(tb testing.TB, n int) []string {
	tb.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil || !Available() {
		tb.Skip("redis-server/redis-cli not on PATH: skipping the Redis Cluster part (CI installs them)")
	}
	var addrs []string
	for i := 0; i < n; i++ {
		dir := tb.TempDir()
		s, err := Start(dir, []string{"--cluster-enabled", "yes", "--cluster-config-file", dir + "/nodes.conf",
			"--cluster-node-timeout", "2000"})
		if err != nil {
			tb.Fatalf("cluster node %d: %v", i, err)
		}
		tb.Cleanup(s.Stop)
		addrs = append(addrs, s.Addr)
	}
	out, err := exec.Command("redis-cli", append(append([]string{"--cluster", "create"}, addrs...),
		"--cluster-replicas", "0", "--cluster-yes")...).CombinedOutput()
	if err != nil {
		tb.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	// Every node must see the cluster as ok: the first one converges before the others.
	for _, addr := range addrs {
		c := Client(addr)
		ok := false
		for i := 0; i < 500 && !ok; i++ {
			ok = strings.Contains(c.ClusterInfo(context.Background()).Val(), "cluster_state:ok")
			if !ok {
				time.Sleep(20 * time.Millisecond)
			}
		}
		c.Close()
		if !ok {
			tb.Fatalf("node %s did not reach cluster_state:ok", addr)
		}
	}
	return addrs
}
