package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Behavior: how one batch of one partition reaches Redis.
//
//   - Plain (Fencing(false)): one pipeline of SETs with PX (plus the manifest's
//     SADD and PEXPIRE), one round trip.
//   - Fenced (the default): on one connection of the partition's node (each
//     spill worker keeps one per node: session), WATCH the fence and GET it; unless
//     it holds a newer generation, MULTI, the same SETs, EXEC. The WATCH and GET of
//     the worker's next batch ride in the same pipeline as this batch's EXEC, so a
//     worker's n batches cost n+1 round trips, as plain pipelines cost n. Every
//     WATCH is preceded by UNWATCH (an interrupted transaction may have left one).
//     The batch never writes the fence (fence.go); one it finds missing is noted
//     for the next spill's claim. When the watched fence changed in between (a
//     claim), EXEC answers nil and the batch is tried again from the WATCH, at
//     most watchRetries times.
//   - WaitReplicas: after the writes, WAIT n timeout on the same connection; the
//     entries count as written only when enough replicas acknowledged them.
//
// The partition's node is found with the client's own routing (ClusterClient
// MasterForKey, Ring GetShardClientForKey) so that WATCH, MULTI/EXEC and WAIT run
// on one connection to the server that owns the keys; any other client type runs
// the transaction through its Watch, which sends WATCH on its own (one more round
// trip). A MOVED or ASK reply (a slot moving) is retryable: the slot map is
// reloaded and the batch tried again; the keys of a batch share one slot, so a
// migration that has moved some of them answers TRYAGAIN until it completes, and
// the entries then stay in memory and are reported (ReasonUnavailable).

const watchRetries = 4

// write is one send of a batch: the pending items' SET commands, built without a
// heap object per key beyond what go-redis needs (the command and its boxed key
// and value): the Redis keys are those collect laid out (redisKeys), the
// arguments of all SETs share one slice, the slices of commands are the
// worker's (session: reused by its next send; go-redis is done with them when a
// send returns), and one boxed TTL serves every key with the same TTL. The
// arguments are exactly those go-redis's Set builds (set, key, value, then ex
// seconds for whole seconds or px milliseconds, nothing for Persist), so the
// wire and what hooks see are unchanged.
type write[V any] struct {
	b       *spillBatch[V]
	sess    *session
	pending []int
	sets    [][]any // the arguments of each pending item's SET
	mttl    int64   // manifest TTL in ms (0: no manifest)
}

const setArgs = 5 // set key value ex|px ttl

func (s *Store[V]) newWrite(sess *session, b *spillBatch[V], pending []int, buf []byte, offs []int) *write[V] {
	n := len(pending)
	if cap(sess.args) < setArgs*n {
		sess.args = make([]any, setArgs*n)
	}
	if cap(sess.sets) < n {
		sess.sets = make([][]any, n)
	}
	w := &write[V]{b: b, sess: sess, pending: pending, sets: sess.sets[:n]}
	args := sess.args[:setArgs*n]
	var lastTTL time.Duration = -1
	var unit, ttl any // boxed once per distinct TTL (in a row)
	for k, i := range pending {
		d := time.Duration(ttlArg(s.ttlOf(b.p, b.items[i].key))) * time.Millisecond
		if s.cfg.manifest {
			w.mttl = max(w.mttl, d.Milliseconds())
		}
		a := args[setArgs*k : setArgs*k+3 : setArgs*k+setArgs]
		a[0], a[1], a[2] = "set", b.items[i].rkey, buf[offs[i]:offs[i+1]]
		if d > 0 {
			if d != lastTTL {
				lastTTL = d
				if d%time.Second != 0 { // as go-redis's Set: px unless whole seconds
					unit, ttl = "px", int64(d/time.Millisecond)
				} else {
					unit, ttl = "ex", int64(d/time.Second)
				}
			}
			a = append(a, unit, ttl)
		}
		w.sets[k] = a
	}
	return w
}

// queue adds the batch's writes to pipe: a SET per entry, then the manifest.
// Inside a hand-written MULTI (queued), every reply before EXEC is +QUEUED, so
// the manifest commands are read as status replies there.
func (s *Store[V]) queue(ctx context.Context, pipe redis.Pipeliner, w *write[V], queued bool) []*redis.StatusCmd {
	ss := w.sess
	n := len(w.sets)
	if cap(ss.cmds) < n {
		ss.cmds, ss.cmders = make([]*redis.StatusCmd, n), make([]redis.Cmder, n)
	}
	cmds, all := ss.cmds[:n], ss.cmders[:n]
	for k, a := range w.sets {
		cmds[k] = redis.NewStatusCmd(ctx, a...)
		all[k] = cmds[k]
	}
	_ = pipe.BatchProcess(ctx, all...) // one append, not one per command
	if w.mttl > 0 {
		mk := s.metaKey(w.b.p, "keys")
		args := make([]any, 0, 2+len(w.pending))
		args = append(args, "sadd", mk)
		for _, i := range w.pending {
			args = append(args, w.b.items[i].key)
		}
		if queued {
			_ = pipe.Process(ctx, redis.NewStatusCmd(ctx, args...))
			_ = pipe.Process(ctx, redis.NewStatusCmd(ctx, "pexpire", mk, w.mttl))
		} else {
			_ = pipe.Process(ctx, redis.NewIntCmd(ctx, args...))
			pipe.PExpire(ctx, mk, time.Duration(w.mttl)*time.Millisecond)
		}
	}
	return cmds
}

// record sets each pending item's status from its SET's reply and returns the
// first error.
func (w *write[V]) record(cmds []*redis.StatusCmd) error {
	b := w.b
	var first error
	for k, i := range w.pending {
		if cerr := cmds[k].Err(); cerr != nil && !errors.Is(cerr, redis.Nil) {
			b.status[i] = Classify(cerr)
			if first == nil {
				first = fmt.Errorf("core: spilling %q of partition %d: %w", b.items[i].key, b.p, cerr)
			}
		}
	}
	return first
}

// failAll gives every pending item reason r.
func (w *write[V]) failAll(r Reason) {
	for _, i := range w.pending {
		w.b.status[i] = r
	}
}

func (s *Store[V]) sendPlain(ctx context.Context, sess *session, w *write[V]) error {
	if s.cfg.waitReplicas > 0 {
		conn, err := sess.conn(ctx, s.rdb, s.metaKey(w.b.p, "fence"))
		if err != nil {
			return w.noNode(err)
		}
		var cmds []*redis.StatusCmd
		wait := s.waitCmd(ctx)
		_, err = conn.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			cmds = s.queue(ctx, pipe, w, false)
			return pipe.Process(ctx, wait)
		})
		sess.discard(conn, err)
		if first := w.record(cmds); first != nil {
			return first
		}
		return s.checkWait(w, wait)
	}
	var cmds []*redis.StatusCmd
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		cmds = s.queue(ctx, pipe, w, false)
		return nil
	})
	first := w.record(cmds)
	if first == nil && err != nil && !errors.Is(err, redis.Nil) {
		// Only the manifest commands failed: the entries were written.
		first = fmt.Errorf("core: manifest of partition %d: %w", w.b.p, err)
	}
	return first
}

// waitCmd is WAIT numreplicas timeout-ms.
func (s *Store[V]) waitCmd(ctx context.Context) *redis.IntCmd {
	return redis.NewIntCmd(ctx, "wait", s.cfg.waitReplicas, s.cfg.waitTimeout.Milliseconds())
}

// checkWait turns a WAIT reply into the batch's outcome.
func (s *Store[V]) checkWait(w *write[V], wait *redis.IntCmd) error {
	n, werr := wait.Result()
	if werr == nil && n >= int64(s.cfg.waitReplicas) {
		return nil
	}
	if werr == nil {
		werr = fmt.Errorf("core: %d of %d replicas acknowledged within %v", n, s.cfg.waitReplicas, s.cfg.waitTimeout)
		w.failAll(ReasonNotReplicated)
	} else {
		w.failAll(Classify(werr))
	}
	return fmt.Errorf("core: partition %d: %w", w.b.p, werr)
}

// aborted fails a transaction that did not run: all or nothing. A queued
// command's error (OOM, MISCONF, ASK) says why EXEC aborted; otherwise err does
// (EXEC's, or the connection's).
func (w *write[V]) aborted(err error, cmds []*redis.StatusCmd) error {
	cause := err
	for _, c := range cmds {
		if c.Err() != nil && !strings.HasPrefix(c.Err().Error(), "EXECABORT") {
			cause = c.Err()
			break
		}
	}
	w.failAll(Classify(cause))
	return fmt.Errorf("core: spilling %d keys of partition %d: %w", len(w.pending), w.b.p, cause)
}

// noNode fails the batch when the partition's node cannot be found (a slot map
// being reloaded): retryable.
func (w *write[V]) noNode(err error) error {
	r := Classify(err)
	if r == ReasonOther {
		r = ReasonUnavailable
	}
	w.failAll(r)
	return fmt.Errorf("core: partition %d: no node: %w", w.b.p, err)
}

// session is one spill worker's connections: one per node it wrote to, each
// holding at most one WATCH, and the fence read it issued ahead for its next
// batch (prefetch), so that a fenced batch costs one round trip, not two.
type session struct {
	// The current send's SET arguments, per SET, and commands (newWrite, queue).
	args     []any
	sets     [][]any
	cmds     []*redis.StatusCmd
	cmders   []redis.Cmder
	conns    map[*redis.Client]*redis.Conn
	watching map[*redis.Conn]bool // a WATCH may be active on the connection
	// The WATCH and GET of the next batch's fence, sent with this batch's EXEC.
	aheadConn  *redis.Conn
	aheadFence string
	aheadGet   *redis.StringCmd
}

// nodeOf finds the client of the node that owns key (nil: the client type has
// no way to say; use its Watch).
func nodeOf(ctx context.Context, rdb redis.UniversalClient, key string) (*redis.Client, error) {
	switch c := rdb.(type) {
	case *redis.Client:
		return c, nil
	case *redis.ClusterClient:
		return c.MasterForKey(ctx, key)
	case *redis.Ring:
		return c.GetShardClientForKey(key)
	}
	return nil, nil
}

// conn returns the session's connection to the node owning key, or (nil, nil)
// when the client type cannot name the node.
func (ss *session) conn(ctx context.Context, rdb redis.UniversalClient, key string) (*redis.Conn, error) {
	node, err := nodeOf(ctx, rdb, key)
	if err != nil || node == nil {
		return nil, err
	}
	if c := ss.conns[node]; c != nil {
		return c, nil
	}
	if ss.conns == nil {
		ss.conns, ss.watching = map[*redis.Client]*redis.Conn{}, map[*redis.Conn]bool{}
	}
	c := node.Conn()
	ss.conns[node] = c
	return c, nil
}

// close returns the session's connections to their pools, first clearing a
// WATCH left on one (so that no other user of the pool inherits it).
func (ss *session) close(ctx context.Context) {
	for _, c := range ss.conns {
		if ss.watching[c] {
			_ = c.Process(ctx, redis.NewStatusCmd(ctx, "unwatch"))
		}
		_ = c.Close()
	}
}

// discard drops conn from the session after an error that is not a Redis reply
// (a timeout, a reset, a restarted server): go-redis marks such a connection bad,
// and every later command on it would fail at once. The next attempt dials anew.
func (ss *session) discard(conn *redis.Conn, err error) {
	if err == nil || isReply(err) {
		return
	}
	for node, c := range ss.conns {
		if c == conn {
			delete(ss.conns, node)
		}
	}
	delete(ss.watching, conn)
	if ss.aheadConn == conn {
		ss.aheadConn, ss.aheadFence, ss.aheadGet = nil, "", nil
	}
	_ = conn.Close()
}

// isReply reports an error the server answered (the connection is fine).
func isReply(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && !errors.Is(err, redis.ErrClosed) ||
		errors.Is(err, redis.Nil) || errors.Is(err, redis.TxFailedErr)
}

// takeAhead returns the fence read issued ahead on conn for fence, if any.
func (ss *session) takeAhead(conn *redis.Conn, fence string) *redis.StringCmd {
	get := ss.aheadGet
	ok := get != nil && ss.aheadConn == conn && ss.aheadFence == fence
	ss.aheadConn, ss.aheadFence, ss.aheadGet = nil, "", nil
	if !ok || get.Err() != nil && !errors.Is(get.Err(), redis.Nil) {
		return nil
	}
	return get
}

// sendFenced writes one batch as an optimistic transaction (fence.go). next is
// the worker's next batch (nil: none): its fence's WATCH and GET ride along with
// this batch's EXEC when it lives on the same node.
func (s *Store[V]) sendFenced(ctx context.Context, sess *session, w *write[V], next *spillBatch[V]) error {
	b := w.b
	fence := s.metaKey(b.p, "fence")
	conn, err := sess.conn(ctx, s.rdb, fence)
	if err != nil {
		return w.noNode(err)
	}
	if conn == nil {
		return s.sendFencedWatch(ctx, w)
	}
	var nextFence string
	if next != nil {
		nextFence = s.metaKey(next.p, "fence")
		if nc, err := sess.conn(ctx, s.rdb, nextFence); err != nil || nc != conn {
			nextFence = ""
		}
	}
	for try := 0; try < watchRetries; try++ {
		get := sess.takeAhead(conn, fence)
		if get == nil {
			// UNWATCH first: whatever an interrupted transaction left on the
			// connection must not abort this one.
			var wcmd *redis.StatusCmd
			_, perr := conn.Pipelined(ctx, func(pipe redis.Pipeliner) error {
				wcmd = watch(ctx, pipe, fence)
				get = pipe.Get(ctx, fence)
				return nil
			})
			sess.watching[conn] = true
			if err := wcmd.Err(); err != nil {
				// Without the WATCH the fence read proves nothing at EXEC time.
				sess.discard(conn, perr)
				w.failAll(Classify(err))
				return fmt.Errorf("core: watching the fence of partition %d: %w", b.p, err)
			}
			sess.discard(conn, perr)
		}
		if err := s.checkFence(w, get); err != nil {
			return err
		}
		var cmds []*redis.StatusCmd
		var multi *redis.StatusCmd
		exec := redis.NewSliceCmd(ctx, "exec")
		var aheadGet *redis.StringCmd
		var aheadWatch *redis.StatusCmd
		_, perr := conn.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			multi = redis.NewStatusCmd(ctx, "multi")
			_ = pipe.Process(ctx, multi)
			cmds = s.queue(ctx, pipe, w, true)
			_ = pipe.Process(ctx, exec)
			if nextFence != "" {
				aheadWatch = watch(ctx, pipe, nextFence)
				aheadGet = pipe.Get(ctx, nextFence)
			}
			return nil
		})
		sess.watching[conn] = nextFence != ""
		if aheadGet != nil && aheadWatch.Err() == nil {
			sess.aheadConn, sess.aheadFence, sess.aheadGet = conn, nextFence, aheadGet
		}
		sess.discard(conn, perr)
		res, eerr := exec.Result()
		switch {
		case errors.Is(eerr, redis.Nil):
			continue // the fence changed since WATCH: read it again
		case eerr != nil:
			if merr := multi.Err(); merr != nil {
				// MULTI refused: the SETs may have run outside a transaction, fenced
				// by nothing. Reported not written (kept, or listed by Revoked).
				eerr = merr
			}
			return w.aborted(eerr, cmds)
		}
		var first error
		for k, i := range w.pending {
			if k >= len(res) {
				break
			}
			if rerr, ok := res[k].(error); ok {
				b.status[i] = Classify(rerr)
				if first == nil {
					first = fmt.Errorf("core: spilling %q of partition %d: %w", b.items[i].key, b.p, rerr)
				}
			}
		}
		if len(res) < len(w.pending) {
			w.failAll(ReasonOther)
			return fmt.Errorf("core: EXEC answered %d replies for %d writes", len(res), len(w.pending))
		}
		for _, r := range res[len(w.pending):] {
			if rerr, ok := r.(error); ok && first == nil {
				// Only the manifest commands failed: the entries were written.
				first = fmt.Errorf("core: manifest of partition %d: %w", b.p, rerr)
			}
		}
		if first != nil || s.cfg.waitReplicas == 0 {
			return first
		}
		wait := s.waitCmd(ctx)
		_ = conn.Process(ctx, wait)
		return s.checkWait(w, wait)
	}
	w.failAll(ReasonUnavailable) // the fence kept changing: let the caller's retries decide
	return fmt.Errorf("core: partition %d: the fence changed during %d transactions", b.p, watchRetries)
}

// watch queues UNWATCH, then WATCH key, and returns the WATCH.
func watch(ctx context.Context, pipe redis.Pipeliner, key string) *redis.StatusCmd {
	_ = pipe.Process(ctx, redis.NewStatusCmd(ctx, "unwatch"))
	cmd := redis.NewStatusCmd(ctx, "watch", key)
	_ = pipe.Process(ctx, cmd)
	return cmd
}

// checkFence judges the batch's fence read: an error or a newer generation fails
// the batch; a missing fence (expired, or lost with its Redis) lets it write and
// marks the partition for a claim at the next spill.
func (s *Store[V]) checkFence(w *write[V], get *redis.StringCmd) error {
	b := w.b
	cur, err := get.Int64()
	switch {
	case errors.Is(err, redis.Nil):
		if pt := s.part(b.p); pt != nil {
			pt.fenceLost.Store(true)
		}
		return nil
	case err != nil:
		w.failAll(Classify(err))
		return fmt.Errorf("core: reading the fence of partition %d: %w", b.p, err)
	case cur > b.gen:
		w.failAll(ReasonFenced)
		return fmt.Errorf("core: partition %d is held by generation %d > %d: %w", b.p, cur, b.gen, errFenced)
	}
	return nil
}

// sendFencedWatch is sendFenced for a client that cannot name a key's node: its
// own Watch (WATCH, GET, MULTI..EXEC and UNWATCH: three round trips more).
func (s *Store[V]) sendFencedWatch(ctx context.Context, w *write[V]) error {
	b := w.b
	fence := s.metaKey(b.p, "fence")
	for try := 0; try < watchRetries; try++ {
		retry := false
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			if err := s.checkFence(w, tx.Get(ctx, fence)); err != nil {
				return err
			}
			var cmds []*redis.StatusCmd
			_, err := tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				cmds = s.queue(ctx, pipe, w, false)
				return nil
			})
			if errors.Is(err, redis.TxFailedErr) {
				retry = true
				return err
			}
			if err != nil {
				return w.aborted(err, cmds)
			}
			if first := w.record(cmds); first != nil || s.cfg.waitReplicas == 0 {
				return first
			}
			wait := s.waitCmd(ctx)
			_ = tx.Process(ctx, wait)
			return s.checkWait(w, wait)
		}, fence)
		if !retry {
			return err
		}
	}
	w.failAll(ReasonUnavailable)
	return fmt.Errorf("core: partition %d: the fence changed during %d transactions", b.p, watchRetries)
}
