//go:build !race

package sim

import "testing"

// Not built under -race: 20,000 keys through a slow reshard take ~5 s, ten
// times that under the race detector (the golden summaries are kept out of the
// race run for the same reason).

// TestClusterMigratingCause: restores that meet a slot mid-migration (an MGET
// over keys on both nodes answers TRYAGAIN) fail, and the contexts they needed
// are lost with cause cluster_migrating, not redis_unavailable; the data itself
// stays in the cluster (no audit finding).
func TestClusterMigratingCause(t *testing.T) {
	sc := scenario(t, `
log: {partitions: 24, assignor: range}
consumers: {replicas: 6}
redis: {nodes: 3, mode: cluster, rtt: 2ms}
timeline:
  - {at: 3m, scale: 3}
  - {at: 3m1s, reshard: {to: 4}}
  - {at: 3m5s, scale: 6}
  - {at: 3m9s, scale: 2}
`)
	sc.Workload.Datapoints = 20000
	_, rr := run(t, sc, nil)
	lost := metric(t, rr, "context_lost")
	if got := metric(t, rr, "lost_by_cause.cluster_migrating"); got == 0 || got != lost {
		t.Fatalf("lost %g, of which cluster_migrating %g", lost, got)
	}
	if got := metric(t, rr, "lost_by_cause.redis_unavailable"); got != 0 {
		t.Fatalf("redis_unavailable %g", got)
	}
	if v, ok := rr.Summary.Get("audit.cluster_migration_lost"); ok && v != 0 {
		t.Fatalf("audit.cluster_migration_lost = %g", v)
	}
}
