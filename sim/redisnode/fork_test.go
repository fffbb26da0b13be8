package redisnode

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillway-sim/spillway/core"
	"github.com/spillway-sim/spillway/sim/calibration"
	"github.com/spillway-sim/spillway/sim/engine"
)

// saveWithWrites loads keys × 1000-byte values, forks a BGSAVE whose child lives
// about a second, overwrites random keys at rate per second while it lives, and
// returns the memory stats after the save.
func saveWithWrites(t *testing.T, cfg Config, keys, rate int) MemoryStats {
	t.Helper()
	eng := engine.New(1)
	n := newNodeOn(t, eng, cfg)
	val := strings.Repeat("v", 1000)
	for i := 0; i < keys; i++ {
		directSet(t, n, fmt.Sprintf("k:%06d", i), val, 0)
	}
	if err := n.BGSave(); err != nil {
		t.Fatal(err)
	}
	end := n.p.child.end
	r := rand.New(rand.NewPCG(uint64(rate), 3))
	if rate > 0 {
		step := time.Second / time.Duration(rate)
		for at := eng.Now() + step; at < end; at += step {
			eng.RunUntil(at)
			directSet(t, n, fmt.Sprintf("k:%06d", r.IntN(keys)), val, 0)
		}
	}
	eng.RunUntil(end + time.Millisecond)
	ms := n.Memory()
	if ms.ChildActive || ms.Saves != 1 || ms.COWBytes != 0 {
		t.Fatalf("save did not complete: %+v", ms)
	}
	return ms
}

func TestCOWGrowsWithWriteRateAndSaturates(t *testing.T) {
	cal := calibration.Default()
	const keys = 5000
	cfg := Config{SnapshotRate: 5e6} // a ~1.1 s child for ~5.6 MB
	var prev int64
	var cows []int64
	for _, rate := range []int{0, 500, 2000, 8000, 32000} {
		ms := saveWithWrites(t, cfg, keys, rate)
		t.Logf("%5d writes/s: COW peak %d B, used %d B, RSS peak %d B", rate, ms.PeakCOWBytes, ms.UsedBytes, ms.PeakRSSBytes)
		if rate == 0 && ms.PeakCOWBytes != cal.COW.BaselineBytes {
			t.Fatalf("no writes: COW %d, want only the child's baseline %d", ms.PeakCOWBytes, cal.COW.BaselineBytes)
		}
		if (rate > 0 && rate <= 2000 && ms.PeakCOWBytes <= prev) || ms.PeakCOWBytes < prev {
			t.Fatalf("%d writes/s: COW %d, %d at the previous rate", rate, ms.PeakCOWBytes, prev)
		}
		if ms.PeakCOWBytes > ms.UsedBytes+cal.COW.BaselineBytes {
			t.Fatalf("COW %d above the dataset %d", ms.PeakCOWBytes, ms.UsedBytes)
		}
		if ms.PeakRSSBytes != cal.RSSBytes(ms.UsedBytes)+ms.PeakCOWBytes {
			t.Fatalf("RSS peak %d != parent RSS + COW", ms.PeakRSSBytes)
		}
		prev = ms.PeakCOWBytes
		cows = append(cows, ms.PeakCOWBytes)
	}
	// Saturation: the last fourfold rate adds less than 10 %, and COW nears the
	// touched regions (every allocation but the key names: ≥ 90 % of the keys' bytes).
	last, before := cows[len(cows)-1], cows[len(cows)-2]
	if float64(last) > 1.10*float64(before) {
		t.Fatalf("COW still growing fast at saturation: %d → %d", before, last)
	}
	keyBytes := int64(keys) * cal.UsedMemoryPerKey(8, 1000, false)
	if float64(last-cal.COW.BaselineBytes) < 0.9*float64(keyBytes) {
		t.Fatalf("saturated COW %d well below the dataset %d", last, keyBytes)
	}
}

func TestHugePagesCopyFarMoreThroughTheNode(t *testing.T) {
	small := saveWithWrites(t, Config{SnapshotRate: 5e6}, 5000, 100)
	huge := saveWithWrites(t, Config{SnapshotRate: 5e6, PageSize: 2 << 20}, 5000, 100)
	t.Logf("100 writes/s: COW 4 KiB pages %d B, 2 MiB pages %d B", small.PeakCOWBytes, huge.PeakCOWBytes)
	if huge.PeakCOWBytes < 3*small.PeakCOWBytes {
		t.Fatalf("huge pages %d vs 4 KiB %d", huge.PeakCOWBytes, small.PeakCOWBytes)
	}
}

// forkUnderLoad loads 8000 keys of 2500 bytes through a client, forks a BGSAVE
// and overwrites 8000 random keys at the same virtual time (a write-heavy load).
func forkUnderLoad(t *testing.T, cfg Config) (*engine.Engine, *Node, *[]removed) {
	t.Helper()
	eng := engine.New(1)
	n := newNodeOn(t, eng, cfg)
	rm := recordRemovals(n)
	rdb := n.NewClient(2)
	load(t, rdb, 8000, 2500, 0)
	if err := n.BGSave(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r := rand.New(rand.NewPCG(8, 8))
	val := strings.Repeat("w", 2500)
	for range 4 {
		_, _ = rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for range 2000 {
				p.Set(ctx, fmt.Sprintf("k:%06d", r.IntN(8000)), val, 0)
			}
			return nil
		})
	}
	n.Advance()
	return eng, n, rm
}

// TestOOMKillAt80PercentButNotCappedAt45 reproduces Instaclustr's and UrbanClap's write-ups (docs/design.md): a
// node at ~80 % of system memory dies in BGSAVE under a write-heavy load; the same
// node with maxmemory at 45 % of system memory survives.
func TestOOMKillAt80PercentButNotCappedAt45(t *testing.T) {
	cal := calibration.Default()
	used := cal.UsedMemory(8000, 8, 2500, false)
	system := int64(float64(cal.RSSBytes(used)) / 0.8)

	eng, n, rm := forkUnderLoad(t, Config{SystemMemory: system, OvercommitMemory: 1, Policy: AllKeysLRU})
	ms := n.Memory()
	if ms.OOMKills != 1 || !n.Down() || ms.Keys != 0 || ms.LostKeys != 8000 || len(*rm) != 8000 {
		t.Fatalf("80 %%: kills %d down %v keys %d lost %d removals %d", ms.OOMKills, n.Down(), ms.Keys, ms.LostKeys, len(*rm))
	}
	if ms.PeakRSSBytes <= system || (*rm)[0].why != Lost {
		t.Fatalf("80 %%: RSS peak %d, system %d, first removal %v", ms.PeakRSSBytes, system, (*rm)[0])
	}
	// Down for RestartDelay, then LOADING, then serving — empty: no RDB completed.
	rdb := n.NewClient(1)
	if err := rdb.Get(context.Background(), "k:000001").Err(); core.Classify(err) != core.ReasonUnavailable {
		t.Fatalf("while down: %v", err)
	}
	eng.RunUntil(eng.Now() + DefaultRestartDelay + time.Millisecond)
	if err := rdb.Get(context.Background(), "k:000001").Err(); !errors.Is(err, ErrLoading) || core.Classify(err) != core.ReasonUnavailable {
		t.Fatalf("while loading: %v", err)
	}
	eng.RunUntil(eng.Now() + time.Second)
	if err := rdb.Get(context.Background(), "k:000001").Err(); err != redis.Nil {
		t.Fatalf("after the restart: %v, want a miss", err)
	}

	_, capped, _ := forkUnderLoad(t, Config{SystemMemory: system, OvercommitMemory: 1, MaxMemory: system * 45 / 100, Policy: AllKeysLRU})
	eng2 := capped.eng
	cs := capped.Memory()
	if cs.OOMKills != 0 || cs.PeakRSSBytes > system || cs.PeakCOWBytes == 0 {
		t.Fatalf("45 %%: kills %d, RSS peak %d of %d, COW %d", cs.OOMKills, cs.PeakRSSBytes, system, cs.PeakCOWBytes)
	}
	eng2.RunUntil(eng2.Now() + 2*time.Second)
	if cs := capped.Memory(); cs.Saves != 1 || cs.Evicted == 0 {
		t.Fatalf("45 %%: saves %d evicted %d", cs.Saves, cs.Evicted)
	}
	t.Logf("system %d B: at 80 %% RSS peak %d (killed); capped at 45 %% RSS peak %d, COW peak %d", system, ms.PeakRSSBytes, cs.PeakRSSBytes, cs.PeakCOWBytes)
}

func TestSavePoints(t *testing.T) {
	eng, n := newNode(t, Config{RDBSave: []string{"900 1", "60 100"}})
	for i := 0; i < 50; i++ {
		directSet(t, n, fmt.Sprintf("a%03d", i), "x", 0)
	}
	eng.RunUntil(100 * time.Second)
	if ms := n.Memory(); ms.Forks != 0 || ms.Dirty != 50 {
		t.Fatalf("50 changes, 100 s: %+v", ms)
	}
	for i := 0; i < 60; i++ {
		directSet(t, n, fmt.Sprintf("b%03d", i), "x", 0)
	}
	ms := n.Memory()
	if ms.Forks != 1 || !ms.ChildActive {
		t.Fatalf("110 changes after 100 s: %+v", ms)
	}
	eng.RunUntil(101 * time.Second)
	// The save started at the 100th change: the 10 after it are still dirty.
	if ms := n.Memory(); ms.Saves != 1 || ms.Dirty != 10 {
		t.Fatalf("after the save: %+v", ms)
	}
	// "900 1" fires 900 s after the save (at 100 s), not earlier.
	eng.RunUntil(990 * time.Second)
	if ms := n.Memory(); ms.Forks != 1 {
		t.Fatalf("at 990 s: %d forks", ms.Forks)
	}
	eng.RunUntil(1002 * time.Second)
	if ms := n.Memory(); ms.Forks != 2 || ms.Saves != 2 {
		t.Fatalf("at 1002 s: %+v", ms)
	}
}

func TestForkFailureMakesWritesMisconfUntilASaveSucceeds(t *testing.T) {
	cal := calibration.Default()
	rss := cal.RSSBytes(cal.UsedMemory(3000, 8, 1000, true))
	tests := []struct {
		name       string
		overcommit int
		pre52      bool
		system     int64
		fails      bool
	}{
		{name: "heuristic before 5.2: child does not fit in free memory", overcommit: 0, pre52: true, system: rss * 3 / 2, fails: true},
		{name: "heuristic before 5.2: child fits", overcommit: 0, pre52: true, system: rss * 5 / 2},
		{name: "heuristic: the heap mapping is below RAM", overcommit: 0, system: rss * 11 / 10},
		{name: "always overcommit", overcommit: 1, system: rss * 11 / 10},
		{name: "never overcommit: 2×RSS > 50 % of RAM", overcommit: 2, system: rss * 3, fails: true},
		{name: "never overcommit: fits", overcommit: 2, system: rss * 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng, n := newNode(t, Config{SystemMemory: tt.system, OvercommitMemory: tt.overcommit, OvercommitPre52: tt.pre52, RDBSave: []string{"1 1"}})
			val := strings.Repeat("v", 1000)
			for i := 0; i < 3000; i++ {
				directSet(t, n, fmt.Sprintf("k:%06d", i), val, 30*time.Second)
			}
			eng.RunUntil(2 * time.Second)
			ms := n.Memory()
			if (ms.ForkFailures == 1) != tt.fails || ms.Misconf != tt.fails || (ms.Forks == 1) == tt.fails {
				t.Fatalf("fork failures %d, misconf %v, forks %d; want failure %v", ms.ForkFailures, ms.Misconf, ms.Forks, tt.fails)
			}
			if !tt.fails {
				return
			}
			s := newStore(t, eng, n.NewClient(2))
			s.Put(1, "dp:1", []byte("ctx"))
			rep, err := s.Spill(context.Background(), 1)
			if err == nil || rep.Count(core.ReasonMisconf) != 1 {
				t.Fatalf("spill under MISCONF: %+v, %v", rep, err)
			}
			rdb := n.NewClient(1)
			if err := rdb.Get(context.Background(), "k:000001").Err(); err != nil {
				t.Fatalf("GET under MISCONF: %v", err)
			}
			if err := rdb.GetDel(context.Background(), "k:000001").Err(); !errors.Is(err, ErrMisconf) {
				t.Fatalf("GETDEL (a write) under MISCONF: %v", err)
			}
			// Retries every 5 s fail until the keys expire and free memory.
			eng.RunUntil(29 * time.Second)
			if ms := n.Memory(); ms.ForkFailures < 5 || !ms.Misconf {
				t.Fatalf("at 29 s: %+v", ms)
			}
			eng.RunUntil(40 * time.Second)
			if ms := n.Memory(); ms.Misconf || ms.Saves != 1 {
				t.Fatalf("after expiry: %+v", ms)
			}
			if _, err := s.Spill(context.Background(), 1); err != nil {
				t.Fatalf("spill after a successful save: %v", err)
			}
		})
	}
}

func TestExplicitRequestsAndAOFRewrite(t *testing.T) {
	eng, n := newNode(t, Config{AOF: true, AOFRewritePercentage: 100, AOFRewriteMinSize: 1 << 20, SnapshotRate: 1e6})
	val := strings.Repeat("v", 500)
	i := 0
	for n.Memory().Forks == 0 {
		directSet(t, n, fmt.Sprintf("k:%06d", i%1000), val, 0) // overwrites: the AOF grows, the dataset does not
		i++
		if i > 10_000 {
			t.Fatal("no automatic rewrite")
		}
	}
	ms := n.Memory()
	if ms.AOFBytes <= 1<<20 || !ms.ChildActive || ms.AOFBaseBytes != 0 {
		t.Fatalf("at the first rewrite: %+v", ms)
	}
	if err := n.AOFRewrite(); !errors.Is(err, ErrRewriteInProgress) {
		t.Fatalf("second rewrite: %v", err)
	}
	if err := n.BGSave(); err != nil { // scheduled behind the rewrite
		t.Fatalf("BGSAVE during a rewrite: %v", err)
	}
	eng.RunUntil(eng.Now() + 2*time.Second)
	ms = n.Memory()
	if ms.AOFRewrites != 1 || ms.Forks != 2 || !ms.ChildActive {
		t.Fatalf("after the rewrite: %+v", ms)
	}
	wantBase := n.mem.serializedBytes()
	if ms.AOFBaseBytes < wantBase || ms.AOFBaseBytes > wantBase+10_000 || ms.AOFBytes != ms.AOFBaseBytes {
		t.Fatalf("rewritten AOF %d (base %d), dataset serializes to %d", ms.AOFBytes, ms.AOFBaseBytes, wantBase)
	}
	if err := n.BGSave(); !errors.Is(err, ErrSaveInProgress) {
		t.Fatalf("second BGSAVE: %v", err)
	}
	eng.RunUntil(eng.Now() + 2*time.Second)
	if ms := n.Memory(); ms.Saves != 1 || ms.ChildActive {
		t.Fatalf("after the scheduled save: %+v", ms)
	}
}

func TestRestartFromLastRDBOrAOF(t *testing.T) {
	tests := []struct {
		name     string
		aof      bool
		wantKeys int64
		wantLost int64
	}{
		{name: "RDB: keys written after the last snapshot are lost", wantKeys: 2000, wantLost: 500},
		{name: "AOF: everything acknowledged comes back", aof: true, wantKeys: 2500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cal := calibration.Default()
			system := cal.RSSBytes(cal.UsedMemory(2000, 8, 1000, false)) * 16 / 10
			eng, n := newNode(t, Config{SystemMemory: system, OvercommitMemory: 1, AOF: tt.aof})
			rm := recordRemovals(n)
			val := strings.Repeat("v", 1000)
			for i := 0; i < 2000; i++ {
				directSet(t, n, fmt.Sprintf("k:%06d", i), val, 0)
			}
			if err := n.BGSave(); err != nil { // fits: the snapshot completes
				t.Fatal(err)
			}
			eng.RunUntil(time.Second)
			for i := 2000; i < 2500; i++ {
				directSet(t, n, fmt.Sprintf("k:%06d", i), val, 0)
			}
			if err := n.BGSave(); err != nil {
				t.Fatal(err)
			}
			rdb := n.NewClient(1)
			ctx := context.Background()
			for lo := 0; lo < 2500 && n.Memory().OOMKills == 0; lo += 250 {
				_, _ = rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
					for i := lo; i < lo+250; i++ {
						p.Set(ctx, fmt.Sprintf("k:%06d", i), val, 0) // same values: COW, no new data
					}
					return nil
				})
			}
			n.Advance()
			ms := n.Memory()
			if ms.OOMKills != 1 || int64(len(*rm)) != tt.wantLost || ms.LostKeys != tt.wantLost {
				t.Fatalf("kills %d, lost %d (%d removals), want %d lost", ms.OOMKills, ms.LostKeys, len(*rm), tt.wantLost)
			}
			for _, r := range *rm {
				if r.why != Lost || r.key < "k:002000" {
					t.Fatalf("removal %v: only keys written after the snapshot are lost", r)
				}
			}
			eng.RunUntil(eng.Now() + DefaultRestartDelay + time.Millisecond)
			if ms := n.Memory(); ms.Available || ms.Keys != tt.wantKeys {
				t.Fatalf("right after the restart: available %v keys %d, want loading with %d", ms.Available, ms.Keys, tt.wantKeys)
			}
			eng.RunUntil(eng.Now() + time.Second)
			if ms := n.Memory(); !ms.Available || ms.Keys != tt.wantKeys || ms.OOMKills != 1 {
				t.Fatalf("after loading: %+v", ms)
			}
			if v, err := rdb.Get(ctx, "k:000007").Result(); err != nil || v != val {
				t.Fatalf("restored key: %v", err)
			}
		})
	}
}

func TestForkStallDelaysCommands(t *testing.T) {
	eng, n := newNode(t, Config{RTT: 100 * time.Microsecond, ForkTimeBase: time.Nanosecond, ForkTimePerGiB: time.Second, BaselineUsed: 1 << 30})
	if err := n.BGSave(); err != nil {
		t.Fatal(err)
	}
	stall := time.Duration(n.Memory().LastForkStall)
	if stall < 990*time.Millisecond || stall > 1010*time.Millisecond {
		t.Fatalf("stall %v for 1 GiB at 1 s/GiB", stall)
	}
	rdb := n.NewClient(1)
	m := &Meter{}
	_ = rdb.Get(WithMeter(context.Background(), m), "x").Err()
	if m.Elapsed() < stall {
		t.Fatalf("a GET during the stall took %v", m.Elapsed())
	}
	eng.RunUntil(2 * time.Second)
	m2 := &Meter{}
	_ = rdb.Get(WithMeter(context.Background(), m2), "x").Err()
	if m2.Elapsed() > time.Millisecond {
		t.Fatalf("a GET after the stall took %v", m2.Elapsed())
	}
}
