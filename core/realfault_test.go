package core

import (
	"context"
	"fmt"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillway-sim/spillway/internal/redistest"
)

// startDurable starts redis-server on port with an fsync-always AOF in dir, so
// every write it acknowledged survives a SIGKILL.
func startDurable(t *testing.T, port int, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("redis-server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "yes", "--appendfsync", "always", "--dir", dir, "--protected-mode", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := redistest.Client(fmt.Sprintf("127.0.0.1:%d", port))
	defer c.Close()
	for i := 0; i < 300; i++ {
		if c.Ping(context.Background()).Err() == nil {
			return cmd
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("redis-server did not start")
	return nil
}

// TestRedisKilledMidSpill: SIGKILL a real redis-server in the middle of a spill.
// The core reports what it could not write and keeps it in memory; everything it
// reported written is on the restarted server (fsync-always AOF).
func TestRedisKilledMidSpill(t *testing.T) {
	if !redistest.Available() {
		t.Skip("redis-server not on PATH")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	port, _ := redistest.FreePort()
	dir := t.TempDir()
	srv := startDurable(t, port, dir)
	var batches atomic.Int64
	kill := hookFunc{pipeline: func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
		if _, ok := SpillWorker(ctx); ok && isTx(cmds) && batches.Add(1) == 5 {
			srv.Process.Kill() // the fifth batch meets a dead server
			srv.Wait()
		}
		return next(ctx, cmds)
	}}
	rdb := redistest.Client(fmt.Sprintf("127.0.0.1:%d", port))
	rdb.AddHook(kill)
	defer rdb.Close()
	s, _ := newStore(t, rdb, SpillBatch(100), SpillParallelism(2), Retries(2, 0))
	keys := fill(s, 0, 2000, ctxValue)
	rep, err := s.Spill(context.Background(), 0)
	if err == nil || rep.Written == 0 || rep.NotWritten == 0 || rep.Written+rep.NotWritten != 2000 {
		t.Fatalf("written %d, not written %d, err %v: want a partial spill", rep.Written, rep.NotWritten, err)
	}
	if rep.Count(ReasonUnavailable)+rep.Count(ReasonTimeout)+rep.Count(ReasonOther) != rep.NotWritten {
		t.Fatalf("reasons %v: every failure should be the dead server", rep.ByReason)
	}
	if s.Len() != rep.NotWritten {
		t.Fatalf("%d entries in memory, want exactly the %d not written", s.Len(), rep.NotWritten)
	}
	srv = startDurable(t, port, dir)
	defer func() { srv.Process.Kill(); srv.Wait() }()
	check := redistest.Client(fmt.Sprintf("127.0.0.1:%d", port))
	defer check.Close()
	kept := map[string]bool{}
	for _, k := range s.Keys(0) {
		kept[k] = true
	}
	missing := 0
	for _, k := range keys {
		if !kept[k] && check.Exists(context.Background(), "{spill:0}:"+k).Val() != 1 {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d keys reported written are not on the restarted server", missing)
	}
}
