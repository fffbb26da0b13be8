package main

import (
	"context"
	"os/exec"
	"slices"
	"testing"
)

// needRedis skips the test when no redis-server is on PATH and returns its path.
func needRedis(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not on PATH: skipping the real-Redis test (apt-get install redis-server to run it)")
	}
	return bin
}

func TestServerArgs(t *testing.T) {
	args := serverArgs(7001, "/tmp/x")
	for _, want := range [][2]string{
		{"--port", "7001"}, {"--bind", "127.0.0.1"}, {"--save", ""}, {"--appendonly", "no"},
		{"--dir", "/tmp/x"}, {"--rdbcompression", "yes"}, {"--enable-debug-command", "yes"},
	} {
		i := slices.Index(args, want[0])
		if i < 0 || i+1 >= len(args) || args[i+1] != want[1] {
			t.Errorf("args %q lack %s %q", args, want[0], want[1])
		}
	}
}

func TestFreePort(t *testing.T) {
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	if p <= 0 || p > 65535 {
		t.Fatalf("port %d", p)
	}
}

func TestStartAndStopServer(t *testing.T) {
	bin := needRedis(t)
	ctx := context.Background()
	s, err := startServer(ctx, bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(s.addr, 1)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.ConfigGet(ctx, "save").Result(); err != nil || v["save"] != "" {
		t.Fatalf("save = %q (%v), want persistence off", v["save"], err)
	}
	c.Close()
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	c = newClient(s.addr, 1)
	defer c.Close()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("server still answers after stop")
	}
}

func TestStartServerFailsForBadBinary(t *testing.T) {
	if _, err := startServer(context.Background(), "/nonexistent/redis-server", t.TempDir()); err == nil {
		t.Fatal("started a nonexistent binary")
	}
}
