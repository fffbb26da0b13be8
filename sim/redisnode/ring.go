package redisnode

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillway-sim/spillway/sim/engine"
)

// Behavior: several nodes behind go-redis's client-side consistent hashing
// (redis.Ring, like Twemproxy in UrbanClap's write-up (docs/design.md)). A key maps to a shard by
// go-redis's own hash (rendezvous hashing of the key's hash tag over the shard
// names, ring.go newRendezvous), so the core's keys "{spill:p}:..." move as a whole
// partition. Changing the node set (SetNodes, the `redis_nodes` timeline event)
// calls Ring.SetAddrs on every client: keys whose owner changed are misses from then
// on; they stay on their old node, unreachable, until they expire or are evicted,
// and OnRemove hears Moved for them (cause ring_moved). Rendezvous hashing moves
// only the keys of removed nodes (or that a new node wins): removing 1 of N loses
// ~1/N of the keys, adding one moves ~1/(N+1) — the k/N of UrbanClap's write-up (docs/design.md).
//
// The Ring's heartbeat, which marks a shard down after 3 failed PINGs on a
// wall-clock ticker and rehashes its keys, is disabled (it would make resharding
// depend on wall time): a down node stays in the ring and its keys fail, as with
// Twemproxy's auto_eject_hosts off. Not modelled: Redis Cluster slot migration.

// Ring is a set of nodes shared by the go-redis Ring clients of every pod.
type Ring struct {
	eng *engine.Engine

	mu      sync.Mutex
	nodes   []*Node
	byName  map[string]*Node
	clients []*redis.Ring
	probe   *redis.Ring
}

// NewRing puts nodes (at least one, distinct names) behind client-side
// consistent hashing.
func NewRing(eng *engine.Engine, nodes []*Node) (*Ring, error) {
	r := &Ring{eng: eng, byName: map[string]*Node{}}
	if err := r.check(nodes); err != nil {
		return nil, err
	}
	for _, n := range nodes {
		r.byName[n.Name()] = n
	}
	r.nodes = slices.Clone(nodes)
	r.probe = r.newRing(1, false)
	return r, nil
}

func (r *Ring) check(nodes []*Node) error {
	if len(nodes) == 0 {
		return fmt.Errorf("redisnode: a ring needs at least one node")
	}
	seen := map[string]bool{}
	for _, n := range nodes {
		if n == nil || seen[n.Name()] {
			return fmt.Errorf("redisnode: ring nodes must be distinct and non-nil")
		}
		seen[n.Name()] = true
	}
	return nil
}

func (r *Ring) addrs() map[string]string {
	m := make(map[string]string, len(r.nodes))
	for _, n := range r.nodes {
		m[n.Name()] = n.Name()
	}
	return m
}

func (r *Ring) newRing(poolSize int, hooked bool) *redis.Ring {
	return redis.NewRing(&redis.RingOptions{
		Addrs:              r.addrs(),
		HeartbeatFrequency: time.Hour,
		HeartbeatFn:        func(ctx context.Context, c *redis.Client) bool { return true },
		MaxRetries:         -1,
		PoolSize:           max(poolSize, 1),
		DisableIdentity:    true,
		Protocol:           2,
		NewClient: func(opt *redis.Options) *redis.Client {
			r.mu.Lock()
			n := r.byName[opt.Addr]
			r.mu.Unlock()
			if n == nil {
				panic(fmt.Sprintf("redisnode: ring shard %q is not a node of the ring", opt.Addr))
			}
			o := n.ClientOptions(poolSize)
			c := redis.NewClient(o)
			if hooked {
				c.AddHook(&hook{n: n, poolSize: max(poolSize, 1)})
			}
			return c
		},
	})
}

// NewClient returns a go-redis Ring over the nodes for one pod; its shard clients
// go through each node's hook. SetNodes updates it.
func (r *Ring) NewClient(poolSize int) *redis.Ring {
	c := r.newRing(poolSize, true)
	r.mu.Lock()
	r.clients = append(r.clients, c)
	r.mu.Unlock()
	return c
}

// Nodes is the current node set.
func (r *Ring) Nodes() []*Node {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.nodes)
}

// NodeFor is the node key maps to now.
func (r *Ring) NodeFor(key string) *Node {
	c, err := r.probe.GetShardClientForKey(key)
	if err != nil {
		panic(fmt.Sprintf("redisnode: ring has no shard for %q: %v", key, err))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byName[c.Options().Addr]
}

// SetNodes changes the node set (resharding). Keys stored on a node that no
// longer owns them are reported Moved through that node's OnRemove, in node order
// then key order; they stay where they are.
func (r *Ring) SetNodes(nodes []*Node) error {
	if err := r.check(nodes); err != nil {
		return err
	}
	r.mu.Lock()
	old := r.nodes
	for _, n := range nodes {
		r.byName[n.Name()] = n
	}
	r.nodes = slices.Clone(nodes)
	addrs := r.addrs()
	clients := append([]*redis.Ring{r.probe}, r.clients...)
	r.mu.Unlock()
	for _, c := range clients {
		c.SetAddrs(addrs)
	}
	for _, n := range old {
		var moved []string
		for _, k := range n.keyNames() {
			if r.NodeFor(k) != n {
				moved = append(moved, k)
			}
		}
		n.reportMoved(moved)
	}
	return nil
}

// Close closes every ring client (not the nodes).
func (r *Ring) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.clients {
		c.Close()
	}
	r.probe.Close()
}

// keyNames lists the node's keys, sorted.
func (n *Node) keyNames() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.settle()
	keys := make([]string, 0, n.ks.len())
	for i := range n.ks.entries {
		keys = append(keys, n.ks.entries[i].key)
	}
	slices.Sort(keys)
	return keys
}

// reportMoved tells OnRemove that keys became unreachable (called from the
// engine's goroutine).
func (n *Node) reportMoved(keys []string) {
	if fn := n.onRemove; fn != nil {
		for _, k := range keys {
			fn(k, Moved)
		}
	}
}
