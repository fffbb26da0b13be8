package core

// Behavior: a real redis-server (fsync-always AOF) dies in the middle of a batch
// Restore, and a retry after its restart.
//
// A Restore in take mode (the default) is two pipelines: one MGET per partition,
// then one UNLINK per partition of the keys it read; with KeepOnRestore only the
// first. Modelled faults, each against a real process, on either pipeline:
//   - before-send: the server is SIGKILLed just before the pipeline is written.
//     Redis executed nothing of it.
//   - reply-lost: the server executed the whole pipeline, then is SIGKILLed, and
//     the client reads only the first replies before the connection breaks. With
//     appendfsync always, Redis writes the AOF and fsyncs it in beforeSleep before
//     it writes any reply (server.c beforeSleep: "Write the AOF buffer on disk, must
//     be done before handleClientsWithPendingWritesUsingThreads, in case of
//     appendfsync=always"), so every write whose reply was produced is on disk:
//     UNLINKs done are durable. The cut is made by a connection wrapper that holds
//     the replies until all of them have arrived, kills the server, then delivers
//     only the first ones: a deterministic stand-in for a crash (or a network cut,
//     or a read timeout) with replies in flight.
//   - reply-lost + client retries: the same, with go-redis' own retries on (its
//     default, MaxRetries 3) and the server restarted at once: go-redis re-sends the
//     whole pipeline on a new connection (redis.go generalProcessPipelineFrom:
//     pipelineProcessCmds reports canRetry on a read error) and reads the second
//     replies over the first. MGET and UNLINK are idempotent, so the re-sent
//     pipeline finds (MGET) or removes (UNLINK) the same keys.
//
// What go-redis (v9.23) does with a reply stream that breaks: pipelineReadCmds
// keeps the replies it read and stamps the error on the rest, but
// generalProcessPipelineFrom then stamps it on every command whose error is still
// nil (setCmdsErr), the ones already read included. So the store sees the whole
// pipeline failed, whatever part of it Redis executed and answered.
//
// Not modelled: a crash between the AOF write and the fsync (the UNLINKs are then
// lost with the server and the keys stay in Redis: the safe side), replication.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

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
	cmd   []byte // the armed pipeline's command as RESP writes it ("$4\r\nmget\r\n")
	want  int    // replies the armed pipeline expects; 0: disarmed
	pass  int
	onCut func()
	fired bool
}

// arm makes the next connection that writes an MGET (a restore's reads) the
// victim: once want replies (-1: one per command of that write) have arrived,
// onCut runs and the connection delivers only the first pass of them.
func (rc *replyCutter) arm(want, pass int, onCut func()) { rc.armOn("mget", want, pass, onCut) }

// armOn is arm for the next write that carries cmd (lower case, as go-redis
// sends command names), e.g. "evalsha" for a restore's take.
func (rc *replyCutter) armOn(cmd string, want, pass int, onCut func()) {
	rc.mu.Lock()
	rc.cmd = fmt.Appendf(nil, "$%d\r\n%s\r\n", len(cmd), cmd)
	rc.want, rc.pass, rc.onCut = want, pass, onCut
	rc.mu.Unlock()
}

// claim hands the armed pipeline to the connection writing p, once.
func (rc *replyCutter) claim(p []byte) (want, pass int, onCut func(), ok bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.want == 0 || rc.fired || !bytes.Contains(p, rc.cmd) {
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

// cutDone reports whether the armed pipeline met its connection.
func (rc *replyCutter) cutDone() bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.fired
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

// newDurable starts a durable server on a free port, killed when the test ends.
func newDurable(t *testing.T) *durable {
	t.Helper()
	port, err := redistest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	d := &durable{t: t, port: port, dir: t.TempDir()}
	d.start()
	t.Cleanup(d.kill)
	return d
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

// hasCmd reports whether a pipeline carries a command named name.
func hasCmd(cmds []redis.Cmder, name string) bool {
	for _, c := range cmds {
		if c.Name() == name {
			return true
		}
	}
	return false
}

// isRestorePipe reports a restore's read pipeline (its MGETs).
func isRestorePipe(cmds []redis.Cmder) bool { return hasCmd(cmds, "mget") }

// isDeletePipe reports a take-mode restore's delete pipeline (its UNLINKs).
func isDeletePipe(cmds []redis.Cmder) bool { return isTakePipe(cmds) }

// isTakePipe reports a pipeline that runs the take script (not a claim's).
func isTakePipe(cmds []redis.Cmder) bool {
	for _, c := range cmds {
		if args := c.Args(); len(args) > 1 && (args[1] == takeScript.Hash() || args[1] == takeSource) {
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
// redis-server that is SIGKILLed in the middle of the batch Restore, on its reads
// (MGET) or, in take mode, on its deletes (UNLINK), then restarted; a retry
// restores what is left. No key is ever lost (neither in memory nor in Redis):
// a fault on the reads leaves every key in Redis and reports it failed, or
// restored when go-redis re-sends the MGETs itself; a fault on the deletes leaves
// the keys restored in memory, reports those whose delete was not confirmed in
// RestoreReport.Undeleted with an error, and any copy left behind in Redis keeps
// its TTL.
func TestRedisKilledMidRestore(t *testing.T) {
	if !redistest.Available() {
		t.Skip("redis-server not on PATH")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	const parts, perPart = 4, 100
	const total = parts * perPart
	const ttl = 3 * time.Minute // newStore's
	for _, tc := range []struct {
		name    string
		keep    bool
		stage   string // the pipeline that meets the fault: "mget" (reads) or "evalsha" (the take script's deletes)
		fault   restoreFault
		pass    int  // replies delivered before the cut (one per partition: 4)
		retries int  // go-redis MaxRetries (-1: none, as the store's tests configure it)
		restart bool // restart the server at the cut, before go-redis retries
		// first Restore:
		restored, failed, undeleted int
		wantErr                     bool
		removed                     int // keys no longer in Redis after it
	}{
		{name: "take/before-send", stage: "mget", fault: faultBeforeSend, retries: -1, failed: total, wantErr: true},
		{name: "keep/before-send", keep: true, stage: "mget", fault: faultBeforeSend, retries: -1, failed: total, wantErr: true},
		// go-redis stamps the read error on every MGET, the 2 whose replies it read
		// included: all failed, all still in Redis (nothing was deleted).
		{name: "take/reply-lost", stage: "mget", fault: faultReplyLost, pass: 2, retries: -1, failed: total, wantErr: true},
		{name: "keep/reply-lost", keep: true, stage: "mget", fault: faultReplyLost, pass: 2, retries: -1,
			failed: total, wantErr: true},
		// go-redis re-sends the MGETs to the restarted server and reads the values
		// again: all restored, then deleted, no error.
		{name: "take/reply-lost/client-retries", stage: "mget", fault: faultReplyLost, pass: 2, retries: 3, restart: true,
			restored: total, removed: total},
		{name: "keep/reply-lost/client-retries", keep: true, stage: "mget", fault: faultReplyLost, pass: 2, retries: 3,
			restart: true, restored: total},
		// The server dies between the reads and the deletes: the values are in
		// memory, every key is still in Redis, and the report says so.
		{name: "take/delete-before-send", stage: "evalsha", fault: faultBeforeSend, retries: -1,
			restored: total, undeleted: total, wantErr: true},
		// Redis executed the UNLINKs but the store cannot know: Undeleted counts
		// deletes not confirmed, an upper bound of the copies left.
		{name: "take/delete-reply-lost", stage: "evalsha", fault: faultReplyLost, pass: 2, retries: -1,
			restored: total, undeleted: total, wantErr: true, removed: total},
		// go-redis re-sends the UNLINKs, which find nothing left to delete: confirmed.
		{name: "take/delete-reply-lost/client-retries", stage: "evalsha", fault: faultReplyLost, pass: 2, retries: 3,
			restart: true, restored: total, removed: total},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			srv := newDurable(t)

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
				if !hasCmd(cmds, tc.stage) {
					return next(ctx, cmds)
				}
				if pipes++; pipes == 1 {
					switch tc.fault {
					case faultBeforeSend:
						srv.kill()
					case faultReplyLost:
						rc.armOn(tc.stage, len(cmds), tc.pass, func() {
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
			if pipes != 1 || (tc.fault == faultReplyLost) != rc.cutDone() {
				t.Fatalf("%d %s pipelines, reply cut %v: the fault did not happen as armed", pipes, tc.stage, rc.cutDone())
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("Restore error %v, want error %v", err, tc.wantErr)
			}
			if rep.Keys != total || rep.Restored != tc.restored || rep.Failed != tc.failed || rep.Missing != 0 ||
				rep.Undeleted != tc.undeleted || rep.Restored+rep.Failed != total {
				t.Fatalf("first restore: restored %d, failed %d, missing %d, undeleted %d of %d; want %d, %d, 0, %d",
					rep.Restored, rep.Failed, rep.Missing, rep.Undeleted, rep.Keys, tc.restored, tc.failed, tc.undeleted)
			}
			checkRestored(t, s2, refs, rep)
			if !tc.restart { // the server is down: a single-key restore fails too, without panic
				if v, o, err := s2.GetOrRestore(ctx, 3, "never-spilled"); err == nil || o != OutcomeFailed || v != nil {
					t.Fatalf("GetOrRestore with the server down = %q, %v, %v; want failed with an error", v, o, err)
				}
				srv.start()
			}

			// After the restart, what Redis still holds plus what is in memory is the
			// spilled set: no key is lost. A restored key left in Redis is counted in
			// Undeleted, and expires.
			check := redistest.Client(srv.addr())
			defer check.Close()
			redisKey := func(r KeyRef) string { return fmt.Sprintf("{spill:%d}:%s", r.Partition, r.Key) }
			inRedis := func() map[KeyRef]bool {
				out := map[KeyRef]bool{}
				for _, r := range refs {
					if d := check.PTTL(ctx, redisKey(r)).Val(); d > 0 {
						if d > ttl {
							t.Fatalf("%v left in Redis with TTL %v, more than %v", r, d, ttl)
						}
						out[r] = true
					} else if d != -2 { // go-redis returns PTTL's -2 (no such key) and -1 (no TTL) as is
						t.Fatalf("%v in Redis without a TTL (PTTL %v)", r, d)
					}
				}
				return out
			}
			left := inRedis()
			lost, restoredLeft := 0, 0
			for i, r := range refs {
				local := rep.Outcomes[i] == OutcomeRestored
				switch {
				case !local && !left[r]:
					lost++
				case local && left[r]:
					restoredLeft++
				}
			}
			if lost != 0 {
				t.Fatalf("%d keys are neither restored nor in Redis", lost)
			}
			if removed := total - len(left); removed != tc.removed || (tc.keep && removed != 0) {
				t.Fatalf("%d keys removed from Redis, want %d (keep %v)", removed, tc.removed, tc.keep)
			}
			if !tc.keep && restoredLeft > rep.Undeleted {
				t.Fatalf("%d restored keys left in Redis, only %d reported undeleted", restoredLeft, rep.Undeleted)
			}

			// A retry on the same client restores the rest: the union is the spilled set.
			var again []KeyRef
			for i, r := range refs {
				if rep.Outcomes[i] != OutcomeRestored {
					again = append(again, r)
				}
			}
			rep2, err := s2.Restore(ctx, again)
			if err != nil || rep2.Restored != len(again) || rep2.Undeleted != 0 {
				t.Fatalf("retry: restored %d of %d, undeleted %d, err %v", rep2.Restored, len(again), rep2.Undeleted, err)
			}
			checkRestored(t, s2, again, rep2)
			if s2.Len() != total {
				t.Fatalf("%d keys in memory after the retry, want %d", s2.Len(), total)
			}
			// Redis holds what the first Restore could not delete (take), or everything (keep).
			wantLeft := total - tc.removed - len(again)
			if tc.keep {
				wantLeft = total
			}
			if n := len(inRedis()); n != wantLeft {
				t.Fatalf("%d keys in Redis after the retry, want %d", n, wantLeft)
			}
			// Those copies are never read again by this owner: its keys are local.
			if rep3, err := s2.Restore(ctx, refs); err != nil || rep3.Local != total {
				t.Fatalf("restore of keys in memory: %+v, %v; want all local", rep3, err)
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

// TestRestoreLostReplyLosesNoKey is the take mode's safety invariant: a Restore
// whose replies are lost after Redis executed the pipeline (reads or deletes),
// with or without go-redis' own retries, leaves every key it did not install in
// memory in Redis, counts every restored key it may have left in Redis as
// undeleted, and returns an error whenever it reports a failure or an undeleted key.
func TestRestoreLostReplyLosesNoKey(t *testing.T) {
	if !redistest.Available() || testing.Short() {
		t.Skip("needs redis-server, not -short")
	}
	const parts, perPart = 4, 25
	for _, stage := range []string{"mget", "evalsha"} {
		for _, retries := range []int{-1, 3} {
			t.Run(fmt.Sprintf("%s/client-retries=%d", stage, retries), func(t *testing.T) {
				ctx := context.Background()
				srv := newDurable(t)
				old := redistest.Client(srv.addr())
				defer old.Close()
				s1, _ := newStore(t, old)
				refs := fillParts(s1, parts, perPart)
				if _, err := s1.SpillAll(ctx); err != nil {
					t.Fatal(err)
				}
				rc := &replyCutter{}
				rdb := redis.NewClient(&redis.Options{Addr: srv.addr(), DisableIdentity: true, MaxRetries: retries,
					MaintNotificationsConfig: noMaint, Dialer: rc.dial})
				defer rdb.Close()
				if err := rdb.Ping(ctx).Err(); err != nil {
					t.Fatal(err)
				}
				rc.armOn(stage, -1, 1, func() { srv.kill(); srv.start() })
				s2, _ := newStore(t, rdb)
				rep, err := s2.Restore(ctx, refs)
				if !rc.cutDone() {
					t.Fatalf("no %s pipeline was cut", stage)
				}
				checkRestored(t, s2, refs, rep)
				check := redistest.Client(srv.addr())
				defer check.Close()
				var lost []string
				restoredLeft := 0
				for i, r := range refs {
					in := check.Exists(ctx, fmt.Sprintf("{spill:%d}:%s", r.Partition, r.Key)).Val() == 1
					switch restored := rep.Outcomes[i] == OutcomeRestored; {
					case !restored && !in:
						lost = append(lost, r.Key)
					case restored && in:
						restoredLeft++
					}
				}
				t.Logf("restored %d, failed %d, missing %d, undeleted %d, err %v", rep.Restored, rep.Failed,
					rep.Missing, rep.Undeleted, err)
				if len(lost) > 0 {
					t.Fatalf("%d of %d keys lost (not restored, no longer in Redis): %v", len(lost), len(refs),
						lost[:min(3, len(lost))])
				}
				if rep.Missing != 0 || rep.Restored+rep.Failed != len(refs) {
					t.Fatalf("report %+v: every key was spilled, each must be restored or failed", rep)
				}
				if restoredLeft > rep.Undeleted {
					t.Fatalf("%d restored keys left in Redis, %d reported undeleted", restoredLeft, rep.Undeleted)
				}
				if (err != nil) != (rep.Failed+rep.Undeleted > 0) {
					t.Fatalf("error %v with %d failed and %d undeleted", err, rep.Failed, rep.Undeleted)
				}
			})
		}
	}
}
