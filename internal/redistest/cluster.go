package redistest

// Behavior: a Redis Cluster of masters with replicas on loopback, for failover tests.
//
// Modelled: redis-cli --cluster create with --cluster-replicas (replicas are
// attached by CLUSTER REPLICATE and synced), a short cluster-node-timeout so a
// killed master is failed over within a few seconds (PFAIL after the node timeout,
// FAIL once a majority of masters agree, then the replica's election after
// 500 ms + random(0-500 ms) + rank × 1 s: Redis Cluster specification, "Replica
// election and promotion"), diskless replication without its default 5 s delay, and
// a manual failover (CLUSTER FAILOVER on a replica: the master stops writes until
// the replica has its replication offset, then the replica takes over, so no
// acknowledged write is lost: "CLUSTER FAILOVER" command documentation).
// Not modelled: persistence (none: a killed node's data is gone), several hosts.

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// ClusterNodeTimeout is the cluster-node-timeout of clusters started by
// StartClusterWithReplicas.
const ClusterNodeTimeout = 1000 * time.Millisecond

// Cluster is a Redis Cluster started by StartClusterWithReplicas. Its methods read
// the topology from a live node, so they follow failovers.
type Cluster struct {
	Nodes []*Server // every node, in creation order

	mu     sync.Mutex
	killed map[string]bool
}

// ClusterNode is one line of CLUSTER NODES.
type ClusterNode struct {
	ID       string
	Addr     string // host:port
	Master   bool
	Failed   bool     // flagged fail or fail? by the node asked
	Myself   bool     // the node asked
	MasterID string   // of a replica; "" for a master
	Slots    []string // slot ranges as CLUSTER NODES prints them ("0-5460")
}

// StartClusterWithReplicas starts masters × (1 + replicasPerMaster) cluster-enabled
// nodes on loopback, joins them with redis-cli --cluster create --cluster-replicas,
// and waits until every node reports cluster_state:ok, all agree on who serves
// which slot, and every replica's link to its master is up and synced. Processes
// are killed and their directories removed when the test ends. It skips the test
// when redis-server or redis-cli is missing.
func StartClusterWithReplicas(tb testing.TB, masters, replicasPerMaster int) *Cluster {
	tb.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil || !Available() {
		tb.Skip("redis-server/redis-cli not on PATH: skipping the Redis Cluster part (CI installs them)")
	}
	if masters < 3 || replicasPerMaster < 0 {
		tb.Fatalf("StartClusterWithReplicas(%d, %d): a cluster needs at least 3 masters", masters, replicasPerMaster)
	}
	c := &Cluster{killed: map[string]bool{}}
	n := masters * (1 + replicasPerMaster)
	for i := range n {
		dir := tb.TempDir()
		s, err := Start(dir, []string{"--cluster-enabled", "yes", "--cluster-config-file", dir + "/nodes.conf",
			"--cluster-node-timeout", fmt.Sprint(ClusterNodeTimeout.Milliseconds()),
			"--repl-diskless-sync-delay", "0"})
		if err != nil {
			tb.Fatalf("cluster node %d: %v", i, err)
		}
		tb.Cleanup(s.Stop)
		c.Nodes = append(c.Nodes, s)
	}
	args := append(append([]string{"--cluster", "create"}, c.Addrs()...),
		"--cluster-replicas", fmt.Sprint(replicasPerMaster), "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		tb.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	if err := c.WaitHealthy(masters, replicasPerMaster, 20*time.Second); err != nil {
		tb.Fatal(err)
	}
	return c
}

// Addrs returns the address of every node, killed ones included: a seed list for
// redis.NewClusterClient.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		out[i] = s.Addr
	}
	return out
}

// Live returns the addresses of the nodes not killed.
func (c *Cluster) Live() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, s := range c.Nodes {
		if !c.killed[s.Addr] {
			out = append(out, s.Addr)
		}
	}
	return out
}

// Kill SIGKILLs the node at addr and waits for the process to exit.
func (c *Cluster) Kill(addr string) {
	for _, s := range c.Nodes {
		if s.Addr == addr {
			c.mu.Lock()
			c.killed[addr] = true
			c.mu.Unlock()
			s.Stop()
			return
		}
	}
	panic(fmt.Sprintf("redistest: Kill(%q): not a node of the cluster", addr))
}

// Failover runs CLUSTER FAILOVER (graceful, coordinated with the master) on the
// replica at addr. It returns as soon as the replica accepted it; WaitMaster waits
// for the switch.
func (c *Cluster) Failover(ctx context.Context, replica string) error {
	cl := Client(replica)
	defer cl.Close()
	return cl.ClusterFailover(ctx).Err()
}

// Topology returns CLUSTER NODES as seen by the first live node, sorted by address.
func (c *Cluster) Topology(ctx context.Context) ([]ClusterNode, error) {
	live := c.Live()
	if len(live) == 0 {
		return nil, fmt.Errorf("redistest: no live node")
	}
	return nodesOf(ctx, live[0])
}

// Masters returns the addresses of the masters that serve slots and are not
// flagged failed, sorted.
func (c *Cluster) Masters(ctx context.Context) ([]string, error) {
	nodes, err := c.Topology(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range nodes {
		if n.Master && !n.Failed && len(n.Slots) > 0 {
			out = append(out, n.Addr)
		}
	}
	return out, nil
}

// ReplicasOf returns the addresses of master's replicas that are not flagged
// failed, sorted.
func (c *Cluster) ReplicasOf(ctx context.Context, master string) ([]string, error) {
	nodes, err := c.Topology(ctx)
	if err != nil {
		return nil, err
	}
	id := ""
	for _, n := range nodes {
		if n.Addr == master {
			id = n.ID
		}
	}
	if id == "" {
		return nil, fmt.Errorf("redistest: %s is not a node of the cluster", master)
	}
	var out []string
	for _, n := range nodes {
		if n.MasterID == id && !n.Failed {
			out = append(out, n.Addr)
		}
	}
	return out, nil
}

// MasterOf returns the address of the master that serves key's slot, as the first
// live node sees it.
func (c *Cluster) MasterOf(ctx context.Context, key string) (string, error) {
	live := c.Live()
	if len(live) == 0 {
		return "", fmt.Errorf("redistest: no live node")
	}
	cl := Client(live[0])
	defer cl.Close()
	slots, err := cl.ClusterSlots(ctx).Result()
	if err != nil {
		return "", err
	}
	slot := Slot(key)
	for _, r := range slots {
		if slot >= r.Start && slot <= r.End && len(r.Nodes) > 0 {
			return r.Nodes[0].Addr, nil
		}
	}
	return "", fmt.Errorf("redistest: slot %d of %q is not served", slot, key)
}

// WaitMaster waits until addr is a master that serves slots and every live node
// reports cluster_state:ok and agrees on who serves which slots (replicas are not
// checked: a promoted replica's master may be dead).
func (c *Cluster) WaitMaster(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ms, err := c.Masters(ctx)
		if err == nil && slices.Contains(ms, addr) && c.healthy(ctx, len(ms), -1) == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redistest: %s did not become a serving master within %v (masters %v, %v)", addr, timeout, ms, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitHealthy waits until every live node reports cluster_state:ok, all agree on
// which master serves which slots, there are masters masters, and (unless
// replicasPerMaster is negative) each has replicasPerMaster replicas whose link is
// up and synced.
func (c *Cluster) WaitHealthy(masters, replicasPerMaster int, timeout time.Duration) error {
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	for {
		err := c.healthy(ctx, masters, replicasPerMaster)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redistest: cluster not healthy within %v: %w", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *Cluster) healthy(ctx context.Context, masters, replicasPerMaster int) error {
	live := c.Live()
	view := ""
	for _, addr := range live {
		cl := Client(addr)
		info, err := cl.ClusterInfo(ctx).Result()
		cl.Close()
		if err != nil {
			return fmt.Errorf("%s: CLUSTER INFO: %w", addr, err)
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("%s: cluster_state not ok", addr)
		}
		nodes, err := nodesOf(ctx, addr)
		if err != nil {
			return err
		}
		var v []string
		for _, n := range nodes {
			if n.Master && len(n.Slots) > 0 {
				if n.Failed {
					return fmt.Errorf("%s: master %s serving slots is flagged failed", addr, n.Addr)
				}
				v = append(v, n.Addr+" "+strings.Join(n.Slots, ","))
			}
		}
		if len(v) != masters {
			return fmt.Errorf("%s sees %d masters serving slots, want %d", addr, len(v), masters)
		}
		// Every node's view (gossip) must already list each master's replicas:
		// INFO replication on the replicas can be up before the others know.
		if replicasPerMaster >= 0 {
			for _, m := range nodes {
				if !m.Master || len(m.Slots) == 0 {
					continue
				}
				seen := 0
				for _, n := range nodes {
					if n.MasterID == m.ID && !n.Failed {
						seen++
					}
				}
				if seen != replicasPerMaster {
					return fmt.Errorf("%s sees %d replicas of %s, want %d", addr, seen, m.Addr, replicasPerMaster)
				}
			}
		}
		if s := strings.Join(v, "; "); view == "" {
			view = s
		} else if s != view {
			return fmt.Errorf("nodes disagree on slots: %q vs %q", view, s)
		}
		if replicasPerMaster < 0 {
			continue
		}
		cl = Client(addr)
		repl, err := cl.Info(ctx, "replication").Result()
		cl.Close()
		if err != nil {
			return fmt.Errorf("%s: INFO replication: %w", addr, err)
		}
		switch {
		case strings.Contains(repl, "role:master"):
			if want := fmt.Sprintf("connected_slaves:%d", replicasPerMaster); len(nodesServing(nodes, addr)) > 0 &&
				!strings.Contains(repl, want) {
				return fmt.Errorf("master %s: want %s", addr, want)
			}
		case !strings.Contains(repl, "master_link_status:up") || !strings.Contains(repl, "master_sync_in_progress:0"):
			return fmt.Errorf("replica %s is not in sync with its master", addr)
		}
	}
	return nil
}

func nodesServing(nodes []ClusterNode, addr string) []string {
	for _, n := range nodes {
		if n.Addr == addr && n.Master {
			return n.Slots
		}
	}
	return nil
}

// nodesOf parses CLUSTER NODES of the node at addr.
func nodesOf(ctx context.Context, addr string) ([]ClusterNode, error) {
	cl := Client(addr)
	defer cl.Close()
	txt, err := cl.ClusterNodes(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("%s: CLUSTER NODES: %w", addr, err)
	}
	var out []ClusterNode
	for _, line := range strings.Split(strings.TrimSpace(txt), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		n := ClusterNode{ID: f[0], Addr: strings.SplitN(strings.SplitN(f[1], ",", 2)[0], "@", 2)[0]}
		for _, flag := range strings.Split(f[2], ",") {
			switch flag {
			case "master":
				n.Master = true
			case "fail", "fail?":
				n.Failed = true
			case "myself":
				n.Myself = true
			}
		}
		if f[3] != "-" {
			n.MasterID = f[3]
		}
		for _, s := range f[8:] {
			if !strings.HasPrefix(s, "[") { // "[slot->-id]": a slot being migrated
				n.Slots = append(n.Slots, s)
			}
		}
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b ClusterNode) int { return strings.Compare(a.Addr, b.Addr) })
	return out, nil
}

// Slot returns the Redis Cluster hash slot of key: CRC16 (XMODEM) of the key, or
// of its hash tag (the part between the first "{" and the next "}", when not
// empty), modulo 16384 (Redis Cluster specification, "Keys hash tags").
func Slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for k := 0; k < len(key); k++ {
		crc ^= uint16(key[k]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}
