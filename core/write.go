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
//   - Fenced (the default): on one connection of the partition's node, UNWATCH
//     (whatever an earlier, interrupted transaction left), WATCH the fence and GET
//     it (one round trip); unless it holds a newer generation, MULTI,
//     the same SETs, EXEC (a second round trip). The batch never writes the fence
//     (fence.go); one it finds missing is noted for the next spill's claim. When
//     the watched fence changed meanwhile (a claim), EXEC answers nil and the
//     batch is tried again from the WATCH, at most watchRetries times.
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

// write is one send of a batch: the pending items and their encoded values.
type write[V any] struct {
	b       *spillBatch[V]
	pending []int
	keys    []string
	vals    [][]byte
	ttls    []time.Duration
	mttl    int64 // manifest TTL in ms (0: no manifest)
}

func (s *Store[V]) newWrite(b *spillBatch[V], pending []int, buf []byte, offs []int) *write[V] {
	prefix := string(s.partPrefix(nil, b.p))
	w := &write[V]{b: b, pending: pending, keys: make([]string, len(pending)), vals: make([][]byte, len(pending)),
		ttls: make([]time.Duration, len(pending))}
	for k, i := range pending {
		w.keys[k] = prefix + b.items[i].key
		w.vals[k] = buf[offs[i]:offs[i+1]]
		w.ttls[k] = time.Duration(ttlArg(s.ttlOf(b.p, b.items[i].key))) * time.Millisecond
		if s.cfg.manifest {
			w.mttl = max(w.mttl, w.ttls[k].Milliseconds())
		}
	}
	return w
}

// queue adds the batch's writes to pipe: a SET per entry, then the manifest.
func (s *Store[V]) queue(ctx context.Context, pipe redis.Pipeliner, w *write[V]) []*redis.StatusCmd {
	cmds := make([]*redis.StatusCmd, len(w.keys))
	for k := range w.keys {
		cmds[k] = pipe.Set(ctx, w.keys[k], w.vals[k], w.ttls[k])
	}
	if w.mttl > 0 {
		members := make([]any, len(w.pending))
		for k, i := range w.pending {
			members[k] = w.b.items[i].key
		}
		mk := s.metaKey(w.b.p, "keys")
		pipe.SAdd(ctx, mk, members...)
		pipe.PExpire(ctx, mk, time.Duration(w.mttl)*time.Millisecond)
	}
	return cmds
}

// record sets each pending item's status from its SET's reply and returns the
// first error.
func (w *write[V]) record(cmds []*redis.StatusCmd, err error) error {
	b := w.b
	var first error
	for k, i := range w.pending {
		cerr := err
		if cmds != nil && cmds[k] != nil && cmds[k].Err() != nil {
			cerr = cmds[k].Err()
		}
		if cerr != nil && !errors.Is(cerr, redis.Nil) {
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

func (s *Store[V]) sendPlain(ctx context.Context, w *write[V]) error {
	if s.cfg.waitReplicas > 0 {
		return s.onNode(ctx, w, func(tx *redis.Tx, _ bool) error {
			var cmds []*redis.StatusCmd
			var wait *redis.IntCmd
			_, err := tx.Pipelined(ctx, func(pipe redis.Pipeliner) error {
				cmds = s.queue(ctx, pipe, w)
				wait = s.waitCmd(ctx)
				_ = pipe.Process(ctx, wait)
				return nil
			})
			if first := w.record(cmds, nil); first != nil {
				return first
			}
			return s.checkWait(w, wait, err)
		})
	}
	var cmds []*redis.StatusCmd
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		cmds = s.queue(ctx, pipe, w)
		return nil
	})
	first := w.record(cmds, nil)
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
func (s *Store[V]) checkWait(w *write[V], wait *redis.IntCmd, err error) error {
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
	_ = err
	return fmt.Errorf("core: partition %d: %w", w.b.p, werr)
}

// onNode runs fn on one connection of the node that owns the batch's partition.
// watched tells fn whether the client's Watch already sent WATCH for the fence.
func (s *Store[V]) onNode(ctx context.Context, w *write[V], fn func(tx *redis.Tx, watched bool) error) error {
	fence := s.metaKey(w.b.p, "fence")
	var node *redis.Client
	var err error
	switch c := s.rdb.(type) {
	case *redis.Client:
		node = c
	case *redis.ClusterClient:
		node, err = c.MasterForKey(ctx, fence)
	case *redis.Ring:
		node, err = c.GetShardClientForKey(fence)
	default:
		return s.rdb.Watch(ctx, func(tx *redis.Tx) error { return fn(tx, true) }, fence)
	}
	if err != nil {
		w.failAll(Classify(err))
		if w.b.status[w.pending[0]] == ReasonOther {
			w.failAll(ReasonUnavailable) // no node for the slot (yet): retryable
		}
		return fmt.Errorf("core: partition %d: no node: %w", w.b.p, err)
	}
	return node.Watch(ctx, func(tx *redis.Tx) error { return fn(tx, false) })
}

func (s *Store[V]) sendFenced(ctx context.Context, w *write[V]) error {
	b := w.b
	fence := s.metaKey(b.p, "fence")
	gen := b.gen
	var lastErr error
	for try := 0; try < watchRetries; try++ {
		retry := false
		err := s.onNode(ctx, w, func(tx *redis.Tx, watched bool) error {
			var get *redis.StringCmd
			_, err := tx.Pipelined(ctx, func(pipe redis.Pipeliner) error {
				if !watched {
					// UNWATCH first: a pooled connection whose last transaction
					// ended without EXEC or UNWATCH (an error, a deadline) must not
					// carry that WATCH into this one.
					pipe.Process(ctx, redis.NewStatusCmd(ctx, "unwatch"))
					pipe.Process(ctx, redis.NewStatusCmd(ctx, "watch", fence))
				}
				get = pipe.Get(ctx, fence)
				return nil
			})
			cur, gerr := get.Int64()
			switch {
			case errors.Is(gerr, redis.Nil):
				cur = -1 // no fence (expired, or lost with its Redis): claim it at the next spill
				if pt := s.part(b.p); pt != nil {
					pt.fenceLost.Store(true)
				}
			case gerr != nil:
				if err == nil {
					err = gerr
				}
				w.failAll(Classify(err))
				return fmt.Errorf("core: reading the fence of partition %d: %w", b.p, err)
			}
			if cur > gen {
				w.failAll(ReasonFenced)
				return fmt.Errorf("core: partition %d is held by generation %d > %d: %w", b.p, cur, gen, errFenced)
			}
			var cmds []*redis.StatusCmd
			_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				cmds = s.queue(ctx, pipe, w)
				return nil
			})
			if errors.Is(err, redis.TxFailedErr) {
				retry = true // the fence changed since WATCH: read it again
				return err
			}
			if err != nil {
				// The transaction is all or nothing: a queued command's error
				// (OOM, MISCONF) says why EXEC aborted; otherwise the call's error.
				cause := err
				for _, c := range cmds {
					if c.Err() != nil && !strings.HasPrefix(c.Err().Error(), "EXECABORT") {
						cause = c.Err()
						break
					}
				}
				w.failAll(Classify(cause))
				return fmt.Errorf("core: spilling %d keys of partition %d: %w", len(w.pending), b.p, cause)
			}
			if first := w.record(cmds, nil); first != nil {
				return first
			}
			if s.cfg.waitReplicas > 0 {
				wait := s.waitCmd(ctx)
				_ = tx.Process(ctx, wait)
				return s.checkWait(w, wait, nil)
			}
			return nil
		})
		if !retry {
			return err
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	w.failAll(ReasonUnavailable) // the fence kept changing: let the caller's retries decide
	return fmt.Errorf("core: partition %d: the fence changed during %d transactions: %w", b.p, watchRetries, lastErr)
}
