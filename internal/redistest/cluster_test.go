package redistest

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestSlot(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  string
		want int
	}{
		// Values from CLUSTER KEYSLOT on redis-server 7.0.
		{name: "plain", key: "foo", want: 12182},
		{name: "hash tag", key: "spill:{0}:dp:000001", want: 13907},
		{name: "tag alone", key: "0", want: 13907},
		{name: "empty tag hashes the whole key", key: "a{}b", want: 13694},
		{name: "first tag only", key: "{user1000}.following{x}", want: 3443},
		{name: "unclosed brace", key: "{abc", want: 444},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Slot(tc.key); got != tc.want {
				t.Fatalf("Slot(%q) = %d, want %d", tc.key, got, tc.want)
			}
		})
	}
}

// TestClusterWithReplicas starts 3 masters with a replica each, checks the shape
// and slots against the servers, fails one master over gracefully, and kills it.
func TestClusterWithReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	ctx := context.Background()
	c := StartClusterWithReplicas(t, 3, 1)
	if len(c.Nodes) != 6 || len(c.Live()) != 6 {
		t.Fatalf("%d nodes, %d live", len(c.Nodes), len(c.Live()))
	}
	masters, err := c.Masters(ctx)
	if err != nil || len(masters) != 3 {
		t.Fatalf("masters %v, %v", masters, err)
	}
	for _, key := range []string{"foo", "{spill:0}:a", "{spill:7}:b"} {
		m, err := c.MasterOf(ctx, key)
		if err != nil || !slices.Contains(masters, m) {
			t.Fatalf("MasterOf(%q) = %q, %v; masters %v", key, m, err, masters)
		}
		cl := Client(m)
		slot, err := cl.ClusterKeySlot(ctx, key).Result()
		cl.Close()
		if err != nil || int(slot) != Slot(key) {
			t.Fatalf("CLUSTER KEYSLOT %q = %d, %v; Slot = %d", key, slot, err, Slot(key))
		}
	}
	m, _ := c.MasterOf(ctx, "foo")
	reps, err := c.ReplicasOf(ctx, m)
	if err != nil || len(reps) != 1 {
		t.Fatalf("replicas of %s: %v, %v", m, reps, err)
	}
	if err := c.Failover(ctx, reps[0]); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitMaster(ctx, reps[0], 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if m2, _ := c.MasterOf(ctx, "foo"); m2 != reps[0] {
		t.Fatalf("after failover foo is served by %s, want %s", m2, reps[0])
	}
	// The old master is now the replica: kill the new one and the old one takes over.
	if err := c.WaitHealthy(3, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c.Kill(reps[0])
	if err := c.WaitMaster(ctx, m, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("failover after SIGKILL took %v", time.Since(start).Round(time.Millisecond))
	if len(c.Live()) != 5 {
		t.Fatalf("%d live nodes after a kill", len(c.Live()))
	}
}
