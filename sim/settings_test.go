package sim

import (
	"testing"
	"time"

	"github.com/spillway-sim/spillway/scenarios"
)

// TestResolve: the settings are the scenario's values in plain units.
func TestResolve(t *testing.T) {
	sc := scenario(t, auditScenario)
	sc.State.TTLOnlyEvery = scenarios.Duration(30 * time.Minute)
	cfg := resolve(sc, 1)
	tests := []struct {
		name      string
		got, want any
	}{
		{"duration", cfg.duration, sc.Duration.Std()},
		{"process_time", cfg.processTime, sc.Consumers.ProcessTime.Std()},
		{"poll_batch", cfg.pollBatch, sc.Log.PollBatch},
		{"ttl_only_every", cfg.ttlOnlyEvery, 30 * time.Minute},
		{"store_ttl", cfg.storeTTL, max(sc.State.TTLFor(sc.Workload.Interval.Std()), time.Second)},
		{"context_bytes", cfg.contextBytes, sc.Workload.ContextBytes.Bytes()},
		{"maxmemory", cfg.maxMemoryBytes, sc.Redis.MaxMemory.Bytes()},
		{"eager_restore", cfg.eagerRestore, sc.State.Restore == "eager"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("resolved %v, scenario says %v", tt.got, tt.want)
			}
		})
	}
}
