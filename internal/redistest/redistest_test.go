package redistest

import (
	"context"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	Shutdown()
	os.Exit(code)
}

func TestSharedServerAnswers(t *testing.T) {
	addr, ok := Shared(t)
	if !ok {
		t.Skip("redis-server not installed")
	}
	c := Client(addr)
	defer c.Close()
	if err := c.Set(context.Background(), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got := c.Get(context.Background(), "k").Val(); got != "v" {
		t.Fatalf("GET = %q", got)
	}
	addr2, _ := Shared(t)
	if addr2 != addr {
		t.Fatal("Shared started a second server")
	}
}

func TestFreePort(t *testing.T) {
	p, err := FreePort()
	if err != nil || p <= 0 {
		t.Fatalf("FreePort = %d, %v", p, err)
	}
}
