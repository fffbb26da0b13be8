package franzgo

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillway-sim/spillway/core"
)

// The scenarios run the Consumer against kfake (an in-process Kafka that runs
// real group rebalances) and Redis (a real redis-server when installed, else
// miniredis). The producer knows the ground truth: value v of a series follows
// value v−1, at an offset it recorded. Every processed record is checked
// against it: a context that is not the record's predecessor is stale (never
// allowed), a missing one after a series' first value is lost (allowed only
// where no one wrote it), and a context that already reflects the record is a
// replay (detected by the offset it carries, and skipped).

// keysIn returns the keys of w whose partition is in parts, sorted.
func keysIn(w *world, parts []int32, keep func(i int) bool) []string {
	var out []string
	for i, k := range w.keys {
		if slices.Contains(parts, w.partOf[k]) && (keep == nil || keep(i)) {
			out = append(out, k)
		}
	}
	return out
}

func ownedBy(w *world, m *member) []int32 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Sorted(slices.Values(w.owned()[m.name]))
}

// processedBy reports whether m processed records of partition p.
func processedBy(w *world, m *member, p int32) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.ContainsFunc(w.results, func(r observed) bool { return r.who == m.name && r.Partition == p })
}

func assertClean(t *testing.T, tl tally) {
	t.Helper()
	if len(tl.stale) > 0 {
		n := min(len(tl.stale), 10)
		t.Errorf("%d records used a stale context, first %d:\n%v", len(tl.stale), n, tl.stale[:n])
	}
	if tl.replayed > 0 {
		t.Errorf("%d records were replays (the committed offset was behind the spilled context)", tl.replayed)
	}
}

// TestFranzGoScaleIn: three consumers, then one closes gracefully. Its revoke
// spills every entry and commits after the spill, so the two that take over
// restore exactly the contexts they need: nothing is lost, nothing is stale,
// no record is processed twice.
func TestFranzGoScaleIn(t *testing.T) {
	w := newWorld(t, 6, 150)
	a, b, c := w.start("a"), w.start("b"), w.start("c")
	w.waitOwned(a, b, c)
	for range 3 {
		w.produce(nil)
	}
	w.waitProcessed(a, b, c)

	cParts := ownedBy(w, c)
	cKeys := keysIn(w, cParts, nil)
	if len(cParts) == 0 || len(cKeys) == 0 {
		t.Fatalf("c owns partitions %v holding %d keys: nothing to hand over", cParts, len(cKeys))
	}
	left := w.closeGracefully(c)
	if left.Keys != 0 {
		t.Errorf("Close: SpillAll found %d entries no revoke handed over", left.Keys)
	}
	var spilled int
	for _, e := range w.eventsOf(c, EventRevoked) {
		if e.Err != nil || e.Spill.NotWritten != 0 || e.Spill.Written != e.Spill.Keys {
			t.Errorf("c's revoke of %v: %s, err %v", e.Partitions, spillSummary(e.Spill), e.Err)
		}
		for _, p := range e.Partitions {
			if processedBy(w, c, p) && !slices.Contains(e.Committed, p) {
				t.Errorf("c's revoke of %v committed %v: not partition %d, whose records it processed", e.Partitions, e.Committed, p)
			}
		}
		spilled += e.Spill.Written
	}
	if spilled != len(cKeys) {
		t.Errorf("c spilled %d entries, want its %d keys", spilled, len(cKeys))
	}

	w.waitOwned(a, b)
	for range 3 {
		w.produce(nil)
	}
	w.waitProcessed(a, b)

	tl := w.check(0)
	assertClean(t, tl)
	if len(tl.lost) > 0 {
		t.Errorf("%d series lost their context in a graceful handoff: %v", len(tl.lost), slices.Sorted(maps.Keys(tl.lost)))
	}
	if tl.duplicates > 0 {
		t.Errorf("%d values processed twice: a commit did not follow the spill", tl.duplicates)
	}
	if got := slices.Sorted(maps.Keys(tl.restored)); !slices.Equal(got, cKeys) {
		t.Errorf("%d series restored from Redis, want the %d of c's partitions %v", len(got), len(cKeys), cParts)
	}
	t.Logf("%d records (%v), %d contexts handed over through Redis", tl.processed, tl.byMember, len(tl.restored))
	if t.Failed() {
		w.dump()
	}
}

// TestFranzGoCrash: x takes partitions over from a and b (scale-out, through
// Redis) and restores only the half of their series it sees before it dies
// without a revoke. What is lost is exactly what lived only in its memory: the
// series it restored and updated. The other half, still in Redis from a's and
// b's spill, is restored by the survivors.
func TestFranzGoCrash(t *testing.T) {
	w := newWorld(t, 6, 150)
	a, b := w.start("a"), w.start("b")
	w.waitOwned(a, b)
	w.produce(nil)
	w.produce(nil)
	w.waitProcessed(a, b)

	x := w.start("x")
	w.waitOwned(a, b, x)
	even := func(i int) bool { return i%2 == 0 }
	w.produce(func(i int, _ string) bool { return even(i) })
	w.waitProcessed(a, b, x)

	xParts := ownedBy(w, x)
	held := w.crash(x)
	crashedAt := w.mark()
	var heldKeys []string
	for _, ks := range held {
		heldKeys = append(heldKeys, ks...)
	}
	slices.Sort(heldKeys)
	if want := keysIn(w, xParts, even); len(want) == 0 || !slices.Equal(heldKeys, want) {
		t.Fatalf("x held %d keys at its crash, want the %d even keys of its partitions %v", len(heldKeys), len(want), xParts)
	}

	w.waitOwned(a, b) // x's session expired
	w.produce(nil)
	w.produce(nil)
	w.waitProcessed(a, b)

	before, after := w.check(0), w.check(crashedAt)
	assertClean(t, before)
	if n := len(before.lost) - len(after.lost); n != 0 {
		t.Errorf("%d series lost their context before the crash", n)
	}
	lostKeys := slices.Sorted(maps.Keys(after.lost))
	if !slices.Equal(lostKeys, heldKeys) {
		t.Errorf("lost %d series %v, want exactly the %d x held in memory %v", len(lostKeys), lostKeys, len(heldKeys), heldKeys)
	}
	for k, n := range after.lost {
		if n != 1 {
			t.Errorf("series %s lost its context %d times, want once", k, n)
		}
	}
	odd := keysIn(w, xParts, func(i int) bool { return !even(i) })
	for _, k := range odd {
		if after.restored[k] != 1 {
			t.Errorf("series %s of x's partitions, spilled by a or b and never touched by x, restored %d times after the crash, want once", k, after.restored[k])
		}
	}
	for _, e := range w.eventsOf(x, EventRevoked) {
		if e.Spill.Written > 0 {
			t.Errorf("the crashed x wrote %d entries", e.Spill.Written)
		}
	}
	t.Logf("x held %d series of partitions %v at its crash: %d lost; %d series restored after it",
		len(heldKeys), xParts, len(lostKeys), len(after.restored))
}

// TestFranzGoZombie: a member keeps running after the group replaced it.
func TestFranzGoZombie(t *testing.T) {
	// late-revoke: z owns every partition, a and b join, and z's revoke stalls
	// on its way to Redis. d joins meanwhile: z, stuck in the callback, does
	// not rejoin, the group evicts it and hands all partitions to a, b and d,
	// which claim them. Then z's spill reaches Redis: the fence refuses it
	// whole, and z commits nothing. z rejoins as a new member and gets
	// partitions back through Redis.
	t.Run("late-revoke", func(t *testing.T) {
		w := newWorld(t, 4, 120)
		// HandoffTimeout above the rebalance timeout: a spill can outlast the
		// group's patience, which is what makes a zombie write possible.
		z := w.start("z", withHandoffTimeout(10*time.Second))
		w.waitOwned(z)
		w.produce(nil)
		w.produce(nil)
		w.waitProcessed(z)

		reached := z.fault.stall()
		a, b := w.start("a"), w.start("b")
		select {
		case <-reached:
		case <-w.ctx.Done():
			t.Fatal("z's revoke never reached Redis")
		}
		d := w.start("d")
		w.waitOwned(a, b, d)
		evicted := w.mark()
		w.produce(nil)
		w.produce(nil)
		w.waitProcessed(a, b, d)

		z.fault.release()
		w.waitFor("z's late revoke", func() bool {
			for _, e := range w.events {
				if e.who == z.name && e.Kind == EventRevoked {
					return true
				}
			}
			return false
		})
		revs := w.eventsOf(z, EventRevoked)
		rev := revs[0]
		if rev.Spill.Keys == 0 || rev.Spill.Written != 0 || rev.Spill.Count(core.ReasonFenced) != rev.Spill.Keys {
			t.Errorf("z's late revoke of %v: %s, want every entry refused by the fence", rev.Partitions, spillSummary(rev.Spill))
		}
		if len(rev.Committed) > 0 {
			t.Errorf("z's late revoke committed %v", rev.Committed)
		}

		w.waitOwned(a, b, d, z)
		w.produce(nil)
		w.produce(nil)
		w.waitProcessed(a, b, d, z)

		assertClean(t, w.check(0))
		after := w.check(evicted)
		for k, n := range after.lost {
			if n != 1 {
				t.Errorf("series %s lost its context %d times after z's eviction, want once", k, n)
			}
		}
		// Whatever the client reported next for z's other partitions (a loss,
		// or a revoke once z rejoined as a new member), z wrote none of them.
		for _, e := range w.eventsOf(z, EventRevoked) {
			if e.Spill.Written > 0 {
				t.Errorf("zombie z wrote %d entries of %v", e.Spill.Written, e.Partitions)
			}
			t.Logf("z revoked %v: %s, committed %v", e.Partitions, spillSummary(e.Spill), e.Committed)
		}
		for _, e := range w.eventsOf(z, EventLost) {
			t.Logf("z lost %v: dropped %d", e.Partitions, e.Dropped)
		}
		t.Logf("%d series lost after the eviction (z never handed them over)", len(after.lost))
	})

	// frozen: z stops dead (no heartbeat, no I/O) past its session timeout; a
	// and b take its partitions. When z thaws, the client reports them lost:
	// z drops them unwritten, serves nothing stale, and rejoins.
	t.Run("frozen", func(t *testing.T) {
		w := newWorld(t, 4, 120)
		a, b, z := w.start("a"), w.start("b"), w.start("z")
		w.waitOwned(a, b, z)
		w.produce(nil)
		w.produce(nil)
		w.waitProcessed(a, b, z)

		zParts := ownedBy(w, z)
		z.gate.pause()
		z.fault.stall()
		w.waitOwned(a, b)
		frozen := w.mark()
		w.produce(nil)
		w.produce(nil)
		w.waitProcessed(a, b)

		z.fault.release()
		z.gate.resume()
		w.waitFor("z to drop what it lost", func() bool {
			for _, e := range w.events {
				if e.who == z.name && (e.Kind == EventLost || e.Kind == EventRevoked) {
					return true
				}
			}
			return false
		})
		w.waitOwned(a, b, z)
		w.produce(nil)
		w.produce(nil)
		w.waitProcessed(a, b, z)

		assertClean(t, w.check(0))
		for _, e := range w.eventsOf(z, EventRevoked) {
			if e.Spill.Written > 0 {
				t.Errorf("z wrote %d entries of %v after it thawed", e.Spill.Written, e.Partitions)
			}
		}
		lost := w.eventsOf(z, EventLost)
		if len(lost) == 0 || lost[0].Dropped == 0 {
			t.Errorf("z's lost events %+v: want its partitions %v dropped", lost, zParts)
		}
		after := w.check(frozen)
		if want := keysIn(w, zParts, nil); !slices.Equal(slices.Sorted(maps.Keys(after.lost)), want) {
			t.Errorf("lost %d series after the freeze, want the %d of z's partitions %v", len(after.lost), len(want), zParts)
		}
		t.Logf("z dropped %d entries of %v when it thawed; %d series lost", lost[0].Dropped, lost[0].Partitions, len(after.lost))
	})
}

func TestFranzGoConfig(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	valid := Config{Brokers: []string{"127.0.0.1:1"}, Group: "g", Topic: "t", Redis: rdb}
	tests := []struct {
		name   string
		change func(*Config)
		want   string // substring of the error
	}{
		{name: "no brokers", change: func(c *Config) { c.Brokers = nil }, want: "Brokers"},
		{name: "no group", change: func(c *Config) { c.Group = "" }, want: "Group"},
		{name: "no topic", change: func(c *Config) { c.Topic = "" }, want: "Topic"},
		{name: "no redis", change: func(c *Config) { c.Redis = nil }, want: "Redis"},
		{name: "negative timeout", change: func(c *Config) { c.HandoffTimeout = -time.Second }, want: "negative"},
		{name: "bad store option", change: func(c *Config) { c.StoreOpts = []core.Opt{core.SpillBatch(-1)} }, want: "core"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.change(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error about %s", err, tt.want)
			}
		})
	}
	cfg := valid
	if err := cfg.validate(); err != nil || cfg.HandoffTimeout != defaultHandoffTimeout ||
		cfg.BatchTimeout != defaultBatchTimeout || cfg.MaxPollRecords != defaultMaxPollRecords || cfg.Logger == nil {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
}
