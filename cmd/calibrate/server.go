package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// server is a redis-server this tool started on a free loopback port, with
// persistence off except for the BGSAVEs the tool asks for.
type server struct {
	cmd  *exec.Cmd
	addr string
	dir  string
	done chan error
}

// freePort asks the kernel for a free loopback TCP port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// serverArgs is the command line of a calibration server on port with its files in dir.
func serverArgs(port int, dir string) []string {
	return []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", dir,
		"--dbfilename", "dump.rdb",
		"--rdbcompression", "yes",
		"--maxmemory", "0",
		"--enable-debug-command", "yes",
		"--daemonize", "no",
		"--logfile", filepath.Join(dir, "redis.log"),
	}
}

// startServer starts bin on a free loopback port with its files in dir and waits
// until it answers PING. It retries a few ports if one is taken in between.
func startServer(ctx context.Context, bin, dir string) (*server, error) {
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		s := &server{addr: "127.0.0.1:" + strconv.Itoa(port), dir: dir, done: make(chan error, 1)}
		s.cmd = exec.Command(bin, serverArgs(port, dir)...)
		s.cmd.Dir = dir
		if err := s.cmd.Start(); err != nil {
			return nil, fmt.Errorf("start %s: %w", bin, err)
		}
		go func() { s.done <- s.cmd.Wait() }()
		if lastErr = s.waitReady(ctx); lastErr == nil {
			return s, nil
		}
		s.kill()
	}
	return nil, fmt.Errorf("redis-server did not come up (log in %s): %w", dir, lastErr)
}

// waitReady polls PING until the server answers, exits, or 10 s pass.
func (s *server) waitReady(ctx context.Context) error {
	c := newClient(s.addr, 1)
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("redis-server exited: %v", err)
		default:
		}
		if err := c.Ping(ctx).Err(); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop shuts the server down without saving and waits for it; it kills it if it has
// not exited within 10 s.
func (s *server) stop() error {
	c := newClient(s.addr, 1)
	_ = c.Do(context.Background(), "SHUTDOWN", "NOSAVE").Err() // the connection drops: no reply
	c.Close()
	select {
	case <-s.done:
		return nil
	case <-time.After(10 * time.Second):
		s.kill()
		return errors.New("redis-server ignored SHUTDOWN NOSAVE; killed")
	}
}

// kill ends the server process this tool started, by its pid, and reaps it.
func (s *server) kill() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
	}
	<-s.done
	s.done <- nil
}

// rdbPath is where BGSAVE writes.
func (s *server) rdbPath() string { return filepath.Join(s.dir, "dump.rdb") }

// newClient returns a go-redis client for a real server: RESP2, no identity or
// maintenance-notification handshake, no read/write timeouts (DEBUG POPULATE and
// FLUSHALL of gigabytes block for seconds), poolSize connections.
func newClient(addr string, poolSize int) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:                     addr,
		Protocol:                 2,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		PoolSize:                 poolSize,
		MinIdleConns:             0,
		ReadTimeout:              -1,
		WriteTimeout:             -1,
		MaxRetries:               -1,
	})
}

// removeRDB deletes the dump file if there is one.
func (s *server) removeRDB() error {
	err := os.Remove(s.rdbPath())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
