package scenarios

import "fmt"

// Behavior: the Redis topology field redis.mode and the reshard timeline event.
//
//   - single: one node (redis.nodes must be 1).
//   - ring: client-side consistent hashing over redis.nodes nodes (go-redis Ring,
//     as Twemproxy shards); a node-count change rehashes keys on the client, and the
//     keys that now hash elsewhere are misses (cause ring_moved).
//   - cluster: Redis Cluster with redis.nodes masters owning the 16384 hash slots
//     (go-redis ClusterClient); reshard migrates slots with MIGRATE, clients follow
//     ASK and MOVED, and no acknowledged key is lost.
//
// An empty mode keeps the behaviour from before the field existed: single when
// redis.nodes is 1 and no timeline event changes the node count, ring otherwise.
// {reshard: {to: N}} sets the number of masters to N: slot migration in cluster
// mode (redis-cli --cluster reshard / rebalance), the same as redis_nodes: N in
// ring mode. redis_nodes stays the ring's event; a Cluster refuses it.

// RedisMode is redis.mode.
type RedisMode string

// The Redis topologies.
const (
	RedisSingle  RedisMode = "single"
	RedisRing    RedisMode = "ring"
	RedisCluster RedisMode = "cluster"
)

// RedisModes lists the redis.mode values ("" is also accepted: derived).
var RedisModes = []string{string(RedisSingle), string(RedisRing), string(RedisCluster)}

// ClusterSlots is the number of Redis Cluster hash slots (cluster.h CLUSTER_SLOTS).
const ClusterSlots = 16384

// Reshard is the reshard timeline event.
type Reshard struct {
	// To is the number of masters (ring nodes) after the event.
	To int `yaml:"to"`
}

// ResolvedRedisMode is the topology the run uses: redis.mode, or when empty,
// single for one node and no node-count event, else ring.
func (s *Scenario) ResolvedRedisMode() RedisMode {
	if s.Redis.Mode != "" {
		return s.Redis.Mode
	}
	if s.Redis.Nodes > 1 {
		return RedisRing
	}
	for _, ev := range s.Timeline {
		if ev.RedisNodes != nil || ev.Reshard != nil {
			return RedisRing
		}
	}
	return RedisSingle
}

// redisMode checks redis.mode against redis.nodes and the node-count events.
func (c *checker) redisMode() {
	r := c.s.Redis
	if r.Mode != "" {
		c.oneOf("redis.mode", string(r.Mode), RedisModes)
	}
	switch r.Mode {
	case RedisSingle:
		if r.Nodes > 1 {
			c.add("redis.mode", "single runs one node, but redis.nodes is %d (write ring or cluster)", r.Nodes)
		}
	case RedisCluster:
		if r.Nodes > ClusterSlots {
			c.add("redis.nodes", "%d masters cannot each own one of the %d hash slots", r.Nodes, ClusterSlots)
		}
	}
	for i, ev := range c.s.Timeline {
		p := fmt.Sprintf("timeline[%d]", i)
		switch {
		case ev.RedisNodes != nil && r.Mode == RedisSingle:
			c.add(p+".redis_nodes", "changes the node count, but redis.mode is single (write redis.mode: ring)")
		case ev.RedisNodes != nil && r.Mode == RedisCluster:
			c.add(p+".redis_nodes", "changes a client-side ring; a Cluster migrates slots: write reshard: {to: %d}",
				*ev.RedisNodes)
		case ev.Reshard != nil && r.Mode == RedisSingle:
			c.add(p+".reshard", "changes the node count, but redis.mode is single (write redis.mode: ring or cluster)")
		}
	}
}

// reshard checks one reshard event.
func (c *checker) reshard(p string, rs *Reshard) {
	switch {
	case rs.To < 1:
		c.add(p+".reshard.to", "%d: at least one master must remain (write e.g. reshard: {to: 4})", rs.To)
	case rs.To > ClusterSlots:
		c.add(p+".reshard.to", "%d masters cannot each own one of the %d hash slots", rs.To, ClusterSlots)
	}
}
