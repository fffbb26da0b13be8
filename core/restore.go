package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// KeyRef names one key of one partition.
type KeyRef struct {
	Partition int32
	Key       string
}

// Outcome is what Restore found for one key.
type Outcome uint8

// Outcomes of a restore, per key.
const (
	OutcomeLocal    Outcome = iota // already in memory: Redis was not asked
	OutcomeRestored                // found, decoded, fresh: now in memory
	OutcomeMissing                 // Redis does not have it (never spilled, expired, evicted, lost)
	OutcomeStale                   // found but older than MaxAge: discarded
	OutcomeCorrupt                 // found but undecodable (corrupt, truncated, unknown format): discarded
	OutcomeFailed                  // Redis did not answer (error, timeout): the key stays in Redis; treat as a miss
	OutcomeNotOwned                // the partition was released (Revoked, Lost) and not assigned again: Redis was not asked
)

var outcomeNames = [...]string{"local", "restored", "missing", "stale", "corrupt", "failed", "not_owned"}

// String returns the outcome's short name.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "unknown"
}

// RestoreReport says what a Restore or Warm found. Outcomes is aligned with the
// keys asked for.
type RestoreReport struct {
	Keys     int // keys asked for (duplicates included)
	Local    int
	Restored int
	Missing  int
	Stale    int
	Corrupt  int
	Failed   int
	// Undeleted counts keys read from Redis to be taken whose delete was not
	// confirmed (an error or a lost reply) or not sent (a spill of the partition
	// was writing): they may still be in Redis until their TTL or the next write.
	// Always 0 with KeepOnRestore.
	Undeleted int
	// Fenced counts keys of partitions whose fence showed a newer consumer-group
	// generation (with fencing): this store is a zombie for them, so it neither
	// used (OutcomeNotOwned) nor took their copies, which belong to the new
	// owner, and released the partitions. Restore then returns an error wrapping
	// ErrFenced.
	Fenced int
	// Left counts values a take-mode restore could not use and left in Redis:
	// another envelope version, compression, codec or MaxValueBytes than this
	// store's (a rolling upgrade, another consumer's configuration) may read them.
	// Only values whose checksum failed or that are truncated or stale are deleted.
	Left     int
	NotOwned int
	Outcomes []Outcome
	Duration time.Duration // by the store's clock
}

func (r *RestoreReport) add(o Outcome) {
	r.Outcomes = append(r.Outcomes, o)
	switch o {
	case OutcomeLocal:
		r.Local++
	case OutcomeRestored:
		r.Restored++
	case OutcomeMissing:
		r.Missing++
	case OutcomeStale:
		r.Stale++
	case OutcomeCorrupt:
		r.Corrupt++
	case OutcomeFailed:
		r.Failed++
	case OutcomeNotOwned:
		r.NotOwned++
	}
}

// GetOrRestore returns the context of key from memory, or restores it from Redis
// on a miss. Prefer Restore for a whole poll batch: the same round trips for all misses.
func (s *Store[V]) GetOrRestore(ctx context.Context, p int32, key string) (V, Outcome, error) {
	if v, ok := s.Get(p, key); ok {
		return v, OutcomeLocal, nil
	}
	rep, err := s.Restore(ctx, []KeyRef{{p, key}})
	v, _ := s.Get(p, key)
	return v, rep.Outcomes[0], err
}

// Restore brings the keys of a poll batch that are not in memory back from Redis,
// in one round trip (per Redis node) — two unless KeepOnRestore, the second
// deleting what was taken: the keys of one partition share a hash slot, so each
// partition's misses are one MGET, and its taken keys one UNLINK. Entries older
// than MaxAge and undecodable bytes are discarded and counted. A Redis error never stops the consumer: the affected keys come back as
// OutcomeFailed, the error is returned for logging, and processing goes on as on a miss.
func (s *Store[V]) Restore(ctx context.Context, keys []KeyRef) (*RestoreReport, error) {
	start := s.cfg.clock.Now()
	rep := &RestoreReport{Keys: len(keys), Outcomes: make([]Outcome, 0, len(keys))}
	// Which keys need Redis, deduplicated; first[i] is the index of key i's first occurrence.
	first := make([]int, len(keys))
	var need, notOwned []int
	seen := map[KeyRef]int{}
	for i, k := range keys {
		if j, dup := seen[k]; dup {
			first[i] = j
			continue
		}
		seen[k] = i
		first[i] = i
		switch s.has(k.Partition, k.Key) {
		case hasNot:
			need = append(need, i)
		case hasReleased:
			notOwned = append(notOwned, i)
		}
	}
	outcome := make([]Outcome, len(keys)) // OutcomeLocal by default
	for _, i := range notOwned {
		outcome[i] = OutcomeNotOwned
	}
	var err error
	if len(need) > 0 && s.cfg.strategy != MemoryOnly {
		err = s.fetch(ctx, keys, need, outcome, start, rep)
	} else {
		for _, i := range need {
			outcome[i] = OutcomeMissing
		}
	}
	if slices.Contains(outcome, OutcomeFailed) {
		s.refreshTopology(ctx) // the next restore goes to a master that took over, if one did
	}
	for i := range keys {
		o := outcome[first[i]]
		if first[i] != i && o == OutcomeRestored {
			o = OutcomeLocal // the duplicate finds what its first occurrence restored
		}
		rep.add(o)
	}
	rep.Duration = s.cfg.clock.Now().Sub(start)
	if len(need) > 0 {
		s.stats.addRestore(rep)
		s.cfg.metrics.ObserveRestore(rep)
	}
	return rep, err
}

type presence uint8

const (
	hasNot      presence = iota // not in memory: ask Redis
	hasLocal                    // in memory
	hasReleased                 // the partition is released: nothing to ask
)

func (s *Store[V]) has(p int32, key string) presence {
	pt := s.part(p)
	if pt == nil {
		return hasNot
	}
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if pt.own == released {
		return hasReleased
	}
	if _, ok := pt.m[key]; ok {
		return hasLocal
	}
	return hasNot
}

// fetch asks Redis for keys[need] and fills outcome: one MGET per partition (a
// partition's keys share a hash slot), all in one pipeline. When the store takes
// what it restores (SpillOnRevoke without KeepOnRestore), a second pipeline then
// deletes the values it read, one takeScript call per partition.
//
// Taking is two round trips rather than one GETDEL pipeline on purpose: GETDEL
// is not idempotent. When its replies are lost (a connection reset, a read
// timeout, a node killed after it executed), the keys are gone from Redis and
// never reach memory, and go-redis's own retry of the pipeline (MaxRetries,
// default 3; a ClusterClient retries a broken node's share regardless) turns
// that into OutcomeMissing with no error at all. MGET and the take are both safe
// to repeat: a lost MGET reply leaves everything in Redis (OutcomeFailed), a lost
// take reply leaves nothing behind, and a failed take leaves an extra copy in
// Redis (counted in RestoreReport.Undeleted) that its TTL removes.
//
// The take deletes a key only while it holds exactly the bytes the MGET read
// (same length, same CRC-32C) and no newer generation holds the partition's fence
// (takeScript): a zombie whose pause fell between the two round trips, or a
// store whose own newer write landed there, deletes nothing that is not what it
// read. With fencing, the first pipeline also reads each partition's fence, and a
// store that already finds a newer generation there uses nothing of the
// partition and releases it (RestoreReport.Fenced): a zombie never serves what
// it restores, and never takes the new owner's copies.
//
// WriteThrough and Checkpoint never take: the copy in Redis is the checkpoint
// that bounds what a crash loses, so it stays until the next write replaces it.
func (s *Store[V]) fetch(ctx context.Context, keys []KeyRef, need []int, outcome []Outcome, now time.Time,
	rep *RestoreReport) error {
	type group struct {
		p     int32
		gen   int64
		held  bool // take mode: this restore holds the partition's write lock
		idx   []int
		rkey  []string
		cmd   *redis.SliceCmd
		fence *redis.StringCmd // with fencing, in take mode
	}
	take := !s.cfg.keepOnRestore && s.cfg.strategy == SpillOnRevoke
	checkFence := s.cfg.fencing
	var groups []*group
	byPart := map[int32]*group{}
	for _, i := range need {
		p := keys[i].Partition
		g := byPart[p]
		if g == nil {
			g = &group{p: p, gen: s.gen.Load()}
			if pt := s.part(p); pt != nil {
				pt.mu.Lock()
				if pt.own == owned {
					g.gen = pt.claim
				}
				pt.mu.Unlock()
			}
			byPart[p] = g
			groups = append(groups, g)
		}
		g.idx = append(g.idx, i)
	}
	if take {
		// From the read to the take, no spill of the partition may run: it could
		// write the restored version back, byte for byte, and drop it from
		// memory, and the take would then delete the only copy. A partition whose
		// writer is busy is restored without taking (its copy stays, as with
		// KeepOnRestore, and the spill in progress overwrites it).
		slices.SortFunc(groups, func(a, b *group) int { return int(a.p) - int(b.p) })
		for _, g := range groups {
			if g.p < 0 {
				continue
			}
			select {
			case s.partOrCreate(g.p).wlock <- struct{}{}:
				g.held = true
			default:
			}
		}
		defer func() {
			for _, g := range groups {
				if g.held {
					<-s.part(g.p).wlock
				}
			}
		}()
	}
	_, perr := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, g := range groups {
			prefix := s.partPrefix(nil, g.p)
			g.rkey = make([]string, len(g.idx))
			for j, i := range g.idx {
				g.rkey[j] = string(prefix) + keys[i].Key
			}
			g.cmd = pipe.MGet(ctx, g.rkey...)
			if checkFence {
				g.fence = pipe.Get(ctx, s.metaKey(g.p, "fence"))
			}
		}
		return nil
	})
	type takeGroup struct {
		g    *group
		keys []string
		args []any
		cmd  *redis.Cmd
	}
	var firstErr error
	var takes []*takeGroup
	for _, g := range groups {
		vals, err := g.cmd.Result()
		tg := &takeGroup{g: g, args: []any{g.gen}}
		if g.fence != nil {
			if f, ferr := g.fence.Int64(); ferr == nil && f > g.gen && err == nil {
				// A newer generation owns the partition: this store is a zombie for
				// it. Use nothing, take nothing, and release it.
				for _, i := range g.idx {
					outcome[i] = OutcomeNotOwned
				}
				rep.Fenced += len(g.idx)
				s.fenceOut(g.p)
				continue
			}
		}
		for j, i := range g.idx {
			var v any
			if err == nil && j < len(vals) {
				v = vals[j]
			}
			switch {
			case err != nil && !errors.Is(err, redis.Nil):
				outcome[i] = OutcomeFailed
				if firstErr == nil {
					firstErr = fmt.Errorf("core: restoring %q of partition %d: %w", keys[i].Key, keys[i].Partition, err)
				}
			case v == nil:
				outcome[i] = OutcomeMissing
			default:
				str, _ := v.(string)
				var deletable bool
				outcome[i], deletable = s.install(keys[i], str, now)
				if !deletable {
					if take {
						rep.Left++
					}
					continue
				}
				tg.keys = append(tg.keys, g.rkey[j])
				tg.args = append(tg.args, len(str), str[max(0, len(str)-crcLen):])
			}
		}
		if len(tg.keys) == 0 || !take {
			continue
		}
		if !g.held {
			rep.Undeleted += len(tg.keys) // left in Redis: a writer of the partition was busy
			continue
		}
		takes = append(takes, tg)
	}
	if firstErr == nil && perr != nil && !errors.Is(perr, redis.Nil) {
		firstErr = perr
	}
	if len(takes) == 0 {
		return s.fencedErr(rep, firstErr)
	}
	if !s.scriptsLoaded.Load() && s.loadScripts(ctx) == nil {
		s.scriptsLoaded.Store(true)
	}
	run := func(sha bool) error {
		_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for _, tg := range takes {
				keys := append([]string{s.metaKey(tg.g.p, "fence")}, tg.keys...)
				if sha {
					tg.cmd = takeScript.EvalSha(ctx, pipe, keys, tg.args...)
				} else {
					tg.cmd = takeScript.Eval(ctx, pipe, keys, tg.args...)
				}
			}
			return nil
		})
		return err
	}
	if err := run(true); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		_ = run(false)
	}
	var derr error
	for _, tg := range takes {
		n, err := tg.cmd.Int64()
		switch {
		case err != nil:
			rep.Undeleted += len(tg.keys)
			if derr == nil {
				derr = err
			}
		case n < 0:
			// A newer owner claimed the partition between the two round trips:
			// what was just installed is not this store's to use.
			rep.Fenced += len(tg.g.idx)
			s.fenceOut(tg.g.p)
			for _, i := range tg.g.idx {
				if outcome[i] == OutcomeRestored {
					outcome[i] = OutcomeNotOwned
				}
			}
		}
	}
	if firstErr == nil && derr != nil {
		firstErr = fmt.Errorf("core: restored, but deleting %d restored keys from Redis was not confirmed "+
			"(any left expire with their TTL): %w", rep.Undeleted, derr)
	}
	return s.fencedErr(rep, firstErr)
}

func (s *Store[V]) fencedErr(rep *RestoreReport, err error) error {
	if rep.Fenced > 0 && err == nil {
		return fmt.Errorf("core: restored, but left %d keys in Redis for their new owner: %w", rep.Fenced, ErrFenced)
	}
	return err
}

// install decodes a value found in Redis and puts it in memory unless it is stale,
// undecodable, the key was Put meanwhile, or the partition was released
// meanwhile. deletable says whether a take may delete the value: it was installed,
// or it is stale, truncated or fails its checksum (nobody can use it). A value this
// store cannot read but another might (another envelope version, compression,
// codec or MaxValueBytes) is left in Redis.
func (s *Store[V]) install(k KeyRef, raw string, now time.Time) (o Outcome, deletable bool) {
	h, payload, err := DecodeEnvelope(nil, []byte(raw), s.cfg.maxValueBytes)
	if err != nil {
		return OutcomeCorrupt, errors.Is(err, ErrChecksum) || errors.Is(err, ErrTruncated)
	}
	v, err := s.decode(payload)
	if err != nil {
		return OutcomeCorrupt, false
	}
	if s.cfg.maxAge > 0 && now.Sub(time.UnixMilli(h.AsOfMillis)) > s.cfg.maxAge {
		return OutcomeStale, true
	}
	pt := s.partOrCreate(k.Partition)
	track := s.cfg.strategy == WriteThrough || s.cfg.strategy == Checkpoint
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if pt.own == released {
		return OutcomeNotOwned, false
	}
	if _, ok := pt.m[k.Key]; ok {
		return OutcomeLocal, true
	}
	pt.seq++
	e := entry[V]{v: v, asOf: h.AsOfMillis, ver: pt.seq}
	if track {
		// Written again at the next Sync: under this owner's claim, with a fresh TTL.
		e.listed = true
		pt.dirty = append(pt.dirty, k.Key)
	}
	pt.m[k.Key] = e
	return OutcomeRestored, true
}

// decode runs the codec; a panic in the codec becomes an error.
func (s *Store[V]) decode(b []byte) (v V, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("codec panicked: %v", r)
		}
	}()
	return s.codec.Decode(b)
}

// Warm restores whole partitions eagerly, on assignment, from the manifests that
// spills write when Manifest is on: one round trip for the manifests, one for the
// entries, one to delete the manifests. Eager restore pays for every spilled key
// up front (Redis reads, memory, a slower assignment callback) so that no message
// waits on a lazy restore; lazy restore pays only for keys that are seen again, one
// batched round trip per poll. Without Manifest, Warm returns an error.
func (s *Store[V]) Warm(ctx context.Context, partitions ...int32) (*RestoreReport, error) {
	if !s.cfg.manifest {
		return &RestoreReport{}, errors.New("core: Warm needs the Manifest option (spills must record their keys)")
	}
	if s.cfg.strategy == MemoryOnly || len(partitions) == 0 {
		return &RestoreReport{}, nil
	}
	cmds := make([]*redis.StringSliceCmd, len(partitions))
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, p := range partitions {
			cmds[i] = pipe.SMembers(ctx, s.metaKey(p, "keys"))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return &RestoreReport{}, fmt.Errorf("core: reading manifests of %v: %w", partitions, err)
	}
	var refs []KeyRef
	for i, p := range partitions {
		members, _ := cmds[i].Result()
		slices.Sort(members)
		for _, k := range members {
			refs = append(refs, KeyRef{Partition: p, Key: k})
		}
	}
	rep, rerr := s.Restore(ctx, refs)
	if rerr == nil {
		_, err = s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for _, p := range partitions {
				pipe.Del(ctx, s.metaKey(p, "keys"))
			}
			return nil
		})
		if err != nil {
			rerr = fmt.Errorf("core: deleting manifests of %v: %w", partitions, err)
		}
	}
	return rep, rerr
}
