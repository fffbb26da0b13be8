package redisnode

import (
	"math"
	"testing"
	"time"

	"github.com/spillway-sim/spillway/sim/calibration"
)

func TestConfigDefaults(t *testing.T) {
	s, err := Config{Name: "n"}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	cal := calibration.Default()
	if s.Policy != NoEviction || s.Samples != 5 || s.LFULogFactor != 10 || s.LFUDecayTime != time.Minute ||
		s.AOFRewriteMinSize != 64<<20 || s.RestartDelay != 10*time.Second || s.RTT != cal.RTT() ||
		s.PageSize != cal.COW.PageSizeBytes || s.SnapshotRate != cal.Fork.SnapshotBytesPerSec || s.LoadRate != s.SnapshotRate ||
		s.Rand == nil || s.flat {
		t.Fatalf("defaults %+v", s.Config)
	}
	if d := s.forkStall(1 << 30); d != cal.ForkTime(1<<30) {
		t.Fatalf("fork stall %v, calibration %v", d, cal.ForkTime(1<<30))
	}
	s2, _ := Config{ForkTimePerGiB: 10 * time.Millisecond, SnapshotRate: 100 << 20}.resolve()
	base := time.Duration(math.Round(cal.Fork.BaseNanos))
	if s2.forkStall(2<<30) != base+20*time.Millisecond || s2.snapshotDuration(100<<20) != time.Second {
		t.Fatalf("overrides: stall %v snapshot %v", s2.forkStall(2<<30), s2.snapshotDuration(100<<20))
	}
	s3, _ := Config{ForkTimeBase: 5 * time.Millisecond}.resolve()
	if want := 5*time.Millisecond + time.Duration(math.Round(cal.Fork.NanosPerGiB)); s3.forkStall(1<<30) != want {
		t.Fatalf("base override: stall %v, want %v", s3.forkStall(1<<30), want)
	}
	a, _ := Config{Name: "x"}.resolve()
	b, _ := Config{Name: "x"}.resolve()
	if a.Rand.Uint64() != b.Rand.Uint64() {
		t.Fatal("the default generator is not seeded from the name")
	}
}

func TestConfigRejectsNonsense(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{name: "negative RTT", cfg: Config{RTT: -1}},
		{name: "negative maxmemory", cfg: Config{MaxMemory: -1}},
		{name: "unknown policy", cfg: Config{Policy: "allkeys-lfru"}},
		{name: "overcommit 3", cfg: Config{OvercommitMemory: 3}},
		{name: "bad save point", cfg: Config{RDBSave: []string{"900"}}},
		{name: "zero changes", cfg: Config{RDBSave: []string{"900 0"}}},
		{name: "negative snapshot rate", cfg: Config{SnapshotRate: -1}},
		{name: "negative fork base", cfg: Config{ForkTimeBase: -1}},
		{name: "negative samples", cfg: Config{Samples: -5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.cfg.resolve(); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestParseSavePoint(t *testing.T) {
	tests := []struct {
		in   string
		want SavePoint
		ok   bool
	}{
		{in: "900 1", want: SavePoint{After: 900 * time.Second, Changes: 1}, ok: true},
		{in: " 60   10000 ", want: SavePoint{After: time.Minute, Changes: 10000}, ok: true},
		{in: "60"},
		{in: "x 1"},
		{in: "-1 1"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSavePoint(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("ParseSavePoint(%q) = %+v, %v", tt.in, got, err)
			}
		})
	}
}

func TestPolicyPredicates(t *testing.T) {
	for _, p := range Policies {
		if !p.valid() {
			t.Fatalf("%s invalid", p)
		}
		kinds := 0
		for _, b := range []bool{p.lru(), p.lfu(), p.random(), p == VolatileTTL, p == NoEviction} {
			if b {
				kinds++
			}
		}
		if kinds != 1 {
			t.Fatalf("%s has %d kinds", p, kinds)
		}
	}
}
