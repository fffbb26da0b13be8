package core

// Behavior: a real redis-server (fsync-always AOF) dies in the middle of a batch
// Restore, and a retry after its restart.
//
// Modelled faults, each against a real process:
//   - before-send: the server is SIGKILLed just before the restore pipeline is
//     written. Redis executed nothing.
//   - reply-lost: the server executed the whole pipeline, then is SIGKILLed, and
//     the client reads only the first replies before the connection breaks. With
//     appendfsync always, Redis writes the AOF and fsyncs it in beforeSleep before
//     it writes any reply (server.c beforeSleep: "Write the AOF buffer on disk, must
//     be done before handleClientsWithPendingWritesUsingThreads, in case of
//     appendfsync=always"), so every command whose reply was produced is on disk:
//     GETDELs done are durable. The cut is made by a connection wrapper that holds
//     the replies until all of them have arrived, kills the server, then delivers
//     only the first ones: a deterministic stand-in for a crash (or a network cut,
//     or a read timeout) with replies in flight.
//   - reply-lost + client retries: the same, with go-redis' own retries on (its
//     default, MaxRetries 3) and the server restarted at once: go-redis re-sends the
//     whole pipeline on a new connection (redis.go generalProcessPipelineFrom:
//     pipelineProcessCmds reports canRetry on a read error) and reads the second
//     replies over the first.
//
// What go-redis (v9.23) does with a reply stream that breaks: pipelineReadCmds
// keeps the replies it read and stamps the error on the rest, but
// generalProcessPipelineFrom then stamps it on every command whose error is still
// nil (setCmdsErr), the ones already read included. So the store sees the whole
// pipeline failed, whatever part of it Redis executed and answered.
//
// Not modelled: a crash between the AOF write and the fsync (the commands are then
// lost with the server and the keys stay in Redis: the safe side), replication.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/spillway-sim/spillway/internal/redistest"
)

// respEnd returns the offset just past the RESP2/RESP3 reply that starts at b[i],
// or false when b does not hold all of it yet.
func respEnd(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	nl := bytes.Index(b[i:], []byte("\r\n"))
	if nl < 0 {
		return 0, false
	}
	line, next := b[i+1:i+nl], i+nl+2
	switch b[i] {
	case '$', '!', '=': // bulk string, bulk error, verbatim string
		n, err := strconv.Atoi(string(line))
		if err != nil {
			panic(fmt.Sprintf("respEnd: bad bulk length %q", line))
		}
		if n < 0 {
			return next, true
		}
		if len(b) < next+n+2 {
			return 0, false
		}
		return next + n + 2, true
	case '*', '~', '>', '%', '|': // array, set, push, map, attribute
		n, err := strconv.Atoi(string(line))
		if err != nil {
			panic(fmt.Sprintf("respEnd: bad aggregate length %q", line))
		}
		if b[i] == '%' || b[i] == '|' {
			n *= 2
		}
		for range max(n, 0) {
			var ok bool
			if next, ok = respEnd(b, next); !ok {
				return 0, false
			}
		}
		return next, true
	default: // +simple -error :int _null ,double #bool (bignum
		return next, true
	}
}

// replyCutter breaks the connection that carries the next armed pipeline after
// its replies have all arrived: it calls onCut (kill the server), delivers the
// first pass replies and then fails every read with end of file.
type replyCutter struct {
	mu    sync.Mutex
	want  int // replies the armed pipeline expects; 0: disarmed
	pass  int
	onCut func()
	fired bool
}

// arm makes the next connection that writes a GETDEL or MGET the victim: once
// want replies (-1: one per command of that write) have arrived, onCut runs and the
// connection delivers only the first pass of them.
func (rc *replyCutter) arm(want, pass int, onCut func()) {
	rc.mu.Lock()
	rc.want, rc.pass, rc.onCut = want, pass, onCut
	rc.mu.Unlock()
}

// claim hands the armed pipeline to the connection writing p, once.
func (rc *replyCutter) claim(p []byte) (want, pass int, onCut func(), ok bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.want == 0 || rc.fired || !(bytes.Contains(p, []byte("getdel")) || bytes.Contains(p, []byte("mget"))) {
		return 0, 0, nil, false
	}
	rc.fired = true
	want = rc.want
	if want < 0 { // as many replies as the write carries commands
		want = 0
		for end, ok := respEnd(p, 0); ok; end, ok = respEnd(p, end) {
			want++
		}
	}
	return want, rc.pass, rc.onCut, true
}

func (rc *replyCutter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &cutConn{Conn: c, rc: rc}, nil
}

type cutConn struct {
	net.Conn
	rc      *replyCutter
	victim  bool
	want    int
	pass    int
	onCut   func()
	held    []byte
	deliver []byte
	cut     bool
}

// errCut is what a read returns once the server process is gone: its kernel closed
// the socket (FIN), so the client reads end of file.
var errCut = io.EOF

func (c *cutConn) Write(p []byte) (int, error) {
	if c.cut {
		return 0, errCut
	}
	if !c.victim {
		c.want, c.pass, c.onCut, c.victim = c.rc.claim(p)
	}
	return c.Conn.Write(p)
}

func (c *cutConn) Read(p []byte) (int, error) {
	if !c.victim {
		return c.Conn.Read(p)
	}
	if !c.cut {
		buf := make([]byte, 64<<10)
		for {
			end, n := 0, 0
			for ; n < c.want; n++ {
				e, ok := respEnd(c.held, end)
				if !ok {
					break
				}
				end = e
				if n+1 == c.pass {
					c.deliver = c.held[:end]
				}
			}
			if n == c.want {
				break
			}
			k, err := c.Conn.Read(buf)
			c.held = append(c.held, buf[:k]...)
			if err != nil {
				return 0, err
			}
		}
		c.cut = true
		c.onCut()
	}
	if len(c.deliver) == 0 {
		return 0, errCut
	}
	n := copy(p, c.deliver)
	c.deliver = c.deliver[n:]
	return n, nil
}

// durable is a restartable fsync-always redis-server on a fixed port and dir.
type durable struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
}

func (d *durable) addr() string { return fmt.Sprintf("127.0.0.1:%d", d.port) }

func (d *durable) kill() {
	if d.cmd != nil {
		d.cmd.Process.Kill()
		d.cmd.Wait()
		d.cmd = nil
	}
}

func (d *durable) start() { d.cmd = startDurable(d.t, d.port, d.dir) }

// isRestorePipe reports the restore pipeline (GETDEL or MGET).
func isRestorePipe(cmds []redis.Cmder) bool {
	for _, c := range cmds {
		if n := c.Name(); n == "getdel" || n == "mget" {
			return true
		}
	}
	return false
}

type restoreFault uint8

const (
	faultBeforeSend restoreFault = iota // killed before the pipeline is written
	faultReplyLost                      // killed after executing it, replies past pass lost
)

// TestRedisKilledMidRestore: a new owner restores a spilled set from a durable
// redis-server that is SIGKILLed in the middle of the batch Restore, then restarted;
// a retry restores what is left. With KeepOnRestore (MGET) nothing can be lost.
// With take mode (GETDEL, the default) every key whose reply is lost after Redis
// executed its GETDEL is gone: the report says failed (or, when go-redis retries the
// pipeline itself, missing), it is not in memory, and it is no longer in Redis.
func TestRedisKilledMidRestore(t *testing.T) {
	if !redistest.Available() {
		t.Skip("redis-server not on PATH")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	const parts, perPart = 4, 100
	const total = parts * perPart
	for _, tc := range []struct {
		name    string
		keep    bool
		fault   restoreFault
		pass    int  // replies delivered before the cut (a GETDEL each; an MGET per partition)
		retries int  // go-redis MaxRetries (-1: none, as the store's tests configure it)
		restart bool // restart the server at the cut, before go-redis retries
		// first Restore:
		restored, failed, missing int
		wantErr                   bool
		lost                      int // keys neither in memory nor in Redis after the first Restore
	}{
		{name: "take/before-send", fault: faultBeforeSend, retries: -1, failed: total, wantErr: true},
		{name: "keep/before-send", keep: true, fault: faultBeforeSend, retries: -1, failed: total, wantErr: true},
		// KNOWN LOSS (take mode): go-redis stamps the read error on every command of
		// the pipeline, the 150 whose replies it did read included, so the store
		// reports all 400 failed, installs none, and Redis deleted them all. See
		// TestRestoreLostReplyLosesNoKey.
		{name: "take/reply-lost", fault: faultReplyLost, pass: 150, retries: -1,
			failed: total, wantErr: true, lost: total},
		{name: "keep/reply-lost", keep: true, fault: faultReplyLost, pass: 2, retries: -1,
			failed: total, wantErr: true},
		// KNOWN LOSS (take mode): go-redis re-sends the GETDELs and reads nil over the
		// values it had: the whole batch is reported missing, with no error.
		{name: "take/reply-lost/client-retries", fault: faultReplyLost, pass: 150, retries: 3, restart: true,
			missing: total, lost: total},
		{name: "keep/reply-lost/client-retries", keep: true, fault: faultReplyLost, pass: 2, retries: 3, restart: true,
			restored: total},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			port, err := redistest.FreePort()
			if err != nil {
				t.Fatal(err)
			}
			srv := &durable{t: t, port: port, dir: t.TempDir()}
			srv.start()
			defer srv.kill()

			// The old owner spills every partition.
			old := redistest.Client(srv.addr())
			defer old.Close()
			s1, _ := newStore(t, old)
			var refs []KeyRef
			for p := range int32(parts) {
				for _, k := range fill(s1, p, perPart, ctxValue) {
					refs = append(refs, KeyRef{p, k})
				}
			}
			if rep, err := s1.SpillAll(ctx); err != nil || rep.Written != total {
				t.Fatalf("spill: %+v, %v", rep, err)
			}

			// The new owner restores them through a client whose restore pipeline meets the fault.
			rc := &replyCutter{}
			// One dial attempt per connection (go-redis default: 5, 100 ms apart): a
			// dead server fails a restore in milliseconds.
			rdb := redis.NewClient(&redis.Options{Addr: srv.addr(), DisableIdentity: true, MaxRetries: tc.retries,
				MaintNotificationsConfig: noMaint, Dialer: rc.dial, DialerRetries: 1})
			defer rdb.Close()
			var pipes int
			rdb.AddHook(hookFunc{pipeline: func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
				if !isRestorePipe(cmds) {
					return next(ctx, cmds)
				}
				if pipes++; pipes == 1 {
					switch tc.fault {
					case faultBeforeSend:
						srv.kill()
					case faultReplyLost:
						rc.arm(len(cmds), tc.pass, func() {
							srv.kill()
							if tc.restart {
								srv.start()
							}
						})
					}
				}
				return next(ctx, cmds)
			}})
			if err := rdb.Ping(ctx).Err(); err != nil { // a pooled connection: the fault hits the pipeline, not the handshake
				t.Fatal(err)
			}
			s2, _ := newStore(t, rdb, KeepOnRestore(tc.keep))
			rep, err := s2.Restore(ctx, refs)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Restore error %v, want error %v", err, tc.wantErr)
			}
			if rep.Keys != total || rep.Restored != tc.restored || rep.Failed != tc.failed || rep.Missing != tc.missing ||
				rep.Restored+rep.Failed+rep.Missing != total {
				t.Fatalf("first restore: restored %d, failed %d, missing %d of %d; want %d, %d, %d",
					rep.Restored, rep.Failed, rep.Missing, rep.Keys, tc.restored, tc.failed, tc.missing)
			}
			checkRestored(t, s2, refs, rep)
			if !tc.restart { // the server is down: a single-key restore fails too, without panic
				if v, o, err := s2.GetOrRestore(ctx, 3, "dp:000099"); err == nil || o != OutcomeFailed || v != nil {
					t.Fatalf("GetOrRestore with the server down = %q, %v, %v; want failed with an error", v, o, err)
				}
			}

			// After the restart, what Redis still holds plus what is in memory is the
			// spilled set, but for the lost keys.
			if !tc.restart {
				srv.start()
			}
			check := redistest.Client(srv.addr())
			defer check.Close()
			inRedis := map[KeyRef]bool{}
			for _, r := range refs {
				if check.Exists(ctx, fmt.Sprintf("spill:{%d}:%s", r.Partition, r.Key)).Val() == 1 {
					inRedis[r] = true
				}
			}
			lost, removed := 0, 0
			for i, r := range refs {
				local := rep.Outcomes[i] == OutcomeRestored
				if !local && !inRedis[r] {
					lost++
				}
				if !inRedis[r] {
					removed++
				}
			}
			if lost != tc.lost {
				t.Fatalf("%d keys are neither restored nor in Redis, want %d", lost, tc.lost)
			}
			if wantRemoved := map[bool]int{true: 0, false: tc.restored + tc.lost}[tc.keep]; removed != wantRemoved {
				t.Fatalf("%d keys removed from Redis, want %d (restored %d, lost %d, keep %v)",
					removed, wantRemoved, tc.restored, tc.lost, tc.keep)
			}

			// A retry on the same client restores the rest: the union is the spilled
			// set, less the lost keys.
			var again []KeyRef
			for i, r := range refs {
				if rep.Outcomes[i] != OutcomeRestored {
					again = append(again, r)
				}
			}
			rep2, err := s2.Restore(ctx, again)
			if err != nil || rep2.Restored != len(again)-tc.lost || rep2.Missing != tc.lost {
				t.Fatalf("retry: restored %d, missing %d of %d, err %v; want %d restored",
					rep2.Restored, rep2.Missing, len(again), err, len(again)-tc.lost)
			}
			checkRestored(t, s2, again, rep2)
			if s2.Len() != total-tc.lost {
				t.Fatalf("%d keys in memory after the retry, want %d", s2.Len(), total-tc.lost)
			}
		})
	}
}

// checkRestored fails unless every key reported restored holds its spilled value
// and every other key is absent from memory.
func checkRestored(t *testing.T, s *Store[[]byte], refs []KeyRef, rep *RestoreReport) {
	t.Helper()
	for i, r := range refs {
		v, ok := s.Get(r.Partition, r.Key)
		switch o := rep.Outcomes[i]; {
		case o == OutcomeRestored && !ok:
			t.Fatalf("%v reported restored, not in memory", r)
		case o == OutcomeRestored:
			n, _ := strconv.Atoi(r.Key[len("dp:"):])
			if want := ctxValue(r.Partition, n); !bytes.Equal(v, want) {
				t.Fatalf("%v restored as %q, want %q", r, v, want)
			}
		case o != OutcomeLocal && ok:
			t.Fatalf("%v reported %v, yet in memory", r, o)
		}
	}
}

// TestRestoreLostReplyLosesNoKey is the invariant the take mode breaks today: a
// Restore whose replies are lost after Redis executed it must leave every key it
// did not install in memory somewhere (in Redis). It fails with GETDEL (the
// default): set SPILLWAY_KNOWN_BUGS=1 to run it.
func TestRestoreLostReplyLosesNoKey(t *testing.T) {
	if os.Getenv("SPILLWAY_KNOWN_BUGS") == "" {
		t.Skip("known loss in take mode (GETDEL): set SPILLWAY_KNOWN_BUGS=1 to run")
	}
	if !redistest.Available() || testing.Short() {
		t.Skip("needs redis-server, not -short")
	}
	for _, retries := range []int{-1, 3} {
		t.Run(fmt.Sprintf("client-retries=%d", retries), func(t *testing.T) {
			ctx := context.Background()
			port, _ := redistest.FreePort()
			srv := &durable{t: t, port: port, dir: t.TempDir()}
			srv.start()
			defer srv.kill()
			old := redistest.Client(srv.addr())
			defer old.Close()
			s1, _ := newStore(t, old)
			var refs []KeyRef
			for _, k := range fill(s1, 0, 100, ctxValue) {
				refs = append(refs, KeyRef{0, k})
			}
			if _, err := s1.SpillAll(ctx); err != nil {
				t.Fatal(err)
			}
			rc := &replyCutter{}
			rdb := redis.NewClient(&redis.Options{Addr: srv.addr(), DisableIdentity: true, MaxRetries: retries,
				MaintNotificationsConfig: noMaint, Dialer: rc.dial})
			defer rdb.Close()
			rdb.Ping(ctx)
			rc.arm(len(refs), 10, func() { srv.kill(); srv.start() })
			s2, _ := newStore(t, rdb)
			rep, _ := s2.Restore(ctx, refs)
			check := redistest.Client(srv.addr())
			defer check.Close()
			var lost []string
			for i, r := range refs {
				if rep.Outcomes[i] != OutcomeRestored && check.Exists(ctx, "spill:{0}:"+r.Key).Val() == 0 {
					lost = append(lost, r.Key)
				}
			}
			if len(lost) > 0 {
				t.Fatalf("%d of %d keys lost (not restored, no longer in Redis; report: restored %d, failed %d, missing %d): %v",
					len(lost), len(refs), rep.Restored, rep.Failed, rep.Missing, lost[:min(3, len(lost))])
			}
		})
	}
}
