package redisnode

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/spillway-sim/spillway/core"
	"github.com/spillway-sim/spillway/sim/engine"
)

func newRingNodes(t *testing.T, eng *engine.Engine, count int) []*Node {
	t.Helper()
	var nodes []*Node
	for i := 0; i < count; i++ {
		nodes = append(nodes, newNodeOn(t, eng, Config{Name: fmt.Sprintf("redis-%d", i), RTT: 100 * time.Microsecond}))
	}
	return nodes
}

// TestRingRemovingOneOfFourMovesAQuarter hashes 4096 partition tags (the core
// hash-tags keys by partition, so a partition moves as a unit) over 4 nodes and
// removes one. Rendezvous hashing moves exactly the removed node's partitions. The
// moved share is binomial(4096, 1/4): σ = sqrt(0.25·0.75/4096) ≈ 0.0068, so
// ±0.03 is more than 4σ (the hash is fixed: the test is deterministic anyway).
func TestRingRemovingOneOfFourMovesAQuarter(t *testing.T) {
	eng := engine.New(1)
	nodes := newRingNodes(t, eng, 4)
	r, err := NewRing(eng, nodes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	const parts = 4096
	before := make([]*Node, parts)
	perNode := map[*Node]int{}
	for p := range parts {
		before[p] = r.NodeFor(fmt.Sprintf("{spill:%d}:dp:1", p))
		perNode[before[p]]++
		if r.NodeFor(fmt.Sprintf("{spill:%d}:dp:2", p)) != before[p] {
			t.Fatal("keys of one partition map to different nodes")
		}
	}
	for _, n := range nodes {
		if share := float64(perNode[n]) / parts; math.Abs(share-0.25) > 0.03 {
			t.Fatalf("%s owns %.3f of the partitions", n.Name(), share)
		}
	}
	if err := r.SetNodes(nodes[:3]); err != nil {
		t.Fatal(err)
	}
	moved := 0
	for p := range parts {
		after := r.NodeFor(fmt.Sprintf("{spill:%d}:dp:1", p))
		if after != before[p] {
			moved++
			if before[p] != nodes[3] {
				t.Fatalf("partition %d moved from a node that stayed", p)
			}
		} else if before[p] == nodes[3] {
			t.Fatalf("partition %d still maps to the removed node", p)
		}
	}
	share := float64(moved) / parts
	t.Logf("removing 1 of 4 nodes moved %.4f of %d partitions", share, parts)
	if math.Abs(share-0.25) > 0.03 {
		t.Fatalf("moved %.4f, want 0.25 ± 0.03", share)
	}
}

func TestRingReshardingMakesMovedKeysMisses(t *testing.T) {
	eng := engine.New(1)
	nodes := newRingNodes(t, eng, 4)
	var moved []removed
	for _, n := range nodes {
		n.OnRemove(func(key string, why Removal) { moved = append(moved, removed{key, why}) })
	}
	r, err := NewRing(eng, nodes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	s := newStore(t, eng, r.NewClient(5), core.SpillParallelism(4))
	var refs []core.KeyRef
	for i := 0; i < 4000; i++ {
		p := int32(i % 256)
		k := fmt.Sprintf("dp:%05d", i)
		s.Put(p, k, []byte("ctx"))
		refs = append(refs, core.KeyRef{Partition: p, Key: k})
	}
	if _, err := s.SpillAll(WithMeter(context.Background(), &Meter{Workers: 4})); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range nodes {
		if n.Keys() == 0 {
			t.Fatalf("%s got no keys", n.Name())
		}
		total += n.Keys()
	}
	onRemoved := nodes[3].Keys()
	if err := r.SetNodes(nodes[:3]); err != nil {
		t.Fatal(err)
	}
	if len(moved) != onRemoved || moved[0].why != Moved {
		t.Fatalf("%d Moved reports, %d keys on the removed node", len(moved), onRemoved)
	}
	rep, err := newStore(t, eng, r.NewClient(2)).Restore(context.Background(), refs)
	if err != nil {
		t.Fatal(err)
	}
	missShare := float64(rep.Missing) / float64(len(refs))
	t.Logf("after removing 1 of 4 nodes: %d restored, %d missing (%.3f)", rep.Restored, rep.Missing, missShare)
	if math.Abs(missShare-0.25) > 0.08 || rep.Restored+rep.Missing != len(refs) {
		t.Fatalf("restore after resharding: %+v", rep)
	}
	if nodes[3].Keys() != onRemoved {
		t.Fatal("keys of the removed node disappeared: they must stay until they expire")
	}
}
