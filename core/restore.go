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
)

var outcomeNames = [...]string{"local", "restored", "missing", "stale", "corrupt", "failed"}

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
	// confirmed (an error or a lost reply): they may still be in Redis until
	// their TTL. Always 0 with KeepOnRestore.
	Undeleted int
	// Fenced counts keys read from Redis to be taken that were left there:
	// with fencing, the partition's fence showed a newer consumer-group
	// generation, so this store is a zombie and the copies belong to the new
	// owner. Restore then returns an error wrapping ErrFenced.
	Fenced   int
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
	var need []int
	seen := map[KeyRef]int{}
	for i, k := range keys {
		if j, dup := seen[k]; dup {
			first[i] = j
			continue
		}
		seen[k] = i
		first[i] = i
		if !s.has(k.Partition, k.Key) {
			need = append(need, i)
		}
	}
	outcome := make([]Outcome, len(keys)) // OutcomeLocal by default
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

func (s *Store[V]) has(p int32, key string) bool {
	pt := s.part(p)
	if pt == nil {
		return false
	}
	pt.mu.Lock()
	_, ok := pt.m[key]
	pt.mu.Unlock()
	return ok
}

// fetch asks Redis for keys[need] and fills outcome: one MGET per partition (a
// partition's keys share a hash slot), all in one pipeline. Unless KeepOnRestore
// is set, a second pipeline then deletes the keys whose values it read.
//
// Taking is two round trips rather than one GETDEL pipeline on purpose: GETDEL
// is not idempotent. When its replies are lost (a connection reset, a read
// timeout, a node killed after it executed), the keys are gone from Redis and
// never reach memory, and go-redis's own retry of the pipeline (MaxRetries,
// default 3; a ClusterClient retries a broken node's share regardless) turns
// that into OutcomeMissing with no error at all. MGET and DEL are both safe to
// repeat: a lost MGET reply leaves everything in Redis (OutcomeFailed), a lost
// DEL reply leaves nothing behind, and a failed DEL leaves an extra copy in
// Redis (counted in RestoreReport.Undeleted) that its TTL removes. Between the
// two round trips only another owner of the partition could write a key: with
// fencing an older (zombie) owner's spill is refused; if a newer owner wrote it,
// this store is the zombie. With fencing, the first pipeline also reads each
// partition's fence, and a store that finds a newer generation there deletes
// nothing (RestoreReport.Fenced): a zombie that resumes and restores does not take
// the copies the new owner is about to restore. What is left is a claim that
// lands between the two round trips (microseconds; the new owner claims on
// assignment, before it processes anything).
func (s *Store[V]) fetch(ctx context.Context, keys []KeyRef, need []int, outcome []Outcome, now time.Time,
	rep *RestoreReport) error {
	type group struct {
		p     int32
		idx   []int
		rkey  []string
		cmd   *redis.SliceCmd
		fence *redis.StringCmd // with fencing, in take mode
	}
	checkFence := s.cfg.fencing && !s.cfg.keepOnRestore
	gen := s.gen.Load()
	var groups []*group
	byPart := map[int32]*group{}
	for _, i := range need {
		p := keys[i].Partition
		g := byPart[p]
		if g == nil {
			g = &group{p: p}
			byPart[p] = g
			groups = append(groups, g)
		}
		g.idx = append(g.idx, i)
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
	var firstErr error
	var take [][]string // per partition, the Redis keys read (to delete)
	for _, g := range groups {
		vals, err := g.cmd.Result()
		var read []string
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
				outcome[i] = s.install(keys[i], str, now)
				read = append(read, g.rkey[j])
			}
		}
		if len(read) > 0 && g.fence != nil {
			if f, err := g.fence.Int64(); err == nil && f > gen {
				rep.Fenced += len(read) // a newer generation owns the partition: leave its copies
				continue
			}
		}
		if len(read) > 0 {
			take = append(take, read)
		}
	}
	if firstErr == nil && perr != nil && !errors.Is(perr, redis.Nil) {
		firstErr = perr
	}
	if rep.Fenced > 0 && firstErr == nil {
		firstErr = fmt.Errorf("core: restored, but left %d keys in Redis for their new owner: %w", rep.Fenced, ErrFenced)
	}
	if s.cfg.keepOnRestore || len(take) == 0 {
		return firstErr
	}
	// Stale and corrupt values are deleted too: nobody can use them.
	dels := make([]*redis.IntCmd, len(take))
	_, derr := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for j, rk := range take {
			dels[j] = pipe.Unlink(ctx, rk...)
		}
		return nil
	})
	for j, rk := range take {
		if err := dels[j].Err(); err != nil {
			rep.Undeleted += len(rk)
			if derr == nil {
				derr = err
			}
		}
	}
	if firstErr == nil && derr != nil {
		firstErr = fmt.Errorf("core: restored, but deleting %d restored keys from Redis was not confirmed "+
			"(any left expire with their TTL): %w", rep.Undeleted, derr)
	}
	return firstErr
}

// install decodes a value found in Redis and puts it in memory unless it is stale,
// undecodable, or the key was Put meanwhile.
func (s *Store[V]) install(k KeyRef, raw string, now time.Time) Outcome {
	h, payload, err := DecodeEnvelope(nil, []byte(raw), s.cfg.maxValueBytes)
	if err != nil {
		return OutcomeCorrupt
	}
	v, err := s.codec.Decode(payload)
	if err != nil {
		return OutcomeCorrupt
	}
	if s.cfg.maxAge > 0 && now.Sub(time.UnixMilli(h.AsOfMillis)) > s.cfg.maxAge {
		return OutcomeStale
	}
	pt := s.partOrCreate(k.Partition)
	track := s.cfg.strategy == WriteThrough || s.cfg.strategy == Checkpoint
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if _, ok := pt.m[k.Key]; ok {
		return OutcomeLocal
	}
	pt.m[k.Key] = entry[V]{v: v, asOf: h.AsOfMillis, ver: 1, dirty: true}
	if track {
		pt.dirty = append(pt.dirty, k.Key)
	}
	return OutcomeRestored
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
