package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim/redisnode"
	"github.com/spillway-sim/spillway/sim/workload"
)

// Behavior: the run's Redis — one node, or a client-side consistent-hash ring of
// nodes (redis.nodes > 1, or a redis_nodes timeline event), as go-redis Ring and
// Twemproxy shard. Every node is a redisnode.Node with the scenario's memory,
// eviction, persistence and latency settings; a redis_nodes event changes the
// ring's membership (new nodes start empty; removed nodes keep their data,
// unreachable), and the keys that now hash elsewhere are misses (cause ring_moved).
// storeNamespace is the namespace of every pod's store: one group on one topic.
// Keys are core.RedisKey("spill", p, key): "{spill:<p>}:<key>", the same length as
// the "spill:{<p>}:<key>" of the format before it (workload.RedisKey).
const storeNamespace = workload.SpillNamespace

type redisFleet struct {
	r      *runner
	rng    *rand.Rand // node RNGs are drawn from it, in node order
	all    []*redisnode.Node
	active []*redisnode.Node
	ring   *redisnode.Ring
	hosts  []*redisnode.Host // redis.nodes_per_host (hosts.go)
	// cluster is set in redis.mode cluster (cluster.go).
	cluster     *redisnode.Cluster
	clusterSlot []int // hash slot of each partition's keys (cluster.go)
}

func (r *runner) newRedisFleet() (*redisFleet, error) {
	f := &redisFleet{r: r, rng: r.eng.NewRand()}
	useRing := r.sc.ResolvedRedisMode() == scenarios.RedisRing
	for i := 0; i < r.sc.Redis.Nodes; i++ {
		if _, err := f.addNode(); err != nil {
			return nil, err
		}
	}
	f.active = slices.Clone(f.all)
	if useRing {
		ring, err := redisnode.NewRing(r.eng, f.active)
		if err != nil {
			return nil, err
		}
		f.ring = ring
	}
	if r.sc.ResolvedRedisMode() == scenarios.RedisCluster {
		if err := f.newCluster(); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// nodeConfig maps the scenario's redis block onto a node's model parameters.
func (f *redisFleet) nodeConfig(name string) redisnode.Config {
	rc := f.r.sc.Redis
	return redisnode.Config{
		Name:                 name,
		RTT:                  rc.RTT.Std(),
		Rand:                 rand.New(rand.NewPCG(f.rng.Uint64(), f.rng.Uint64())),
		MaxMemory:            rc.MaxMemory.Bytes(),
		Policy:               redisnode.Policy(rc.MaxMemoryPolicy),
		Samples:              rc.MaxMemorySamples,
		SystemMemory:         rc.SystemMemory.Bytes(),
		OvercommitMemory:     rc.OvercommitMemory,
		OvercommitPre52:      rc.OvercommitHeuristic == scenarios.OvercommitPre52,
		BaselineUsed:         rc.BaselineUsed.Bytes(),
		RDBSave:              rc.Persistence.RDBSave,
		AOF:                  rc.Persistence.AOF,
		AOFRewritePercentage: rc.Persistence.AOFRewritePercentage,
		AOFRewriteMinSize:    rc.Persistence.AOFRewriteMinSize.Bytes(),
		SnapshotRate:         float64(rc.Persistence.SnapshotRate.Bytes()),
		PageSize:             rc.Model.PageSize.Bytes(),
		ForkTimeBase:         rc.Model.ForkTimeBase.Std(),
		ForkTimePerGiB:       rc.Model.ForkTimePerGiB.Std(),
		Weight:               int64(f.r.cfg.weight),
		Weighted:             workload.IsRedisDataKey,
		Replicas:             rc.Replicas,
		ReplBacklogSize:      rc.ReplBacklogSize.Bytes(),
		FailoverTime:         rc.FailoverTime.Std(),
	}
}

func (f *redisFleet) addNode() (*redisnode.Node, error) {
	name := fmt.Sprintf("redis-%d", len(f.all))
	n, err := redisnode.New(f.r.eng, f.nodeConfig(name))
	if err != nil {
		return nil, err
	}
	n.OnRemove(f.r.onRedisRemove)
	f.hostOf(len(f.all)).Add(n)
	f.all = append(f.all, n)
	return n, nil
}

// client returns a pod's go-redis client: a node's, or a ring's.
func (f *redisFleet) client(poolSize int) redis.UniversalClient {
	if f.ring != nil {
		return f.ring.NewClient(poolSize)
	}
	if f.cluster != nil {
		return f.cluster.NewClient(poolSize)
	}
	return f.active[0].NewClient(poolSize)
}

// advance brings every node to the engine's time (expiry, persistence, restarts).
func (f *redisFleet) advance() {
	for _, n := range f.all {
		n.Advance()
	}
	f.checkHosts()
}

// deliverRemovals hands every node's pending removals to the simulator now.
func (f *redisFleet) deliverRemovals() {
	for _, n := range f.all {
		n.DeliverRemovals()
	}
}

// resize sets the ring to n nodes: the first n of those ever created, new ones as needed.
func (f *redisFleet) resize(n int) error {
	if f.ring == nil {
		return fmt.Errorf("redis_nodes needs a ring")
	}
	for len(f.all) < n {
		if _, err := f.addNode(); err != nil {
			return err
		}
	}
	f.active = slices.Clone(f.all[:n])
	return f.ring.SetNodes(f.active)
}

// nodeOf is the node that holds partition p's keys now (they share a hash
// tag), for counting the nodes a call of many partitions reaches.
func (f *redisFleet) nodeOf(p int32) *redisnode.Node {
	switch {
	case f.cluster != nil:
		return f.cluster.Owner(f.clusterSlot[p])
	case f.ring != nil:
		return f.ring.NodeFor(workload.RedisKey(p, ""))
	}
	return f.active[0]
}

// shards is how many nodes the keys are spread over.
func (f *redisFleet) shards() int {
	if f.cluster != nil {
		return len(f.cluster.Masters())
	}
	return len(f.active)
}

func (f *redisFleet) close() {
	if f.ring != nil {
		f.ring.Close()
	}
	if f.cluster != nil {
		f.cluster.Close()
	}
	for _, n := range f.all {
		n.Close()
	}
}

// stats sums the nodes' counters.
func (f *redisFleet) stats() (s redisnode.Stats) {
	for _, n := range f.all {
		ns := n.Stats()
		s.Ops += ns.Ops
		s.RoundTrips += ns.RoundTrips
		s.BytesIn += ns.BytesIn
		s.BytesOut += ns.BytesOut
		s.ExpiredKeys += ns.ExpiredKeys
		s.RejectedDown += ns.RejectedDown
	}
	return s
}

// keys is the number of keys on the active nodes.
func (f *redisFleet) keys() int {
	k := 0
	for _, n := range f.active {
		k += n.Keys()
	}
	return k
}

// memory returns the most loaded active node's memory (a node's capacity is
// what gets sized) and the fleet's totals of the counters; the peaks and failure
// levels in the totals are of one node (the highest peak, the lowest used memory
// a node failed at), since a node is what gets sized.
func (f *redisFleet) memory() (worst redisnode.MemoryStats, total redisnode.MemoryStats) {
	for _, n := range f.all {
		m := n.Memory()
		total.Evicted += m.Evicted
		total.Expired += m.Expired
		total.RejectedWrites += m.RejectedWrites
		total.OOMKills += m.OOMKills
		total.ForkFailures += m.ForkFailures
		total.Forks += m.Forks
		total.PeakUsedBytes = max(total.PeakUsedBytes, m.PeakUsedBytes)
		if m.PeakRSSBytes > total.PeakRSSBytes {
			total.PeakRSSBytes, total.PeakRSSUsedBytes = m.PeakRSSBytes, m.PeakRSSUsedBytes
		}
		if m.PeakCOWBytes > total.PeakCOWBytes {
			total.PeakCOWBytes, total.PeakCOWUsedBytes = m.PeakCOWBytes, m.PeakCOWUsedBytes
		}
		total.PeakKeys = max(total.PeakKeys, m.PeakKeys)
		if m.OOMUsedBytes > 0 && (total.OOMUsedBytes == 0 || m.OOMUsedBytes < total.OOMUsedBytes) {
			total.OOMUsedBytes, total.OOMRSSBytes = m.OOMUsedBytes, m.OOMRSSBytes
		}
		if m.ForkFailedUsedBytes > 0 && (total.ForkFailedUsedBytes == 0 || m.ForkFailedUsedBytes < total.ForkFailedUsedBytes) {
			total.ForkFailedUsedBytes = m.ForkFailedUsedBytes
		}
		if slices.Contains(f.active, n) && m.RSSBytes+m.COWBytes >= worst.RSSBytes+worst.COWBytes {
			worst = m
		}
	}
	return worst, total
}

// corrupt overwrites n spilled values with bytes that are not an envelope,
// chosen from the data keys of the active nodes with the run's RNG.
func (f *redisFleet) corrupt(n int, rng *rand.Rand) int {
	var keys []string
	var owner []*redisnode.Node
	for _, node := range f.active {
		for _, k := range node.Miniredis().Keys() {
			if workload.IsRedisDataKey(k) {
				keys = append(keys, k)
				owner = append(owner, node)
			}
		}
	}
	done := 0
	for i := 0; i < n && len(keys) > 0; i++ {
		j := rng.IntN(len(keys))
		ttl := owner[j].Miniredis().TTL(keys[j])
		owner[j].Miniredis().Set(keys[j], "\x01garbage written over a spilled value")
		if ttl > 0 {
			owner[j].Miniredis().SetTTL(keys[j], ttl)
		}
		keys[j], owner[j] = keys[len(keys)-1], owner[len(owner)-1]
		keys, owner = keys[:len(keys)-1], owner[:len(owner)-1]
		done++
	}
	return done
}
