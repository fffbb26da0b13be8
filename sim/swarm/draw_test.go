package swarm

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/spillway-sim/spillway/scenarios"
)

func TestDrawDeterministicPerSeed(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		a, _, err := Draw(seed)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		b, _, _ := Draw(seed)
		if !bytes.Equal(a, b) {
			t.Errorf("seed %d drew two different scenarios:\n%s\n---\n%s", seed, a, b)
		}
	}
}

func TestDrawDiffersAcrossSeeds(t *testing.T) {
	seen := map[string]uint64{}
	for seed := uint64(1); seed <= 30; seed++ {
		y, _, err := Draw(seed)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		// The name and seed lines differ trivially; compare the rest.
		body := string(y[bytes.Index(y, []byte("\nduration:")):])
		if first, dup := seen[body]; dup {
			t.Errorf("seeds %d and %d drew the same scenario", first, seed)
		}
		seen[body] = seed
	}
}

// TestDrawRanges parses every draw of seeds 1..30 and checks it stays inside the
// ranges that keep a run small.
func TestDrawRanges(t *testing.T) {
	kinds := map[string]bool{}
	strategies := map[scenarios.Strategy]bool{}
	for seed := uint64(1); seed <= 30; seed++ {
		y, sc, err := Draw(seed)
		if err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, y)
		}
		// What Draw returns is exactly what the text parses to.
		again, err := scenarios.Parse("x.yaml", y)
		if err != nil || again.Workload.Datapoints != sc.Workload.Datapoints {
			t.Fatalf("seed %d: re-parse: %v", seed, err)
		}
		failovers := 0
		for _, e := range sc.Timeline {
			if e.Failover != nil {
				failovers++
			}
		}
		others := len(sc.Timeline) - failovers
		checks := []struct {
			name   string
			ok     bool
			actual any
		}{
			{"datapoints", sc.Workload.Datapoints >= 1000 && sc.Workload.Datapoints <= 8000, sc.Workload.Datapoints},
			{"duration", time.Duration(sc.Duration) >= 6*time.Minute && time.Duration(sc.Duration) <= 15*time.Minute, sc.Duration},
			{"partitions", sc.Log.Partitions >= 6 && sc.Log.Partitions <= 48, sc.Log.Partitions},
			{"replicas", sc.Consumers.Replicas >= 2 && sc.Consumers.Replicas <= 6, sc.Consumers.Replicas},
			{"ttl_intervals", sc.State.TTLIntervals >= 2 && sc.State.TTLIntervals <= 5, sc.State.TTLIntervals},
			{"nodes", sc.Redis.Nodes >= 1 && sc.Redis.Nodes <= 4, sc.Redis.Nodes},
			{"timeline", others >= 2 && others <= 6, others},
			{"failovers", failovers <= 2, failovers},
			{"redis.replicas", sc.Redis.Replicas >= 0 && sc.Redis.Replicas <= 2, sc.Redis.Replicas},
		}
		for _, c := range checks {
			if !c.ok {
				t.Errorf("seed %d: %s = %v out of range", seed, c.name, c.actual)
			}
		}
		at := map[scenarios.Duration]bool{}
		for _, e := range sc.Timeline {
			if at[e.At] {
				t.Errorf("seed %d: two events at %s", seed, time.Duration(e.At))
			}
			at[e.At] = true
			kinds[e.Action()] = true
		}
		strategies[sc.State.Strategy] = true
		if !strings.Contains(string(y), "swarm-seed-") {
			t.Errorf("seed %d: the YAML does not carry its name", seed)
		}
	}
	if len(kinds) < 7 {
		t.Errorf("30 seeds drew only %d fault kinds: %v", len(kinds), kinds)
	}
	if len(strategies) < 3 {
		t.Errorf("30 seeds drew only %d strategies: %v", len(strategies), strategies)
	}
}

func TestFmtDur(t *testing.T) {
	tests := []struct {
		name string
		in   time.Duration
		want string
	}{
		{"whole minutes", 10 * time.Minute, "10m"},
		{"minutes and seconds", 150 * time.Second, "2m30s"},
		{"seconds", 45 * time.Second, "45s"},
		{"zero", 0, "0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fmtDur(tt.in); got != tt.want {
				t.Errorf("fmtDur(%s) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFaultsInTimeOrder(t *testing.T) {
	sc, err := scenarios.Parse("f.yaml", []byte(`version: 1
duration: 10m
workload: {datapoints: 10}
consumers: {replicas: 2}
timeline:
  - {at: 5m, crash: 1}
  - {at: 1m, scale: 3}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(Faults(sc), ","); got != "scale,crash" {
		t.Errorf("Faults = %q, want scale,crash", got)
	}
}

// TestDrawHosts: seeds 1..30 put instances on shared hosts with both BGSAVE
// schedules, and the staggered ones fork (a bgsave event, save points or AOF), so
// the staggered-one-fork-per-host invariant has forks to watch.
func TestDrawHosts(t *testing.T) {
	got := map[scenarios.BGSaveSchedule][]uint64{}
	forking := 0
	for seed := uint64(1); seed <= 30; seed++ {
		y, sc, err := Draw(seed)
		if err != nil {
			t.Fatal(err)
		}
		if sc.Redis.NodesPerHost < 2 {
			continue
		}
		s := sc.Redis.Persistence.BGSaveSchedule
		got[s] = append(got[s], seed)
		if s == scenarios.BGSaveStaggered && (strings.Contains(string(y), "bgsave: true") ||
			len(sc.Redis.Persistence.RDBSave) > 0 || sc.Redis.Persistence.AOF) {
			forking++
		}
	}
	t.Logf("shared hosts: %v; staggered seeds that fork: %d", got, forking)
	if len(got[scenarios.BGSaveTogether]) == 0 || len(got[scenarios.BGSaveStaggered]) == 0 || forking == 0 {
		t.Fatalf("seeds 1..30 drew shared hosts %v, %d staggered with forks: want both schedules and forks", got, forking)
	}
}
