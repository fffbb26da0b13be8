package sim

import (
	"bytes"
	"context"
	"testing"
)

// clusterReshard is a scale-in whose spilled context is being restored while a
// node joins: three masters become four.
const clusterReshard = `
log: {partitions: 48, assignor: cooperative-sticky}
consumers: {replicas: 6}
redis: {nodes: 3, rtt: 1ms}
timeline: [{at: 4m, scale: 3}, {at: 4m10s, reshard: {to: 4}}]
variants:
  - {name: ring, set: {redis.mode: ring}}
  - {name: cluster, set: {redis.mode: cluster}}
`

// TestClusterReshardLosesNothing: the same scale-in and node addition lose
// about k/N of the unrestored context on a client-side ring and nothing on a
// Redis Cluster, whose migration every key survives intact; the run is
// deterministic.
func TestClusterReshardLosesNothing(t *testing.T) {
	sc := scenario(t, clusterReshard)
	res, err := runAll(t, context.Background(), sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ring, cluster := res.Runs[0], res.Runs[1]
	if got := metric(t, ring, "lost_by_cause.ring_moved"); got == 0 {
		t.Fatal("the ring lost nothing to the new node")
	}
	for _, m := range []string{"context_lost", "lost_by_cause.ring_moved", "lost_by_cause.cluster_migrating",
		"redis_lookups_missed"} {
		if got := metric(t, cluster, m); got != 0 {
			t.Errorf("cluster: %s = %g", m, got)
		}
	}
	if v, ok := cluster.Summary.Get("audit.cluster_migration_lost"); ok && v != 0 {
		t.Errorf("audit.cluster_migration_lost = %g", v)
	}
	if r, s := metric(t, cluster, "restored"), metric(t, cluster, "spilled_keys"); r != s {
		t.Errorf("cluster restored %g of %g spilled", r, s)
	}
	migrated := false
	for _, e := range cluster.Events {
		if e.Kind == "redis" && bytes.Contains([]byte(e.Detail), []byte("cluster resharded to 4 masters")) {
			migrated = true
			t.Log(e.Detail)
		}
	}
	if !migrated {
		t.Fatal("the reshard did not finish")
	}
	again, _ := runAll(t, context.Background(), scenario(t, clusterReshard), Options{})
	if !bytes.Equal(encode(t, res), encode(t, again)) {
		t.Fatal("same seed, different results")
	}
}
