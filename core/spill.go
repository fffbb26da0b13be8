package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// SpillReport says what a Spill, SpillAll or Sync did. Lists are in a fixed order
// (partition, then key), whatever order the workers finished in.
type SpillReport struct {
	Partitions     []int32       // partitions asked for, ascending
	Keys           int           // entries considered
	Written        int           // entries Redis acknowledged
	AlreadyWritten int           // clean entries whose Redis copy is current and still there (write-through, checkpoint): not rewritten
	Rewritten      int           // clean entries Redis no longer had, or could not confirm it had: written again (in Written, or NotWritten if that failed)
	NotWritten     int           // entries not written; see Failures and Count
	RawBytes       int64         // payload bytes of the written entries before compression
	WireBytes      int64         // envelope bytes of the written entries as stored
	Dropped        int           // entries removed from memory (only acknowledged ones, or memory-only)
	Batches        int           // script calls or pipelines sent (retries included)
	Duration       time.Duration // by the store's clock
	Failures       []KeyFailure  // one per entry not written
	ByReason       [16]int       // NotWritten by Reason (index = Reason)
}

// KeyFailure is one entry that was not written, and why.
type KeyFailure struct {
	Partition int32
	Key       string
	Reason    Reason
	Err       error // the error of its batch (shared by the batch's failures); nil for ReasonDisabled
}

// Count returns how many entries were not written for reason r.
func (r *SpillReport) Count(reason Reason) int { return r.ByReason[reason] }

// SpillError is returned by Spill, SpillAll and Sync when some entries were not
// written. The entries stay in memory; the report lists them.
type SpillError struct {
	NotWritten int
	ByReason   [16]int
	First      error // the first batch error, in batch order
}

func (e *SpillError) Error() string {
	msg := fmt.Sprintf("core: %d entries not written", e.NotWritten)
	for _, r := range Reasons() {
		if n := e.ByReason[r]; n > 0 {
			msg += fmt.Sprintf(", %s: %d", r, n)
		}
	}
	if e.First != nil {
		msg += ": " + e.First.Error()
	}
	return msg
}

// Unwrap returns the first batch error.
func (e *SpillError) Unwrap() error { return e.First }

type workItem[V any] struct {
	key  string
	v    V
	asOf int64
	ver  uint32
	skip bool // already written: drop without writing
}

type spillBatch[V any] struct {
	p      int32
	items  []workItem[V]
	status []Reason // per item; ReasonNone = written
	raw    []int
	wire   []int
	err    error
	sends  int
}

type spillMode uint8

const (
	modeSpill spillMode = iota // write, then drop acknowledged entries
	modeSync                   // write dirty entries, keep them
)

type workerKey struct{}

// SpillWorker reports which spill worker a context belongs to. Batches are dealt
// to workers statically (batch k of a spill goes to worker k mod parallelism, in
// order), so a Redis hook can keep per-worker time and decide deterministically
// where a deadline cuts a spill, whatever the goroutines' interleaving.
func SpillWorker(ctx context.Context) (worker int, ok bool) {
	w, ok := ctx.Value(workerKey{}).(int)
	return w, ok
}

// Spill writes every entry of the given partitions to Redis, then drops the
// acknowledged ones from memory: call it from the partitions-revoked callback. The
// context's deadline is the time left (rebalance timeout, grace period): when it
// passes, workers stop and the rest is reported as not written and kept in memory.
// A non-nil error is a *SpillError; the report is always returned.
func (s *Store[V]) Spill(ctx context.Context, partitions ...int32) (*SpillReport, error) {
	return s.spill(ctx, partitions, modeSpill)
}

// SpillAll spills every partition in memory: call it from the shutdown hook (SIGTERM)
// with the termination grace period, minus a margin, as the deadline.
func (s *Store[V]) SpillAll(ctx context.Context) (*SpillReport, error) {
	var all []int32
	for i, pt := range *s.parts.Load() {
		if pt != nil {
			all = append(all, int32(i))
		}
	}
	return s.spill(ctx, all, modeSpill)
}

// Sync writes what the strategy says is due: with WriteThrough every entry updated
// since the last Sync; with Checkpoint every dirty entry once CheckpointEvery has
// passed since the last checkpoint; nothing otherwise. Call it after each poll batch,
// before committing offsets. It reports (nil, nil) when nothing was due.
//
// When a Sync writes nothing because Redis refuses (down, OOM, MISCONF, read-only),
// later Syncs are skipped for a back-off that doubles from the Retries back-off up
// to MaxSyncBackoff, so a consumer does not re-encode and resend its whole dirty
// set on every poll while Redis is unavailable; the entries stay dirty and are
// written by the first Sync after it.
func (s *Store[V]) Sync(ctx context.Context) (*SpillReport, error) {
	now := s.cfg.clock.Now().UnixNano()
	if now < s.syncRetryAt.Load() {
		return nil, nil
	}
	switch s.cfg.strategy {
	case WriteThrough:
	case Checkpoint:
		if now-s.lastCheckpoint.Load() < int64(s.cfg.checkpointEvery) {
			return nil, nil
		}
		s.lastCheckpoint.Store(now)
	default:
		return nil, nil
	}
	var all []int32
	for i, pt := range *s.parts.Load() {
		if pt != nil {
			all = append(all, int32(i))
		}
	}
	rep, err := s.spill(ctx, all, modeSync)
	if rep.Written == 0 && rep.NotWritten > 0 && rep.Count(ReasonDeadline)+rep.Count(ReasonCanceled) == 0 {
		n := min(s.syncFailures.Add(1), 20)
		d := min(max(s.cfg.backoff, 10*time.Millisecond)<<(n-1), MaxSyncBackoff)
		s.syncRetryAt.Store(now + int64(d))
	} else {
		s.syncFailures.Store(0)
	}
	return rep, err
}

// MaxSyncBackoff caps the pause between Syncs while Redis refuses writes.
const MaxSyncBackoff = 5 * time.Second

func (s *Store[V]) spill(ctx context.Context, partitions []int32, mode spillMode) (*SpillReport, error) {
	start := s.cfg.clock.Now()
	partitions = slices.Clone(partitions)
	slices.Sort(partitions)
	partitions = slices.Compact(partitions)
	rep := &SpillReport{Partitions: partitions}
	gen := s.gen.Load()

	collected := make([][]workItem[V], len(partitions))
	for i, p := range partitions {
		collected[i] = s.collect(p, mode, start)
	}
	if mode == modeSpill {
		rep.Rewritten = s.verifyWritten(ctx, partitions, collected)
	}
	var batches []*spillBatch[V]
	for i, p := range partitions {
		items := collected[i]
		rep.Keys += len(items)
		if s.cfg.strategy == MemoryOnly {
			for _, it := range items {
				rep.Failures = append(rep.Failures, KeyFailure{Partition: p, Key: it.key, Reason: ReasonDisabled})
			}
			rep.NotWritten += len(items)
			rep.ByReason[ReasonDisabled] += len(items)
			if mode == modeSpill {
				rep.Dropped += s.Drop(p)
			}
			continue
		}
		for lo := 0; lo < len(items); lo += s.cfg.batch {
			hi := min(lo+s.cfg.batch, len(items))
			batches = append(batches, &spillBatch[V]{p: p, items: items[lo:hi]})
		}
	}

	if s.cfg.fencing && len(batches) > 0 && !s.scriptsLoaded.Load() {
		// Load the script before the workers start, so that no worker's first call
		// depends on which worker happened to load it (a NOSCRIPT round trip).
		if s.loadScripts(ctx) == nil {
			s.scriptsLoaded.Store(true)
		}
	}
	workers := min(s.cfg.parallelism, len(batches))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wctx := context.WithValue(ctx, workerKey{}, w)
			c := compressorPool.Get().(*compressor)
			defer compressorPool.Put(c)
			var buf, scratch []byte
			stopped := ReasonNone
			var stopErr error
			for k := w; k < len(batches); k += workers {
				b := batches[k]
				if stopped != ReasonNone {
					b.fail(stopped, stopErr)
					continue
				}
				buf, scratch = s.writeBatch(wctx, c, buf[:0], scratch[:0], b, gen)
				for _, st := range b.status {
					if st.stopsWorker() {
						stopped, stopErr = st, b.err
						break
					}
				}
			}
		}()
	}
	wg.Wait()

	var first error
	now := s.cfg.clock.Now()
	for _, b := range batches {
		rep.Batches += b.sends
		if b.err != nil && first == nil {
			first = b.err
		}
		for i, st := range b.status {
			switch {
			case st == ReasonNone && b.items[i].skip:
				rep.AlreadyWritten++
			case st == ReasonNone:
				rep.Written++
				rep.RawBytes += int64(b.raw[i])
				rep.WireBytes += int64(b.wire[i])
			default:
				rep.NotWritten++
				rep.ByReason[st]++
				rep.Failures = append(rep.Failures, KeyFailure{Partition: b.p, Key: b.items[i].key, Reason: st, Err: b.err})
			}
		}
		rep.Dropped += s.settle(b, mode, now)
	}
	rep.Duration = s.cfg.clock.Now().Sub(start)
	s.stats.addSpill(rep)
	s.cfg.metrics.ObserveSpill(rep)
	if rep.NotWritten > rep.ByReason[ReasonDisabled] {
		return rep, &SpillError{NotWritten: rep.NotWritten, ByReason: rep.ByReason, First: first}
	}
	return rep, nil
}

// collect snapshots what partition p has to write, sorted by key.
func (s *Store[V]) collect(p int32, mode spillMode, now time.Time) []workItem[V] {
	pt := s.part(p)
	if pt == nil {
		return nil
	}
	track := s.cfg.strategy == WriteThrough || s.cfg.strategy == Checkpoint
	nowMs := now.UnixMilli()
	pt.mu.Lock()
	defer pt.mu.Unlock()
	var items []workItem[V]
	if mode == modeSync {
		items = make([]workItem[V], 0, len(pt.dirty))
		for _, k := range pt.dirty {
			if e, ok := pt.m[k]; ok && e.dirty {
				items = append(items, workItem[V]{key: k, v: e.v, asOf: e.asOf, ver: e.ver})
			}
		}
		pt.dirty = pt.dirty[:0]
		for _, it := range items { // in flight: a Put from now on re-dirties and re-lists the key
			e := pt.m[it.key]
			e.dirty = false
			pt.m[it.key] = e
		}
	} else {
		items = make([]workItem[V], 0, len(pt.m))
		for k, e := range pt.m {
			// A clean entry whose acknowledged copy still has more than half its TTL
			// left is already in Redis: drop it without rewriting.
			skip := track && !e.dirty && e.flushedAt > 0 &&
				time.Duration(nowMs-e.flushedAt)*time.Millisecond < s.ttlOf(p, k)/2
			items = append(items, workItem[V]{key: k, v: e.v, asOf: e.asOf, ver: e.ver, skip: skip})
		}
	}
	slices.SortFunc(items, func(a, b workItem[V]) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	return items
}

// verifyWritten checks, in one round trip, that the entries collect found already
// written (clean, acknowledged, with more than half their TTL left) are still in
// Redis: one EXISTS per partition and spill batch. A Redis that restarted without
// persistence, was flushed, lost writes in a failover or evicted them no longer
// has them, and dropping them from memory would lose them. A chunk whose count
// falls short, or that could not be checked (an error, the deadline), is written
// again whole. It returns how many entries will be written again.
//
// EXISTS does not touch the keys (no LRU/LFU update), and the keys of one
// partition share a hash tag, so each command stays in one Cluster slot.
func (s *Store[V]) verifyWritten(ctx context.Context, partitions []int32, parts [][]workItem[V]) int {
	type chunk struct {
		items []*workItem[V] // the skipped items it checks
		keys  []string       // their Redis keys
		cmd   *redis.IntCmd
	}
	var chunks []*chunk
	for pi, items := range parts {
		prefix := string(s.partPrefix(nil, partitions[pi]))
		var c *chunk
		for i := range items {
			if !items[i].skip {
				continue
			}
			if c == nil || len(c.items) == s.cfg.batch {
				c = &chunk{}
				chunks = append(chunks, c)
			}
			c.items = append(c.items, &items[i])
			c.keys = append(c.keys, prefix+items[i].key)
		}
	}
	if len(chunks) == 0 {
		return 0
	}
	_, _ = s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, c := range chunks {
			c.cmd = pipe.Exists(ctx, c.keys...)
		}
		return nil
	}) // errors are per command, below
	rewritten := 0
	for _, c := range chunks {
		if n, err := c.cmd.Result(); err == nil && n == int64(len(c.items)) {
			continue
		}
		for _, it := range c.items {
			it.skip = false
		}
		rewritten += len(c.items)
	}
	return rewritten
}

// settle applies a batch's outcome to memory and returns the entries dropped.
func (s *Store[V]) settle(b *spillBatch[V], mode spillMode, now time.Time) int {
	pt := s.part(b.p)
	dropped := 0
	nowMs := now.UnixMilli()
	pt.mu.Lock()
	defer pt.mu.Unlock()
	for i, it := range b.items {
		e, ok := pt.m[it.key]
		if !ok || e.ver != it.ver {
			continue // updated or removed meanwhile: that version is not the one written
		}
		written := b.status[i] == ReasonNone
		switch {
		case written && mode == modeSpill:
			delete(pt.m, it.key)
			dropped++
		case written:
			e.flushedAt = nowMs
			pt.m[it.key] = e
		case mode == modeSync && !e.dirty:
			e.dirty = true // not written: due again at the next Sync
			pt.m[it.key] = e
			pt.dirty = append(pt.dirty, it.key)
		}
	}
	if dropped > 0 && len(pt.m) == 0 {
		pt.m = make(map[string]entry[V]) // a fresh map: no deleted slots left to probe past
	}
	return dropped
}

func (b *spillBatch[V]) fail(r Reason, err error) {
	b.status = make([]Reason, len(b.items))
	for i := range b.items {
		if !b.items[i].skip {
			b.status[i] = r
		}
	}
	b.err = err
}

// writeBatch encodes and writes one batch, retrying retryable failures while the
// deadline allows. It fills b.status, b.raw, b.wire and b.err.
func (s *Store[V]) writeBatch(ctx context.Context, c *compressor, buf, scratch []byte, b *spillBatch[V], gen int64) ([]byte, []byte) {
	n := len(b.items)
	b.status = make([]Reason, n)
	b.raw = make([]int, n)
	b.wire = make([]int, n)
	offs := make([]int, n+1)
	var encErr error
	for i, it := range b.items {
		offs[i] = len(buf)
		if it.skip {
			continue
		}
		var err error
		scratch, err = s.codec.Append(scratch[:0], it.v)
		if err != nil {
			b.status[i] = ReasonEncode
			if encErr == nil {
				encErr = fmt.Errorf("core: encoding %q: %w", it.key, err)
			}
			continue
		}
		b.raw[i] = len(scratch)
		buf = appendEnvelope(buf, c, Header{Compression: s.cfg.compression, Generation: gen, AsOfMillis: it.asOf}, scratch)
	}
	offs[n] = len(buf)
	pending := make([]int, 0, n)
	for i := range b.items {
		if !b.items[i].skip && b.status[i] == ReasonNone {
			b.wire[i] = offs[i+1] - offs[i]
			pending = append(pending, i)
		}
	}
	b.err = encErr
	for attempt := 1; len(pending) > 0; attempt++ {
		if err := ctx.Err(); err != nil {
			for _, i := range pending {
				b.status[i] = Classify(err)
			}
			b.err = err
			break
		}
		b.sends++
		err := s.send(ctx, b, pending, buf, offs, gen)
		if err != nil {
			b.err = err
		}
		retry := pending[:0:0]
		for _, i := range pending {
			if b.status[i].retryable() {
				retry = append(retry, i)
			}
		}
		if len(retry) > 0 {
			s.refreshTopology(ctx) // a master may have failed over: retry (or the next spill) goes to the new one
		}
		if len(retry) == 0 || attempt >= s.cfg.maxAttempts || !s.backoff(ctx, attempt) {
			break
		}
		for _, i := range retry {
			b.status[i] = ReasonNone
		}
		pending = retry
	}
	return buf, scratch
}

// backoff waits before retry attempt+1 when the clock can sleep, and reports
// whether a retry still fits before the deadline.
func (s *Store[V]) backoff(ctx context.Context, attempt int) bool {
	sl, ok := s.cfg.clock.(Sleeper)
	if !ok || s.cfg.backoff == 0 {
		return ctx.Err() == nil
	}
	d := s.cfg.backoff << (attempt - 1)
	if dl, ok := ctx.Deadline(); ok && s.cfg.clock.Now().Add(d).After(dl) {
		return false
	}
	return sl.Sleep(ctx, d) == nil
}

// send writes the pending items of b once and records each one's status.
func (s *Store[V]) send(ctx context.Context, b *spillBatch[V], pending []int, buf []byte, offs []int, gen int64) error {
	prefix := s.partPrefix(nil, b.p)
	keyOf := func(i int) string { return string(prefix) + b.items[i].key }
	ttlOf := func(i int) time.Duration { return s.ttlOf(b.p, b.items[i].key) }
	valOf := func(i int) []byte { return buf[offs[i]:offs[i+1]] }
	mttl := int64(0)
	if s.cfg.manifest {
		for _, i := range pending {
			mttl = max(mttl, ttlOf(i).Milliseconds())
		}
	}
	if s.cfg.fencing {
		keys := make([]string, 0, len(pending)+2)
		keys = append(keys, s.metaKey(b.p, "fence"), s.metaKey(b.p, "keys"))
		args := make([]any, 0, 4+2*len(pending))
		args = append(args, gen, s.cfg.fenceTTL.Milliseconds(), mttl, len(prefix))
		for _, i := range pending {
			keys = append(keys, keyOf(i))
			args = append(args, ttlArg(ttlOf(i)), valOf(i))
		}
		res, err := spillScript.Run(ctx, s.rdb, keys, args...).Slice()
		if err != nil {
			r := Classify(err)
			for _, i := range pending {
				b.status[i] = r
			}
			return fmt.Errorf("core: spilling %d keys of partition %d: %w", len(pending), b.p, err)
		}
		if len(res) == 0 {
			return s.badReply(b, pending, res)
		}
		if ok, _ := res[0].(int64); ok == 0 {
			for _, i := range pending {
				b.status[i] = ReasonFenced
			}
			return fmt.Errorf("core: partition %d is held by generation %v > %d: %w", b.p, res[len(res)-1], gen, errFenced)
		}
		if len(res)%2 != 1 {
			return s.badReply(b, pending, res)
		}
		var first error
		for x := 1; x+1 < len(res); x += 2 {
			idx, _ := res[x].(int64)
			msg, _ := res[x+1].(string)
			if idx < 1 || int(idx) > len(pending) {
				return s.badReply(b, pending, res)
			}
			i := pending[idx-1]
			b.status[i] = replyError(msg)
			if first == nil {
				first = fmt.Errorf("core: spilling %q of partition %d: %s", b.items[i].key, b.p, msg)
			}
		}
		return first
	}
	cmds := make([]*redis.StatusCmd, len(pending))
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for k, i := range pending {
			cmds[k] = pipe.Set(ctx, keyOf(i), valOf(i), time.Duration(ttlArg(ttlOf(i)))*time.Millisecond)
		}
		if s.cfg.manifest {
			members := make([]any, len(pending))
			for k, i := range pending {
				members[k] = b.items[i].key
			}
			mk := s.metaKey(b.p, "keys")
			pipe.SAdd(ctx, mk, members...)
			pipe.PExpire(ctx, mk, time.Duration(mttl)*time.Millisecond)
		}
		return nil
	})
	var first error
	for k, i := range pending {
		if cerr := cmds[k].Err(); cerr != nil {
			b.status[i] = Classify(cerr)
			if first == nil {
				first = fmt.Errorf("core: spilling %q of partition %d: %w", b.items[i].key, b.p, cerr)
			}
		}
	}
	if first == nil && err != nil && !errors.Is(err, redis.Nil) {
		// Only the manifest commands failed: the entries were written.
		first = fmt.Errorf("core: manifest of partition %d: %w", b.p, err)
	}
	return first
}

// loadScripts loads the spill script on every node that may run it: each shard of
// a Ring and each master of a Cluster (a plain SCRIPT LOAD through a Ring goes to
// one shard chosen at random, so the others would answer NOSCRIPT first).
func (s *Store[V]) loadScripts(ctx context.Context) error {
	load := func(ctx context.Context, c *redis.Client) error { return spillScript.Load(ctx, c).Err() }
	switch c := s.rdb.(type) {
	case *redis.Ring:
		return c.ForEachShard(ctx, load)
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, load)
	}
	return spillScript.Load(ctx, s.rdb).Err()
}

// ttlArg is a TTL in whole milliseconds for PX: at least 1 ms, or 0 for Persist.
func ttlArg(d time.Duration) int64 {
	if d == Persist {
		return 0
	}
	return max(d.Milliseconds(), 1)
}

func (s *Store[V]) badReply(b *spillBatch[V], pending []int, res []any) error {
	for _, i := range pending {
		b.status[i] = ReasonOther
	}
	return fmt.Errorf("core: unexpected spill script reply of %d elements for %d keys", len(res), len(pending))
}
