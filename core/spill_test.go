package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

func ctxValue(p int32, i int) []byte {
	return []byte(fmt.Sprintf("p%02d-k%06d|prev=%012d|ts=1767225600|host=web-%02d|", p, i, i*37, i%16))
}

func fill[V any](s *Store[V], p int32, n int, val func(p int32, i int) V) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("dp:%06d", i)
		s.Put(p, keys[i], val(p, i))
	}
	return keys
}

func newStore(t *testing.T, rdb redis.UniversalClient, opts ...Opt) (*Store[[]byte], *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	s, err := New[[]byte](rdb, BytesCodec{}, append([]Opt{Namespace("spill"), WithClock(clk), TTL(3 * time.Minute), SpillBatch(100)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s, clk
}

func TestSpillAndRestore(t *testing.T) {
	for _, be := range backends(t) {
		for _, fenced := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/fencing=%v", be.name, fenced), func(t *testing.T) {
				ctx := context.Background()
				rdb := be.client(t)
				s, _ := newStore(t, rdb, Fencing(fenced), SpillParallelism(4))
				if err := s.Assigned(ctx, 5, 0, 1); err != nil {
					t.Fatal(err)
				}
				keys := fill(s, 0, 1234, ctxValue)
				fill(s, 1, 10, ctxValue)
				rep, err := s.Spill(ctx, 0)
				if err != nil {
					t.Fatalf("spill: %v", err)
				}
				if rep.Keys != 1234 || rep.Written != 1234 || rep.NotWritten != 0 || rep.Dropped != 1234 || rep.Batches != 13 {
					t.Fatalf("report = %+v", rep)
				}
				if rep.RawBytes <= 0 || rep.WireBytes <= 0 || rep.WireBytes >= rep.RawBytes+int64(1234*MaxEnvelopeHeader) {
					t.Fatalf("bytes raw=%d wire=%d", rep.RawBytes, rep.WireBytes)
				}
				if s.PartitionLen(0) != 0 || s.PartitionLen(1) != 10 {
					t.Fatalf("local after spill: p0=%d p1=%d", s.PartitionLen(0), s.PartitionLen(1))
				}
				ttl := rdb.PTTL(ctx, "{spill:0}:dp:000007").Val()
				if ttl <= 2*time.Minute || ttl > 3*time.Minute {
					t.Fatalf("PTTL = %v, want ≈3m", ttl)
				}
				refs := []KeyRef{{0, keys[7]}, {0, "dp:never"}, {0, keys[8]}, {0, keys[7]}, {1, "dp:000003"}}
				rr, err := s.Restore(ctx, refs)
				if err != nil {
					t.Fatal(err)
				}
				want := []Outcome{OutcomeRestored, OutcomeMissing, OutcomeRestored, OutcomeLocal, OutcomeLocal}
				if !slices.Equal(rr.Outcomes, want) || rr.Restored != 2 || rr.Missing != 1 || rr.Local != 2 {
					t.Fatalf("outcomes = %v (%+v), want %v", rr.Outcomes, rr, want)
				}
				if v, ok := s.Get(0, keys[8]); !ok || !bytes.Equal(v, ctxValue(0, 8)) {
					t.Fatalf("restored value = %q", v)
				}
				if n := rdb.Exists(ctx, "{spill:0}:dp:000007").Val(); n != 0 {
					t.Fatal("restore did not take the entry (MGET, then UNLINK)")
				}
				st := s.Stats()
				if st.SpilledKeys != 1234 || st.Restored != 2 || st.RedisMisses != 1 {
					t.Fatalf("stats = %+v", st)
				}
			})
		}
	}
}

func TestRestoreDiscardsStaleAndCorrupt(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			rdb := be.client(t)
			s, clk := newStore(t, rdb, MaxAge(5*time.Minute), KeepOnRestore(true), TTL(time.Hour))
			keys := fill(s, 2, 3, ctxValue)
			if _, err := s.SpillAll(ctx); err != nil {
				t.Fatal(err)
			}
			good, _ := rdb.Get(ctx, "{spill:2}:"+keys[0]).Bytes()
			rdb.Set(ctx, "{spill:2}:"+keys[1], "not an envelope", 0)
			rdb.Set(ctx, "{spill:2}:"+keys[2], good[:len(good)-2], 0)
			rr, err := s.Restore(ctx, []KeyRef{{2, keys[0]}, {2, keys[1]}, {2, keys[2]}})
			if err != nil || !slices.Equal(rr.Outcomes, []Outcome{OutcomeRestored, OutcomeCorrupt, OutcomeCorrupt}) {
				t.Fatalf("outcomes = %v, err = %v", rr.Outcomes, err)
			}
			s.Delete(2, keys[0])
			clk.Advance(5*time.Minute + time.Second)
			rr, _ = s.Restore(ctx, []KeyRef{{2, keys[0]}})
			if rr.Outcomes[0] != OutcomeStale {
				t.Fatalf("after max age: %v", rr.Outcomes)
			}
			if _, ok := s.Get(2, keys[0]); ok {
				t.Fatal("stale entry was installed")
			}
			if st := s.Stats(); st.StaleDiscarded != 1 || st.DecodeErrors != 2 {
				t.Fatalf("stats = %+v", st)
			}
		})
	}
}

func TestFencingRefusesZombie(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			rdb := be.client(t)
			zombie, _ := newStore(t, rdb)
			owner, _ := newStore(t, rdb)
			if err := zombie.Assigned(ctx, 3, 4); err != nil {
				t.Fatal(err)
			}
			fill(zombie, 4, 250, func(p int32, i int) []byte { return []byte("old") })
			// The zombie pauses; the group moves partition 4 to a new owner in generation 4.
			if err := owner.Assigned(ctx, 4, 4); err != nil {
				t.Fatal(err)
			}
			owner.Put(4, "dp:000001", []byte("new"))
			if _, err := owner.Spill(ctx, 4); err != nil {
				t.Fatal(err)
			}
			rep, err := zombie.Spill(ctx, 4)
			var se *SpillError
			if !errors.As(err, &se) || !errors.Is(err, ErrFenced) {
				t.Fatalf("zombie spill err = %v, want a SpillError wrapping ErrFenced", err)
			}
			// The fence proves a newer owner: the zombie keeps nothing it could serve stale.
			if rep.Count(ReasonFenced) != 250 || rep.Written != 0 || rep.Dropped != 0 || rep.Discarded != 250 ||
				len(rep.Fenced) != 1 || rep.Fenced[0] != 4 || zombie.Len() != 0 {
				t.Fatalf("zombie report = %+v, len = %d", rep, zombie.Len())
			}
			if zombie.Put(4, "dp:000001", []byte("late")); zombie.Len() != 0 {
				t.Fatal("the fenced-out zombie keeps Puts of the partition")
			}
			if got := rdb.Get(ctx, "{spill:4}:dp:000001").Val(); !strings.Contains(got, "new") && !strings.Contains(string(decodeOrEmpty(got)), "new") {
				t.Fatalf("the newer owner's entry was overwritten: %q", got)
			}
			if zombie.Stats().FencedWrites != 250 {
				t.Fatalf("FencedWrites = %d", zombie.Stats().FencedWrites)
			}
			if err := zombie.Assigned(ctx, 3, 4); !errors.Is(err, ErrFenced) {
				t.Fatalf("stale claim err = %v, want ErrFenced", err)
			}
		})
	}
}

// TestZombieRestoreLeavesTheNewOwnersCopies: a zombie (generation 3) that
// resumes and restores neither uses nor takes the copies once the new owner
// (generation 4) has claimed the partition; the new owner then restores every
// one. Without fencing, or with no newer claim, a restore takes.
func TestZombieRestoreLeavesTheNewOwnersCopies(t *testing.T) {
	for _, be := range backends(t) {
		for _, fenced := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/fencing=%v", be.name, fenced), func(t *testing.T) {
				ctx := context.Background()
				rdb := be.client(t)
				prev, _ := newStore(t, rdb, Fencing(fenced))     // the partition's owner before the zombie
				zombie, _ := newStore(t, rdb, Fencing(fenced))   // owns it in generation 3, then pauses
				newOwner, _ := newStore(t, rdb, Fencing(fenced)) // gets it in generation 4
				if err := prev.Assigned(ctx, 2, 7); err != nil {
					t.Fatal(err)
				}
				keys := fill(prev, 7, 120, ctxValue)
				if _, err := prev.Spill(ctx, 7); err != nil {
					t.Fatal(err)
				}
				if err := zombie.Assigned(ctx, 3, 7); err != nil {
					t.Fatal(err)
				}
				refs := make([]KeyRef, len(keys))
				for i, k := range keys {
					refs[i] = KeyRef{7, k}
				}
				// The zombie restores the first 20 while it still owns the partition.
				if rep, err := zombie.Restore(ctx, refs[:20]); err != nil || rep.Restored != 20 || rep.Fenced != 0 {
					t.Fatalf("owner's restore: %+v %v", rep, err)
				}
				if err := newOwner.Assigned(ctx, 4, 7); err != nil {
					t.Fatal(err)
				}
				rep, err := zombie.Restore(ctx, refs[20:])
				if fenced && (rep.Restored != 0 || rep.NotOwned != 100 || zombie.PartitionLen(7) != 0) ||
					!fenced && rep.Restored != 100 {
					t.Fatalf("zombie's restore: %+v", rep)
				}
				wantFenced := 0
				if fenced {
					wantFenced = 100
					if !errors.Is(err, ErrFenced) {
						t.Fatalf("zombie's restore err = %v, want ErrFenced", err)
					}
				} else if err != nil {
					t.Fatal(err)
				}
				if rep.Fenced != wantFenced {
					t.Fatalf("Fenced = %d, want %d", rep.Fenced, wantFenced)
				}
				rep, err = newOwner.Restore(ctx, refs[20:])
				if err != nil || rep.Restored != wantFenced || rep.Missing != 100-wantFenced {
					t.Fatalf("new owner's restore: restored %d missing %d (%v); want %d restored",
						rep.Restored, rep.Missing, err, wantFenced)
				}
				if n := rdb.Exists(ctx, prefixed(7, keys)...).Val(); n != 0 {
					t.Fatalf("%d keys left in Redis after the new owner took them", n)
				}
			})
		}
	}
}

func decodeOrEmpty(s string) []byte {
	_, p, err := DecodeEnvelope(nil, []byte(s), 1<<20)
	if err != nil {
		return nil
	}
	return p
}

func TestWriteThroughAndCheckpoint(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name+"/write-through", func(t *testing.T) {
			ctx := context.Background()
			rdb := be.client(t)
			s, _ := newStore(t, rdb, WithStrategy(WriteThrough))
			fill(s, 0, 300, ctxValue)
			rep, err := s.Sync(ctx)
			if err != nil || rep.Written != 300 || s.Len() != 300 {
				t.Fatalf("sync: %+v %v len=%d", rep, err, s.Len())
			}
			if n := rdb.DBSize(ctx).Val(); n < 300 {
				t.Fatalf("DBSIZE = %d", n)
			}
			s.Put(0, "dp:000005", []byte("changed"))
			s.Put(0, "dp:000005", []byte("changed again"))
			rep, _ = s.Sync(ctx)
			if rep.Written != 1 {
				t.Fatalf("second sync wrote %d, want 1 (only the updated key, once)", rep.Written)
			}
			rep, err = s.Spill(ctx, 0)
			if err != nil || rep.Written != 0 || rep.AlreadyWritten != 300 || rep.Dropped != 300 {
				t.Fatalf("spill after sync: %+v %v", rep, err)
			}
		})
		t.Run(be.name+"/checkpoint", func(t *testing.T) {
			ctx := context.Background()
			rdb := be.client(t)
			s, clk := newStore(t, rdb, WithStrategy(Checkpoint), CheckpointEvery(30*time.Second))
			fill(s, 0, 50, ctxValue)
			if rep, _ := s.Sync(ctx); rep != nil {
				t.Fatalf("checkpoint before its period: %+v", rep)
			}
			clk.Advance(30 * time.Second)
			rep, err := s.Sync(ctx)
			if err != nil || rep == nil || rep.Written != 50 {
				t.Fatalf("checkpoint: %+v %v", rep, err)
			}
			s.Put(0, "dp:000001", []byte("dirty"))
			clk.Advance(10 * time.Second)
			rep, err = s.Spill(ctx, 0)
			if err != nil || rep.Written != 1 || rep.AlreadyWritten != 49 {
				t.Fatalf("spill after checkpoint: %+v %v", rep, err)
			}
		})
	}
}

// TestSpillRewritesCopiesRedisLost: a write-through entry already written is
// dropped on spill only when Redis still has it. After a FLUSHALL (a restart
// without persistence) every one is written again; after one key is deleted
// (evicted), its chunk of SpillBatch keys is; when the check itself fails, nothing
// is dropped that was not written.
func TestSpillRewritesCopiesRedisLost(t *testing.T) {
	for _, be := range backends(t) {
		cases := []struct {
			name          string
			lose          func(ctx context.Context, rdb redis.UniversalClient)
			rewritten     int
			already       int
			failCheckOnly bool
		}{
			{name: "nothing lost", lose: func(context.Context, redis.UniversalClient) {}, already: 250},
			{name: "flushed", lose: func(ctx context.Context, rdb redis.UniversalClient) { rdb.FlushAll(ctx) }, rewritten: 250},
			{name: "one evicted", lose: func(ctx context.Context, rdb redis.UniversalClient) {
				rdb.Del(ctx, "{spill:0}:dp:000120")
			}, rewritten: 1, already: 249},
			{name: "older copy", lose: func(ctx context.Context, rdb redis.UniversalClient) {
				// What an RDB reload or a failover leaves: the key exists, in an older version.
				c := compressorPool.Get().(*compressor)
				old := appendEnvelope(nil, c, Header{Compression: LZ4, Generation: 1, AsOfMillis: 1}, []byte("older"))
				rdb.Set(ctx, "{spill:0}:dp:000007", old, time.Minute)
			}, rewritten: 1, already: 249},
			{name: "check refused", lose: func(context.Context, redis.UniversalClient) {}, failCheckOnly: true, rewritten: 250},
		}
		for _, tc := range cases {
			t.Run(be.name+"/"+tc.name, func(t *testing.T) {
				ctx := context.Background()
				var refuse atomic.Bool
				rdb := be.client(t, refuseHook{cmd: "getrange", on: &refuse})
				s, _ := newStore(t, rdb, WithStrategy(WriteThrough))
				if err := s.Assigned(ctx, 1, 0); err != nil {
					t.Fatal(err)
				}
				keys := fill(s, 0, 250, ctxValue)
				if rep, err := s.Sync(ctx); err != nil || rep.Written != 250 {
					t.Fatalf("sync: %+v %v", rep, err)
				}
				tc.lose(ctx, rdb)
				refuse.Store(tc.failCheckOnly)
				rep, err := s.Spill(ctx, 0)
				if err != nil || rep.Rewritten != tc.rewritten || rep.Written != tc.rewritten ||
					rep.AlreadyWritten != tc.already || rep.Dropped != 250 {
					t.Fatalf("spill: Rewritten %d Written %d AlreadyWritten %d Dropped %d (%v); want %d, %d, %d, 250",
						rep.Rewritten, rep.Written, rep.AlreadyWritten, rep.Dropped, err, tc.rewritten, tc.rewritten, tc.already)
				}
				refuse.Store(false)
				if n := rdb.Exists(ctx, prefixed(0, keys)...).Val(); n != 250 {
					t.Fatalf("%d of 250 keys in Redis after the spill", n)
				}
			})
		}
	}
}

// TestSpillKeepsUnconfirmedCopiesWhenRedisIsDown: the check fails and so do the
// rewrites: every entry stays in memory and is reported, none is dropped.
func TestSpillKeepsUnconfirmedCopiesWhenRedisIsDown(t *testing.T) {
	ctx := context.Background()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), DisableIdentity: true, MaxRetries: -1, MaintNotificationsConfig: noMaint})
	t.Cleanup(func() { rdb.Close() })
	s, _ := newStore(t, rdb, WithStrategy(WriteThrough), Fencing(false))
	fill(s, 0, 50, ctxValue)
	if rep, err := s.Sync(ctx); err != nil || rep.Written != 50 {
		t.Fatalf("sync: %+v %v", rep, err)
	}
	mr.Close()
	rep, err := s.Spill(ctx, 0)
	if err == nil || rep.Dropped != 0 || rep.NotWritten != 50 || s.Len() != 50 || rep.Rewritten != 50 {
		t.Fatalf("spill with Redis down: %+v %v len=%d", rep, err, s.Len())
	}
}

func prefixed(p int32, keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("{spill:%d}:%s", p, k)
	}
	return out
}

// refuseHook fails every command named cmd while on is set.
type refuseHook struct {
	cmd string
	on  *atomic.Bool
}

func (h refuseHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h refuseHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, c redis.Cmder) error {
		if h.on.Load() && c.Name() == h.cmd {
			c.SetErr(errors.New("ERR refused by the test"))
			return c.Err()
		}
		return next(ctx, c)
	}
}
func (h refuseHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if h.on.Load() {
			refused := false
			for _, c := range cmds {
				if c.Name() == h.cmd {
					c.SetErr(errors.New("ERR refused by the test"))
					refused = true
				}
			}
			if refused {
				return nil
			}
		}
		return next(ctx, cmds)
	}
}

func TestFailureModesAreReportedPerKey(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		want      Reason
		retryable bool
	}{
		{"oom", replyErr("OOM command not allowed when used memory > 'maxmemory'."), ReasonOOM, false},
		{"misconf", replyErr("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk."), ReasonMisconf, false},
		{"readonly", replyErr("READONLY You can't write against a read only replica."), ReasonReadOnly, true},
		{"timeout", timeoutErr{}, ReasonTimeout, true},
		{"loading", replyErr("LOADING Redis is loading the dataset in memory"), ReasonUnavailable, true},
		{"other", replyErr("ERR something odd"), ReasonOther, false},
	}
	for _, fenced := range []bool{true, false} {
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s/fencing=%v", tc.name, fenced), func(t *testing.T) {
				var calls atomic.Int64
				rdb := backends(t)[0].client(t, failWrites(tc.err, &calls))
				s, _ := newStore(t, rdb, Fencing(fenced), SpillBatch(10), Retries(3, 0), SpillParallelism(2))
				fill(s, 0, 40, ctxValue)
				rep, err := s.Spill(context.Background(), 0)
				if err == nil || rep.Count(tc.want) != 40 || rep.NotWritten != 40 || rep.Written != 0 {
					t.Fatalf("report = %+v, err = %v; want 40 × %v", rep, err, tc.want)
				}
				if s.Len() != 40 || rep.Dropped != 0 {
					t.Fatalf("dropped entries that were not written: len = %d", s.Len())
				}
				if len(rep.Failures) != 40 || rep.Failures[0].Reason != tc.want || rep.Failures[0].Err == nil {
					t.Fatalf("failures = %v", rep.Failures[:1])
				}
				wantCalls := int64(4)
				if tc.retryable {
					wantCalls = 12
				}
				if calls.Load() != wantCalls {
					t.Fatalf("%d write calls, want %d (4 batches, retried=%v)", calls.Load(), wantCalls, tc.retryable)
				}
			})
		}
	}
}

func TestConnectionRefused(t *testing.T) {
	port, _ := freePort() // nothing listens there
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), DisableIdentity: true, MaxRetries: -1})
	defer rdb.Close()
	s, _ := newStore(t, rdb, Retries(2, 0))
	fill(s, 0, 30, ctxValue)
	rep, err := s.Spill(context.Background(), 0)
	if err == nil || rep.Count(ReasonUnavailable) != 30 || s.Len() != 30 {
		t.Fatalf("report = %+v err = %v len = %d", rep, err, s.Len())
	}
	rr, err := s.Restore(context.Background(), []KeyRef{{1, "x"}})
	if err == nil || rr.Outcomes[0] != OutcomeFailed {
		t.Fatalf("restore with Redis down: %v %v", rr.Outcomes, err)
	}
}

// budgetHook gives each spill worker a budget of batches, then answers with a
// deadline error — what the simulator's hook does with virtual time.
func budgetHook(perWorker int) redis.Hook {
	var mu sync.Mutex
	used := map[int]int{}
	over := func(ctx context.Context) (int, bool, bool) {
		w, ok := SpillWorker(ctx)
		if !ok {
			return 0, false, false
		}
		mu.Lock()
		defer mu.Unlock()
		return w, true, used[w] >= perWorker
	}
	return hookFunc{
		process: func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
			if _, _, out := over(ctx); out && !isInit(cmd) {
				cmd.SetErr(context.DeadlineExceeded)
				return context.DeadlineExceeded
			}
			return next(ctx, cmd)
		},
		pipeline: func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
			w, ok, out := over(ctx)
			if out {
				for _, c := range cmds {
					c.SetErr(context.DeadlineExceeded)
				}
				return context.DeadlineExceeded
			}
			err := next(ctx, cmds)
			if ok && isTx(cmds) { // a batch is its transaction; the WATCH round trip before it is free
				mu.Lock()
				used[w]++
				mu.Unlock()
			}
			return err
		},
	}
}

func TestDeadlineCutIsDeterministic(t *testing.T) {
	var first []string
	for run := 0; run < 5; run++ {
		rdb := backends(t)[0].client(t, budgetHook(3))
		s, _ := newStore(t, rdb, SpillParallelism(4), SpillBatch(50))
		fill(s, 0, 1000, ctxValue)
		fill(s, 1, 1000, ctxValue)
		rep, err := s.SpillAll(context.Background())
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want deadline", err)
		}
		// 40 batches dealt round-robin to 4 workers, 3 each fit: batches 0..11 = 600 keys of partition 0.
		if rep.Written != 600 || rep.Count(ReasonDeadline) != 1400 || s.Len() != 1400 {
			t.Fatalf("written=%d deadline=%d len=%d", rep.Written, rep.Count(ReasonDeadline), s.Len())
		}
		left := append(s.Keys(0), s.Keys(1)...)
		if run == 0 {
			first = left
			if left[0] != "dp:000600" {
				t.Fatalf("first kept key = %s, want dp:000600", left[0])
			}
		} else if !slices.Equal(first, left) {
			t.Fatalf("run %d kept a different set of keys", run)
		}
	}
}

func TestContextDeadlineStopsSpill(t *testing.T) {
	rdb := backends(t)[0].client(t)
	s, _ := newStore(t, rdb)
	fill(s, 0, 100, ctxValue)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := s.Spill(ctx, 0)
	if !errors.Is(err, context.Canceled) || rep.Count(ReasonCanceled) != 100 || s.Len() != 100 {
		t.Fatalf("report = %+v err = %v", rep, err)
	}
}

// TestRestoreBatchRoundTrips: a batch restore of 500 keys over 5 partitions is one
// round trip with KeepOnRestore (an MGET per partition) and two in take mode (the
// MGETs with a GET of each partition's fence, then an UNLINK per partition of the
// keys read); a take that reads nothing deletes nothing, and keys already in memory
// cost no round trip.
func TestRestoreBatchRoundTrips(t *testing.T) {
	for _, tc := range []struct {
		name    string
		keep    bool
		spilled bool     // the keys are in Redis (else never spilled: all missing)
		local   bool     // the keys are still in memory
		want    []string // pipelines, each as its commands' names
		left    int      // data keys in Redis afterwards
	}{
		{name: "keep", keep: true, spilled: true, want: []string{"mget×5 get×5"}, left: 500},
		{name: "take", spilled: true, want: []string{"mget×5 get×5", "evalsha×5"}},
		{name: "take/all-missing", want: []string{"mget×5 get×5"}},
		{name: "take/all-local", local: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			var single atomic.Int64
			var mu sync.Mutex
			var pipes []string
			counter := hookFunc{
				process: func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
					if !isInit(cmd) {
						single.Add(1)
					}
					return next(ctx, cmd)
				},
				pipeline: func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
					n := map[string]int{}
					var names []string
					for _, c := range cmds {
						if n[c.Name()]++; n[c.Name()] == 1 {
							names = append(names, c.Name())
						}
					}
					desc := ""
					for _, name := range names {
						desc += fmt.Sprintf(" %s×%d", name, n[name])
					}
					mu.Lock()
					pipes = append(pipes, strings.TrimSpace(desc))
					mu.Unlock()
					return next(ctx, cmds)
				},
			}
			rdb := backends(t)[0].client(t, counter)
			s, _ := newStore(t, rdb, KeepOnRestore(tc.keep))
			var refs []KeyRef
			for p := int32(0); p < 5; p++ {
				for _, k := range fill(s, p, 100, ctxValue) {
					refs = append(refs, KeyRef{p, k})
				}
			}
			if tc.spilled {
				if _, err := s.SpillAll(ctx); err != nil {
					t.Fatal(err)
				}
			} else if !tc.local {
				s.Drop(0, 1, 2, 3, 4)
			}
			single.Store(0)
			pipes = nil
			rr, err := s.Restore(ctx, refs)
			want := map[bool]int{true: 500}
			if err != nil || rr.Restored != want[tc.spilled] || rr.Missing != want[!tc.spilled && !tc.local] ||
				rr.Local != want[tc.local] || rr.Undeleted != 0 {
				t.Fatalf("restore: %+v %v", rr, err)
			}
			if single.Load() != 0 || !slices.Equal(pipes, tc.want) {
				t.Fatalf("%d single commands + pipelines %q for 500 keys, want pipelines %q",
					single.Load(), pipes, tc.want)
			}
			left := 0
			for _, r := range refs {
				left += int(rdb.Exists(ctx, fmt.Sprintf("{spill:%d}:%s", r.Partition, r.Key)).Val())
			}
			if left != tc.left {
				t.Fatalf("%d restored keys left in Redis, want %d", left, tc.left)
			}
		})
	}
}

func TestWarmFromManifest(t *testing.T) {
	for _, be := range backends(t) {
		for _, fenced := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/fencing=%v", be.name, fenced), func(t *testing.T) {
				ctx := context.Background()
				rdb := be.client(t)
				a, _ := newStore(t, rdb, Manifest(true), Fencing(fenced))
				fill(a, 6, 777, ctxValue)
				if _, err := a.Spill(ctx, 6); err != nil {
					t.Fatal(err)
				}
				b, _ := newStore(t, rdb, Manifest(true), Fencing(fenced))
				rr, err := b.Warm(ctx, 6)
				if err != nil || rr.Restored != 777 || b.PartitionLen(6) != 777 {
					t.Fatalf("warm: %+v %v", rr, err)
				}
				if rdb.Exists(ctx, "{spill:6}#keys").Val() != 0 {
					t.Fatal("manifest left behind after warm")
				}
				c, _ := newStore(t, rdb)
				if _, err := c.Warm(ctx, 6); err == nil {
					t.Fatal("Warm without Manifest did not fail")
				}
			})
		}
	}
}

// TestRealOOMMidBatch: a real server under maxmemory/noeviction accepts the first
// writes of a batch and refuses the rest; the report and memory agree key by key.
func TestRealOOMMidBatch(t *testing.T) {
	var be *backend
	for _, b := range backends(t) {
		if b.real {
			be = &b
		}
	}
	if be == nil {
		t.Skip("redis-server not on PATH")
	}
	for _, fenced := range []bool{true, false} {
		t.Run(fmt.Sprintf("fencing=%v", fenced), func(t *testing.T) {
			ctx := context.Background()
			rdb := be.client(t)
			rdb.ConfigSet(ctx, "maxmemory-policy", "noeviction")
			base := usedMemory(t, rdb)
			rdb.ConfigSet(ctx, "maxmemory", fmt.Sprint(base+2<<20))
			defer rdb.ConfigSet(ctx, "maxmemory", "0")
			// One worker: a fenced batch holds its queued SETs (500 KB) in the
			// server until EXEC, so eight transactions in flight at once (8 x 500 KB
			// against 2 MB of headroom) can all be refused, or not, depending on how
			// the server interleaves their reads: whether any batch lands would be a
			// race. Batches one after the other fill the headroom, then meet OOM.
			s, _ := newStore(t, rdb, Fencing(fenced), SpillBatch(500), WithCompression(None), SpillParallelism(1))
			big := bytes.Repeat([]byte("x"), 1024)
			fill(s, 0, 5000, func(int32, int) []byte { return big })
			rep, err := s.Spill(ctx, 0)
			if err == nil || rep.Written == 0 || rep.Count(ReasonOOM) == 0 || rep.Written+rep.Count(ReasonOOM) != 5000 {
				t.Fatalf("written=%d oom=%d err=%v", rep.Written, rep.Count(ReasonOOM), err)
			}
			if fenced && rep.Written%500 != 0 {
				t.Fatalf("written = %d: a fenced batch is refused or written whole", rep.Written)
			}
			if s.Len() != rep.Count(ReasonOOM) {
				t.Fatalf("len = %d, want exactly the %d refused entries", s.Len(), rep.Count(ReasonOOM))
			}
			for _, k := range s.Keys(0)[:10] {
				if rdb.Exists(ctx, "{spill:0}:"+k).Val() != 0 {
					t.Fatalf("%s is both kept as not written and present in Redis", k)
				}
			}
		})
	}
}

func usedMemory(t *testing.T, rdb redis.UniversalClient) int64 {
	t.Helper()
	info := rdb.Info(context.Background(), "memory").Val()
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			var n int64
			fmt.Sscan(v, &n)
			return n
		}
	}
	t.Fatal("no used_memory in INFO")
	return 0
}

// TestRetriesNeverOutlastTheDeadline: a back-off that would end past the
// context's deadline is not slept; the batch is reported with its last reason.
func TestRetriesNeverOutlastTheDeadline(t *testing.T) {
	var calls atomic.Int64
	rdb := backends(t)[0].client(t, failWrites(timeoutErr{}, &calls))
	s, err := New[[]byte](rdb, BytesCodec{}, Namespace("spill"), Retries(5, time.Hour), SpillBatch(100))
	if err != nil {
		t.Fatal(err)
	}
	fill(s, 0, 10, ctxValue)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	rep, _ := s.Spill(ctx, 0)
	if calls.Load() != 1 || rep.Count(ReasonTimeout) != 10 {
		t.Fatalf("calls = %d, report %+v: a one-hour back-off must not be tried inside a 30 s deadline", calls.Load(), rep)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("the store slept past the point where a retry could fit")
	}
}

func TestPersistWritesWithoutExpiry(t *testing.T) {
	for _, be := range backends(t) {
		for _, fenced := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/fencing=%v", be.name, fenced), func(t *testing.T) {
				rdb := be.client(t)
				s, _ := newStore(t, rdb, Fencing(fenced), TTLFunc(func(p int32, key string) time.Duration {
					if key == "dp:000001" {
						return Persist
					}
					return 0 // the store's TTL
				}))
				fill(s, 0, 3, ctxValue)
				if _, err := s.Spill(context.Background(), 0); err != nil {
					t.Fatal(err)
				}
				if ttl := rdb.PTTL(context.Background(), "{spill:0}:dp:000001").Val(); ttl != -1 {
					t.Fatalf("persisted key PTTL = %v, want -1 (no expiry)", ttl)
				}
				if ttl := rdb.PTTL(context.Background(), "{spill:0}:dp:000002").Val(); ttl <= 0 {
					t.Fatalf("other key PTTL = %v, want the store's TTL", ttl)
				}
			})
		}
	}
}

// TestSyncBacksOffWhileRedisRefuses: a write-through store does not resend its
// dirty set on every poll while Redis is down; it writes it once Redis is back.
func TestSyncBacksOffWhileRedisRefuses(t *testing.T) {
	var calls atomic.Int64
	mr := miniredis.RunT(t)
	var down atomic.Bool
	down.Store(true)
	hook := hookFunc{pipeline: func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
		calls.Add(1)
		if down.Load() {
			err := replyErr("LOADING Redis is loading the dataset in memory")
			for _, c := range cmds {
				c.SetErr(err)
			}
			return err
		}
		return next(ctx, cmds)
	}}
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), DisableIdentity: true, MaxRetries: -1, MaintNotificationsConfig: noMaint})
	rdb.AddHook(hook)
	defer rdb.Close()
	s, clk := newStore(t, rdb, WithStrategy(WriteThrough), Fencing(false), Retries(1, 100*time.Millisecond))
	fill(s, 0, 50, ctxValue)
	for i := 0; i < 10; i++ { // ten polls, 10 ms apart, while Redis refuses
		s.Sync(context.Background())
		clk.Advance(10 * time.Millisecond)
	}
	if calls.Load() != 1 {
		t.Fatalf("%d sends in 100 ms of refusals, want 1 then a 100 ms back-off", calls.Load())
	}
	down.Store(false)
	clk.Advance(time.Second)
	rep, err := s.Sync(context.Background())
	if err != nil || rep.Written != 50 {
		t.Fatalf("after recovery: %+v %v", rep, err)
	}
}

// TestSortByKeyOrdersLikeStrings checks the word-prefix sort against a plain
// string sort on keys made to defeat it: prefixes of each other, zero bytes
// where the padding is, keys that agree in the 16 bytes after their common
// prefix, and a long common prefix.
func TestSortByKeyOrdersLikeStrings(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 14))
	alphabet := []byte{0, 1, 'a', 'b', 0xff}
	for round := range 200 {
		seen := map[string]bool{}
		var items []workItem[int]
		for len(items) < 1+round%40 {
			n := rng.IntN(22)
			if round%3 == 0 {
				n = 16 + rng.IntN(4) // around the two words' end
			}
			b := make([]byte, n)
			for i := range b {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
			if round%4 == 1 {
				b = append([]byte("a common prefix longer than 16 bytes "), b...)
			}
			if k := string(b); !seen[k] {
				seen[k] = true
				items = append(items, workItem[int]{key: k, v: len(items)})
			}
		}
		got := sortByKey(slices.Clone(items))
		want := slices.Clone(items)
		slices.SortFunc(want, func(a, b workItem[int]) int { return strings.Compare(a.key, b.key) })
		for i := range want {
			if got[i].key != want[i].key || got[i].v != want[i].v {
				t.Fatalf("round %d: position %d: got %q (item %d), want %q (item %d)", round, i, got[i].key, got[i].v, want[i].key, want[i].v)
			}
		}
	}
}

// BenchmarkSortByKey sorts one partition's share of BenchmarkSpill's keys
// (4,167 keys "dp:%08d"), collected in map order.
func BenchmarkSortByKey(b *testing.B) {
	m := map[string]int{}
	for i := 0; i < 100_000; i += 24 {
		m[fmt.Sprintf("dp:%08d", i)] = i
	}
	var items []workItem[int]
	for k, v := range m {
		items = append(items, workItem[int]{key: k, v: v})
	}
	work := make([]workItem[int], len(items))
	b.ReportAllocs()
	for b.Loop() {
		copy(work, items)
		sortByKey(work)
	}
}

// TestSettleDropsOnlyWhatItHolds: changes to a partition while its spill is in
// flight (a Delete, a Drop, a Put of another key) are seen when the batch settles:
// Dropped counts only entries the spill removed from memory, and an entry put
// meanwhile stays.
func TestSettleDropsOnlyWhatItHolds(t *testing.T) {
	for _, be := range backends(t) {
		for _, tc := range []struct {
			name    string
			change  func(s *Store[[]byte])
			dropped int
			left    int
		}{
			{name: "none", change: func(*Store[[]byte]) {}, dropped: 3},
			{name: "delete", change: func(s *Store[[]byte]) { s.Delete(0, "a") }, dropped: 2},
			{name: "drop", change: func(s *Store[[]byte]) { s.Drop(0) }, dropped: 0},
			{name: "put-other", change: func(s *Store[[]byte]) { s.Put(0, "z", []byte("new")) }, dropped: 3, left: 1},
		} {
			t.Run(be.name+"/"+tc.name, func(t *testing.T) {
				ctx := context.Background()
				var s *Store[[]byte]
				var once sync.Once
				hook := hookFunc{pipeline: func(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
					if isTx(cmds) {
						once.Do(func() { tc.change(s) })
					}
					return next(ctx, cmds)
				}}
				rdb := be.client(t, hook)
				s, _ = newStore(t, rdb)
				if err := s.Assigned(ctx, 1, 0); err != nil {
					t.Fatal(err)
				}
				for _, k := range []string{"a", "b", "c"} {
					s.Put(0, k, []byte("v-"+k))
				}
				rep, err := s.Spill(ctx, 0)
				if err != nil || rep.Written != 3 || rep.Dropped != tc.dropped {
					t.Fatalf("spill: written %d, dropped %d, %v; want 3, %d", rep.Written, rep.Dropped, err, tc.dropped)
				}
				if n := s.Len(); n != tc.left {
					t.Fatalf("%d entries left in memory, want %d", n, tc.left)
				}
			})
		}
	}
}
