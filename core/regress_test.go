package core

// Regression tests for the handoff holes of issue #14, one per numbered failure
// (the numbering). Each reproduces the sequence a user could hit through
// the documented wiring and failed before its fix; they run on miniredis and,
// when it is installed, on redis-server.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/spillway-sim/spillway/internal/redistest"
)

// oomWhile answers every transaction (a spill batch) with OOM while on is set.
func oomWhile(on *atomic.Bool) redis.Hook {
	return hookFunc{pipeline: func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
		if on.Load() && isTx(cmds) {
			err := replyErr("OOM command not allowed when used memory > 'maxmemory'.")
			for _, c := range cmds {
				c.SetErr(err)
			}
			return err
		}
		return next(ctx, cmds)
	}}
}

// redisValue decodes the value Redis holds for key of partition p ("" if none).
func redisValue(t *testing.T, rdb redis.UniversalClient, p int32, key string) string {
	t.Helper()
	raw, err := rdb.Get(context.Background(), RedisKey("spill", p, key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	_, payload, err := DecodeEnvelope(nil, raw, 1<<20)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return string(payload)
}

// 1: a revoke spill that fails keeps nothing behind: the old owner neither
// writes its old value over the new owner's later (same store-wide generation)
// nor serves it when the partition comes back.
func TestRegressRevokeLeftoversNeverComeBack(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			var oom atomic.Bool
			rdbA := be.client(t, oomWhile(&oom)) // one Redis for both stores
			a, _ := newStore(t, rdbA)
			b, _ := newStore(t, rdbA)
			if err := a.Assigned(ctx, 5, 0, 1); err != nil {
				t.Fatal(err)
			}
			a.Put(0, "k", []byte("old"))
			a.Put(1, "j", []byte("a's"))
			oom.Store(true)
			rep, err := a.Revoked(ctx, 0) // generation 6: p0 moves to B, A keeps p1
			oom.Store(false)
			if err == nil || rep.Discarded != 1 || rep.Count(ReasonOOM) != 1 || len(rep.Failures) != 1 {
				t.Fatalf("revoke during OOM: %+v, %v", rep, err)
			}
			if _, ok := a.Get(0, "k"); ok || a.PartitionLen(0) != 0 {
				t.Fatal("the revoked partition's unwritten entry is still served")
			}
			a.Put(0, "k", []byte("late")) // a record processed after the revoke
			if a.PartitionLen(0) != 0 || a.Stats().PutsIgnored != 1 {
				t.Fatal("a Put to a released partition was kept")
			}
			if err := a.Assigned(ctx, 6); err != nil { // A's store-wide generation equals B's
				t.Fatal(err)
			}
			if err := b.Assigned(ctx, 6, 0); err != nil {
				t.Fatal(err)
			}
			b.Put(0, "k", []byte("new"))
			if _, err := b.Revoked(ctx, 0); err != nil {
				t.Fatal(err)
			}
			if rep, err := a.SpillAll(ctx); err != nil || rep.Keys != 1 { // SIGTERM: only p1
				t.Fatalf("SpillAll: %+v, %v", rep, err)
			}
			if got := redisValue(t, rdbA, 0, "k"); got != "new" {
				t.Fatalf("Redis holds %q, want the new owner's value", got)
			}
			// p0 comes back to A: it restores the new owner's value, never its own.
			if err := a.Assigned(ctx, 7, 0); err != nil {
				t.Fatal(err)
			}
			if v, _, _ := a.GetOrRestore(ctx, 0, "k"); string(v) != "new" {
				t.Fatalf("A serves %q after p0 came back", v)
			}
		})
	}
}

// 2: a spill during an in-flight write-through Sync does not drop the only copy
// of the version the Sync was writing, whatever the Sync's write then does.
func TestRegressSpillDuringInflightSync(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			entered, release := make(chan struct{}), make(chan struct{})
			var hold atomic.Bool
			hook := hookFunc{pipeline: func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
				if isTx(cmds) && hold.CompareAndSwap(true, false) {
					close(entered)
					<-release
					err := replyErr("OOM command not allowed when used memory > 'maxmemory'.")
					for _, c := range cmds {
						c.SetErr(err)
					}
					return err // the Sync's write fails after the spill began
				}
				return next(ctx, cmds)
			}}
			rdb := be.client(t, hook)
			s, _ := newStore(t, rdb, WithStrategy(WriteThrough), Retries(1, 0))
			if err := s.Assigned(ctx, 1, 0); err != nil {
				t.Fatal(err)
			}
			s.Put(0, "k", []byte("v1"))
			if _, err := s.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			s.Put(0, "k", []byte("v2"))
			hold.Store(true)
			done := make(chan error, 1)
			go func() { _, err := s.Sync(ctx); done <- err }()
			<-entered
			spilled := make(chan *SpillReport, 1)
			go func() { rep, _ := s.Spill(ctx, 0); spilled <- rep }()
			time.Sleep(20 * time.Millisecond) // the spill waits for the Sync's write lock
			close(release)
			if err := <-done; err == nil {
				t.Fatal("the held Sync should have failed")
			}
			rep := <-spilled
			if rep.Written != 1 || s.Len() != 0 {
				t.Fatalf("spill after the failed Sync: %+v, %d in memory", rep, s.Len())
			}
			if got := redisValue(t, rdb, 0, "k"); got != "v2" {
				t.Fatalf("Redis holds %q, want v2", got)
			}
		})
	}
}

// 4: a Put during a spill is reported and kept, not counted as written; a
// Delete+Put during a spill gets a new version (versions never restart).
func TestRegressPutDuringSpill(t *testing.T) {
	for _, be := range backends(t) {
		for _, del := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/delete=%v", be.name, del), func(t *testing.T) {
				ctx := context.Background()
				var s *Store[[]byte]
				var once sync.Once
				hook := hookFunc{pipeline: func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
					if isTx(cmds) {
						once.Do(func() {
							if del {
								s.Delete(0, "k")
							}
							s.Put(0, "k", []byte("v2")) // the consumer processes a record meanwhile
						})
					}
					return next(ctx, cmds)
				}}
				rdb := be.client(t, hook)
				s, _ = newStore(t, rdb)
				if err := s.Assigned(ctx, 1, 0); err != nil {
					t.Fatal(err)
				}
				s.Put(0, "k", []byte("v1"))
				rep, err := s.Spill(ctx, 0)
				if !errors.Is(err, ErrChanged) || rep.Count(ReasonChanged) != 1 || rep.Written != 0 {
					t.Fatalf("spill: %+v, %v", rep, err)
				}
				if v, ok := s.Get(0, "k"); !ok || string(v) != "v2" {
					t.Fatalf("memory holds %q, %v; want v2 kept", v, ok)
				}
				if rep, err := s.Spill(ctx, 0); err != nil || rep.Written != 1 {
					t.Fatalf("second spill: %+v, %v", rep, err)
				}
				if got := redisValue(t, rdb, 0, "k"); got != "v2" {
					t.Fatalf("Redis holds %q", got)
				}
			})
		}
	}
}

// 5: the delete after a take-mode restore removes only the value it read, and
// nothing once a newer generation claimed the partition between the two round
// trips.
func TestRegressTakeDeletesOnlyWhatItRead(t *testing.T) {
	for _, be := range backends(t) {
		for _, race := range []string{"newer value", "newer claim"} {
			t.Run(be.name+"/"+race, func(t *testing.T) {
				ctx := context.Background()
				var other redis.UniversalClient
				var once sync.Once
				hook := hookFunc{pipeline: func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
					if isTakePipe(cmds) {
						once.Do(func() { // the zombie's pause between its MGET and its delete
							if race == "newer value" {
								other.Set(ctx, RedisKey("spill", 0, "k"), "written by the new owner", time.Minute)
							} else {
								other.Set(ctx, MetaKey("spill", 0, "fence"), 9, time.Minute)
							}
						})
					}
					return next(ctx, cmds)
				}}
				rdb := be.client(t, hook)
				other = rdb
				s, _ := newStore(t, rdb)
				if err := s.Assigned(ctx, 1, 0); err != nil {
					t.Fatal(err)
				}
				s.Put(0, "k", []byte("v1"))
				s.Put(0, "j", []byte("w1"))
				if _, err := s.Spill(ctx, 0); err != nil {
					t.Fatal(err)
				}
				rr, err := s.Restore(ctx, []KeyRef{{0, "k"}, {0, "j"}})
				if race == "newer value" && rr.Restored != 2 {
					t.Fatalf("restore: %+v, %v", rr, err)
				}
				n := rdb.Exists(ctx, RedisKey("spill", 0, "k"), RedisKey("spill", 0, "j")).Val()
				switch race {
				case "newer value":
					if n != 1 || rdb.Get(ctx, RedisKey("spill", 0, "k")).Val() != "written by the new owner" {
						t.Fatalf("the take deleted a value it did not read (%d left)", n)
					}
				case "newer claim":
					if n != 2 || !errors.Is(err, ErrFenced) || rr.Fenced != 2 {
						t.Fatalf("a fenced take deleted %d keys (%+v, %v)", 2-n, rr, err)
					}
					// ...and the store does not serve what it read for a partition it lost.
					if _, ok := s.Get(0, "k"); ok || rr.NotOwned != 2 {
						t.Fatalf("a fenced take still serves the restored value (%+v)", rr)
					}
				}
			})
		}
	}
}

// 6: Sync in back-off says so, and a checkpoint (or write-through) restore keeps
// the Redis copy, so a crash right after it loses at most what the checkpoint
// promises.
func TestRegressSyncDeferredAndCheckpointKeepsCopy(t *testing.T) {
	ctx := context.Background()
	var oom atomic.Bool
	rdb := backends(t)[0].client(t, oomWhile(&oom))
	s, clk := newStore(t, rdb, WithStrategy(WriteThrough), Retries(1, time.Second))
	s.Put(0, "k", []byte("v1"))
	oom.Store(true)
	if s.SyncDeferred() != 0 {
		t.Fatalf("SyncDeferred before any refusal: %v", s.SyncDeferred())
	}
	if _, err := s.Sync(ctx); err == nil {
		t.Fatal("Sync under OOM reported no error")
	}
	oom.Store(false)
	left := s.SyncDeferred()
	if left <= 0 || left > MaxSyncBackoff {
		t.Fatalf("SyncDeferred after a refused Sync: %v, want a back-off in (0, %v]", left, MaxSyncBackoff)
	}
	rep, err := s.Sync(ctx)
	if !errors.Is(err, ErrSyncDeferred) || rep == nil || rep.Written != 0 {
		t.Fatalf("Sync in back-off: %+v, %v; want ErrSyncDeferred", rep, err)
	}
	clk.Advance(left)
	if s.SyncDeferred() != 0 {
		t.Fatalf("SyncDeferred once the back-off (%v) passed: %v", left, s.SyncDeferred())
	}
	clk.Advance(2 * time.Second)
	if rep, err := s.Sync(ctx); err != nil || rep.Written != 1 {
		t.Fatalf("Sync after the back-off: %+v, %v", rep, err)
	}

	ck, _ := newStore(t, rdb, WithStrategy(Checkpoint), CheckpointEvery(time.Hour))
	rr, err := ck.Restore(ctx, []KeyRef{{0, "k"}})
	if err != nil || rr.Restored != 1 {
		t.Fatalf("restore: %+v, %v", rr, err)
	}
	if rdb.Exists(ctx, RedisKey("spill", 0, "k")).Val() != 1 {
		t.Fatal("a checkpoint restore took the copy: a crash now loses the whole context")
	}
}

// 7: take mode leaves in Redis what it cannot decode but another reader might;
// it deletes only what is corrupt (checksum, truncated) or stale.
func TestRegressTakeLeavesUndecodable(t *testing.T) {
	ctx := context.Background()
	rdb := backends(t)[0].client(t)
	c := compressorPool.Get().(*compressor)
	defer compressorPool.Put(c)
	good := appendEnvelope(nil, c, Header{Compression: None, Generation: 1, AsOfMillis: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()}, bytes.Repeat([]byte("x"), 64))
	newer := append([]byte{2}, good[1:]...) // a later envelope version (its checksum is its own business)
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-1] ^= 1
	values := map[string][]byte{"newer": newer, "toolarge": good, "corrupt": corrupt, "truncated": good[:5], "ok": good}
	for k, v := range values {
		rdb.Set(ctx, RedisKey("spill", 0, k), v, time.Minute)
	}
	s, _ := newStore(t, rdb, MaxValueBytes(32)) // a lowered limit: the 64-byte payloads are "too large" for it
	refs := []KeyRef{{0, "newer"}, {0, "toolarge"}, {0, "corrupt"}, {0, "truncated"}}
	rr, _ := s.Restore(ctx, refs)
	if rr.Corrupt != 4 || rr.Left != 2 {
		t.Fatalf("restore: %+v", rr)
	}
	for k, want := range map[string]int64{"newer": 1, "toolarge": 1, "corrupt": 0, "truncated": 0} {
		if got := rdb.Exists(ctx, RedisKey("spill", 0, k)).Val(); got != want {
			t.Errorf("%s: %d in Redis after the take, want %d", k, got, want)
		}
	}
}

// 8: untrusted input neither panics nor allocates without bound, generations are
// checked where they are set, and a TTLFunc may read the store.
func TestRegressUntrustedInput(t *testing.T) {
	if _, err := New[[]byte](nil, BytesCodec{}, Namespace("n"), WithStrategy(MemoryOnly), MaxValueBytes(1<<40)); err == nil {
		t.Fatal("MaxValueBytes(1 TiB) accepted")
	}
	// An LZ4 envelope that claims 16 MiB of output for 10 bytes of input.
	c := compressorPool.Get().(*compressor)
	defer compressorPool.Put(c)
	forged := []byte{EnvelopeVersion, byte(LZ4), 1, 2}
	forged = append(forged, 0x80, 0x80, 0x80, 0x08) // uvarint 16 MiB
	forged = append(forged, bytes.Repeat([]byte{0x1f}, 10)...)
	forged = binaryAppendCRC(forged)
	if _, _, err := DecodeEnvelope(nil, forged, 16<<20); err == nil {
		t.Fatal("forged LZ4 length accepted")
	}
	// A zstd frame of 60 MiB of zeros (a few KB) under a header that claims 100 bytes.
	enc, _ := zstdCodecs()
	bomb := enc.EncodeAll(make([]byte, 60<<20), nil)
	env := []byte{EnvelopeVersion, byte(Zstd), 1, 2, 100}
	env = binaryAppendCRC(append(env, bomb...))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, _, err := DecodeEnvelope(nil, env, 16<<20); err == nil {
		t.Fatal("zstd bomb accepted")
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
		t.Fatalf("decoding a %d-byte zstd envelope allocated %d bytes", len(env), grew)
	}
	s, _ := newStore(t, backends(t)[0].client(t))
	if s.SetGeneration(-1) == nil || s.SetGeneration(MaxGeneration+1) == nil ||
		s.Assigned(context.Background(), MaxGeneration+1, 0) == nil {
		t.Fatal("a generation outside [0, 2^62] was accepted")
	}
	// A TTLFunc that reads the store: called outside the partition locks.
	var st *Store[[]byte]
	st, _ = newStore(t, backends(t)[0].client(t), WithStrategy(WriteThrough),
		TTLFunc(func(p int32, k string) time.Duration { return time.Duration(st.PartitionLen(p)+1) * time.Minute }))
	st.Put(0, "k", []byte("v"))
	if _, err := st.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _, _ = st.Spill(context.Background(), 0); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second): // wallclock-ok: a deadlock guard in a test
		t.Fatal("Spill deadlocked on a TTLFunc that reads the store")
	}
	// A codec that panics fails that key, not the consumer.
	ps, err := New[int](backends(t)[0].client(t), panicCodec{}, Namespace("spill"), WithClock(newFakeClock()))
	if err != nil {
		t.Fatal(err)
	}
	ps.Put(0, "k", 1)
	rep, err := ps.Spill(context.Background(), 0)
	if err == nil || rep.Count(ReasonEncode) != 1 || ps.Len() != 1 {
		t.Fatalf("panicking codec: %+v, %v", rep, err)
	}
}

type panicCodec struct{}

func (panicCodec) Append([]byte, int) ([]byte, error) { panic("codec bug") }
func (panicCodec) Decode([]byte) (int, error)         { panic("codec bug") }

func binaryAppendCRC(b []byte) []byte {
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// 9: two consumer groups (or topics) on one Redis: their fences and keys are apart.
func TestRegressNamespacesDoNotCollide(t *testing.T) {
	ctx := context.Background()
	rdb := backends(t)[0].client(t)
	mk := func(ns string) *Store[[]byte] {
		s, err := New[[]byte](rdb, BytesCodec{}, Namespace(ns), WithClock(newFakeClock()))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := mk(GroupNamespace("billing", "metrics")), mk(GroupNamespace("alerts", "metrics"))
	if err := a.Assigned(ctx, 40, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Assigned(ctx, 3, 0); err != nil {
		t.Fatalf("group alerts fenced out by group billing: %v", err)
	}
	a.Put(0, "k", []byte("a"))
	b.Put(0, "k", []byte("b"))
	for _, s := range []*Store[[]byte]{a, b} {
		if _, err := s.Spill(ctx, 0); err != nil {
			t.Fatal(err)
		}
	}
	if redistest.Slot(RedisKey("billing/metrics", 0, "k")) == redistest.Slot(RedisKey("alerts/metrics", 0, "k")) {
		t.Fatal("partition 0 of two namespaces on one Cluster slot")
	}
	for s, want := range map[*Store[[]byte]]string{a: "a", b: "b"} {
		if v, _, _ := s.GetOrRestore(ctx, 0, "k"); string(v) != want {
			t.Fatalf("%s restored %q, want %q", s.cfg.namespace, v, want)
		}
	}
}

// 10: errors.Is finds every reason of a SpillError, whichever batch failed first.
func TestRegressSpillErrorUnwrapsEveryReason(t *testing.T) {
	ctx := context.Background()
	rdb := backends(t)[0].client(t)
	hook := hookFunc{pipeline: func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
		for _, k := range setKeys(cmds) {
			if kp, _ := ParseRedisKey(k); kp.Partition == 0 && isTx(cmds) { // partition 0's batch: OOM
				err := replyErr("OOM command not allowed when used memory > 'maxmemory'.")
				for _, c := range cmds {
					c.SetErr(err)
				}
				return err
			}
		}
		return next(ctx, cmds)
	}}
	rdb.AddHook(hook)
	s, _ := newStore(t, rdb)
	if err := s.Assigned(ctx, 1, 0, 1); err != nil {
		t.Fatal(err)
	}
	rdb.Set(ctx, MetaKey("spill", 1, "fence"), 2, time.Minute) // partition 1: a newer owner
	s.Put(0, "k", []byte("v"))
	s.Put(1, "k", []byte("v"))
	_, err := s.Spill(ctx, 0, 1)
	var se *SpillError
	if !errors.As(err, &se) || !errors.Is(err, ErrFenced) || se.ByReason[ReasonOOM] != 1 || len(se.Errs) != 2 {
		t.Fatalf("err = %v (%+v): want both the OOM and the fence visible", err, se)
	}
}

// 11: with WaitReplicas, a spill drops entries only once a replica has them.
func TestRegressWaitReplicas(t *testing.T) {
	if !redistest.Available() {
		t.Skip("redis-server not on PATH")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	master, err := redistest.Start("", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer master.Stop()
	port := master.Addr[strings.LastIndexByte(master.Addr, ':')+1:]
	replica, err := redistest.Start("", []string{"--replicaof", "127.0.0.1", port})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rdb := redistest.Client(master.Addr)
	defer rdb.Close()
	for i := 0; ; i++ { // wait for the replica's initial sync
		if strings.Contains(rdb.Info(ctx, "replication").Val(), "connected_slaves:1") &&
			strings.Contains(redistest.Client(replica.Addr).Info(ctx, "replication").Val(), "master_link_status:up") {
			break
		}
		if i > 500 {
			t.Fatal("the replica never synced")
		}
		time.Sleep(10 * time.Millisecond) // wallclock-ok: waiting for a real server
	}
	s, _ := newStore(t, rdb, WaitReplicas(1, 2*time.Second))
	if err := s.Assigned(ctx, 1, 0); err != nil {
		t.Fatal(err)
	}
	fill(s, 0, 50, ctxValue)
	if rep, err := s.Spill(ctx, 0); err != nil || rep.Written != 50 || s.Len() != 0 {
		t.Fatalf("spill with a replica: %+v, %v", rep, err)
	}
	replica.Stop()
	for i := 0; strings.Contains(rdb.Info(ctx, "replication").Val(), "connected_slaves:1"); i++ {
		if i > 500 {
			t.Fatal("the master still counts the stopped replica")
		}
		time.Sleep(10 * time.Millisecond) // wallclock-ok: waiting for a real server
	}
	s2, _ := newStore(t, rdb, WaitReplicas(1, 100*time.Millisecond))
	if err := s2.Assigned(ctx, 1, 1); err != nil {
		t.Fatal(err)
	}
	fill(s2, 1, 50, ctxValue)
	rep, err := s2.Spill(ctx, 1)
	if err == nil || rep.Count(ReasonNotReplicated) != 50 || s2.Len() != 50 {
		t.Fatalf("spill without a replica: %+v, %v; want all kept, not replicated", rep, err)
	}
}

// The ACL core/doc.go prints is enough for everything the store does (real
// redis-server only: miniredis has no ACL).
func TestDocACLIsEnough(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	addr, ok := redistest.Shared(t)
	if !ok {
		t.Skip("redis-server not on PATH")
	}
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var acl []string
	for _, line := range strings.Split(string(doc), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(line, "//"))
		if strings.HasPrefix(line, "ACL SETUSER") || len(acl) > 0 && strings.HasPrefix(line, "+") {
			acl = append(acl, strings.Fields(line)...)
		} else if len(acl) > 0 {
			break
		}
	}
	if len(acl) < 5 {
		t.Fatalf("no ACL in doc.go: %q", acl)
	}
	ctx := context.Background()
	admin := redistest.Client(addr)
	defer admin.Close()
	args := make([]any, 0, len(acl))
	for _, a := range acl {
		args = append(args, strings.ReplaceAll(a, "rates/metrics", "acl/test"))
	}
	if err := admin.Do(ctx, args...).Err(); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	defer admin.Do(ctx, "ACL", "DELUSER", "spill")
	admin.ScriptFlush(ctx) // the store must load its scripts itself
	rdb := redis.NewClient(&redis.Options{Addr: addr, Username: "spill", Password: "secret", MaxRetries: -1,
		MaintNotificationsConfig: noMaint})
	defer rdb.Close()
	for i, strategy := range []Strategy{SpillOnRevoke, WriteThrough} {
		gen := int64(10*i + 3)
		s, err := New[[]byte](rdb, BytesCodec{}, Namespace("acl/test"), WithClock(newFakeClock()), WithStrategy(strategy),
			Manifest(true), WaitReplicas(0, time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Assigned(ctx, gen, 0, 1); err != nil {
			t.Fatal(err)
		}
		keys := fill(s, 0, 20, ctxValue)
		if _, err := s.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if rep, err := s.Revoked(ctx, 0); err != nil || rep.Written+rep.AlreadyWritten != 20 {
			t.Fatalf("%v revoke: %+v, %v", strategy, rep, err)
		}
		if err := s.Assigned(ctx, gen+1, 0); err != nil {
			t.Fatal(err)
		}
		if rr, err := s.Warm(ctx, 0); err != nil || rr.Restored != 20 {
			t.Fatalf("%v warm: %+v, %v", strategy, rr, err)
		}
		s.Drop(0)
		if rr, err := s.Restore(ctx, []KeyRef{{0, keys[0]}}); err != nil {
			t.Fatalf("%v restore: %+v, %v", strategy, rr, err)
		}
	}
}

// Found by the franz-go example: a consumer group that is recreated restarts its
// generations at 1 while the fences still hold the old ones. Its members are
// fenced out (they must use a new namespace, or delete the fences), and they
// never serve the old group's copies as if they were current.
func TestRegressRecreatedGroupServesNothingStale(t *testing.T) {
	ctx := context.Background()
	rdb := backends(t)[0].client(t)
	old, _ := newStore(t, rdb)
	if err := old.Assigned(ctx, 7, 0); err != nil {
		t.Fatal(err)
	}
	old.Put(0, "k", []byte("1"))
	if _, err := old.Revoked(ctx, 0); err != nil {
		t.Fatal(err)
	}
	for gen, name := range []string{"a", "b"} {
		s, _ := newStore(t, rdb)
		if err := s.Assigned(ctx, int64(gen+1), 0); !errors.Is(err, ErrFenced) {
			t.Fatalf("%s: Assigned = %v, want ErrFenced", name, err)
		}
		rr, err := s.Restore(ctx, []KeyRef{{0, "k"}})
		if rr.Restored != 0 || rr.NotOwned != 1 || err != nil {
			t.Fatalf("%s restored the old group's copy: %+v, %v", name, rr, err)
		}
		s.Put(0, "k", []byte("2"))
		if _, ok := s.Get(0, "k"); ok {
			t.Fatalf("%s keeps context of a partition it is fenced out of", name)
		}
		if rep, _ := s.Revoked(ctx, 0); rep.Written != 0 || len(rep.Fenced) != 1 {
			t.Fatalf("%s revoke: %+v", name, rep)
		}
	}
}

// Found in review: a worker kept its connection after a network error (go-redis
// marks it bad), so every retry and every later batch of that worker failed at
// once. A restarted server now costs one attempt, not the spill.
func TestRegressWorkerRedialsAfterNetworkError(t *testing.T) {
	ctx := context.Background()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), DisableIdentity: true, MaxRetries: -1, MaintNotificationsConfig: noMaint})
	defer rdb.Close()
	var once sync.Once
	rdb.AddHook(hookFunc{pipeline: func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
		if isTx(cmds) {
			once.Do(func() { mr.Close(); _ = mr.Restart() }) // the server restarts under the first batch
		}
		return next(ctx, cmds)
	}})
	s, _ := newStore(t, rdb, SpillParallelism(1), SpillBatch(10), Retries(3, 0))
	if err := s.Assigned(ctx, 1, 0); err != nil {
		t.Fatal(err)
	}
	fill(s, 0, 50, ctxValue)
	rep, err := s.Spill(ctx, 0)
	if err != nil || rep.Written != 50 {
		t.Fatalf("spill across a restart: written %d of 50, %d sends, err %v", rep.Written, rep.Batches, err)
	}
}

// Found in review: a writer already past the write lock (a Sync) kept writing a
// partition that Lost or Revoked released meanwhile. It now checks before each send.
func TestRegressWriterStopsAtRelease(t *testing.T) {
	ctx := context.Background()
	var s *Store[[]byte]
	var txs, afterLost atomic.Int64
	var lost atomic.Bool
	rdb := backends(t)[0].client(t, hookFunc{pipeline: func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
		if isTx(cmds) {
			if lost.Load() {
				afterLost.Add(1)
			}
			if txs.Add(1) == 1 {
				s.Lost(0) // the session expired while the Sync wrote
				lost.Store(true)
			}
		}
		return next(ctx, cmds)
	}})
	s, _ = newStore(t, rdb, WithStrategy(WriteThrough), SpillParallelism(1), SpillBatch(2))
	if err := s.Assigned(ctx, 1, 0); err != nil {
		t.Fatal(err)
	}
	fill(s, 0, 6, ctxValue)
	rep, _ := s.Sync(ctx)
	if afterLost.Load() != 0 || rep.Count(ReasonCanceled) != 4 {
		t.Fatalf("%d transactions after Lost, report %+v", afterLost.Load(), rep)
	}
}
