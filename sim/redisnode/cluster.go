package redisnode

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2/server"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/spillway-sim/spillway/sim/engine"
)

// Behavior: Redis Cluster masters that own the 16384 hash slots, reached through
// go-redis's own redis.ClusterClient. A key's slot is CRC16 (XMODEM) of its hash
// tag modulo 16384 (Redis Cluster specification, "Keys distribution model"; the
// core's keys share one tag per partition, so a partition is one slot).
//
// Each node answers as a cluster node does (cluster.c getNodeByQuery, checked
// against redis-server 7.0.15 in cluster_real_test.go):
//   - a key of a slot another master owns: MOVED <slot> <owner>;
//   - on the source of a slot being migrated: served when every key of the
//     command is still here; ASK <slot> <target> when none is; TRYAGAIN when some
//     are (multi-key: MGET, UNLINK, a script);
//   - on the target, after ASKING (which covers the next command, or a whole
//     MULTI ... EXEC when sent before MULTI): served, except a multi-key command
//     missing some keys (TRYAGAIN); without ASKING: MOVED to the owner;
//   - keys of different slots in one command: CROSSSLOT;
//   - inside MULTI a redirected command is answered with its redirect, the others
//     QUEUED, and EXEC with EXECABORT; a clean transaction is checked again at EXEC
//     over all its keys as one command (so a transaction on the target missing some
//     keys answers TRYAGAIN at EXEC). Nothing of a refused transaction runs.
//
// Replies that go-redis must read off the wire to follow (ASK, MOVED in a
// pipeline) are sent to miniredis as a marker command that the node's server
// pre-hook answers with the error; refused transactions are answered by the hook.
// A redirect costs the round trip it rides in; its own service time (~1 µs) is
// not charged. CLUSTER SLOTS is answered from the slot map (for clients that load
// it over the wire); the simulator's clients get the map from ClusterSlots.
//
// Determinism: go-redis reloads its slot map in a background goroutine on MOVED
// and ASK (clusterStateHolder.LazyReload, with a wall-clock cool-down). Those
// reloads are refused (they ask with context.Background()); every client's map is
// reloaded synchronously by the engine when slot ownership changes (SETSLOT NODE),
// and by the core when it asks (ForEachMaster with its own context). So a client
// never holds a stale map and MOVED is seen only by a client that routes by hand.
//
// Not modelled: replicas, failover, gossip delays between masters (SETSLOT NODE
// reaches every master at once), cluster bus traffic, CLUSTERDOWN. go-redis
// retries a TRYAGAIN up to MaxRedirects times after a wall-clock backoff
// (8-512 ms by default), long enough for a small slot's migration to finish;
// here the retries run at the same virtual instant and meet the same state, so
// the losses counted as cluster_migrating are an upper bound.

// ClusterSlots is the number of hash slots (cluster.h CLUSTER_SLOTS).
const ClusterSlots = 16384

// clusterPort is the port in the addresses the cluster advertises: go-redis
// needs host:port; the host is the node's name and is never resolved.
const clusterPort = "6379"

// errLazyReload refuses go-redis's background slot-map reloads (see Behavior).
var errLazyReload = errors.New("redisnode: background slot-map reloads are refused; the engine reloads clients")

// The errors a cluster node answers with (server.c / cluster.c replies).
var (
	ErrTryAgain  error = redisError("TRYAGAIN Multiple keys request during rehashing of slot")
	ErrCrossSlot error = redisError("CROSSSLOT Keys in request don't hash to the same slot")
	ErrExecAbort error = redisError("EXECABORT Transaction discarded because of previous errors.")
)

// redirectCmd is the marker command that carries a redirect reply over the wire.
const redirectCmd = "spillway.redirect"

// ClusterStats counts the redirects the masters answered.
type ClusterStats struct {
	Moved, Ask, TryAgain, CrossSlot, ExecAbort int64
	// MigratedKeys and MigratedBytes are the keys (standing for, with sampling)
	// and value bytes MIGRATE moved.
	MigratedKeys, MigratedBytes int64
	// SlotsMoved counts SETSLOT NODE ownership changes.
	SlotsMoved int64
	// MigrateViolations counts keys a MIGRATE did not carry intact: missing on
	// the target, left on the source, another value or another expiry deadline.
	MigrateViolations int64
}

// Cluster is a set of simulated masters owning the hash slots. Its hooks are safe
// for concurrent use by the clients of one pod action; the other methods must be
// called from the engine's goroutine.
type Cluster struct {
	eng *engine.Engine

	mu        sync.Mutex
	masters   []*Node // in the slot map, in join order
	byAddr    map[string]*Node
	owner     [ClusterSlots]*Node
	migrating [ClusterSlots]*Node // the target while the slot's keys move (the source is the owner)
	slotMap   []redis.ClusterSlot // cached CLUSTER SLOTS answer (nil: recompute)
	clients   []*redis.ClusterClient
	stats     ClusterStats
	// running is set while a reshard moves slots; queued ones wait for it.
	running bool
	queued  []queuedReshard
	// refused is the last engine time a slot refused a command because it was
	// being migrated (TRYAGAIN, or ASK inside a transaction); -1: never.
	refused map[int]time.Duration
}

// NewCluster makes masters of nodes (at least one) and gives them contiguous
// slot ranges as redis-cli --cluster create does.
func NewCluster(eng *engine.Engine, nodes []*Node) (*Cluster, error) {
	if len(nodes) == 0 || len(nodes) > ClusterSlots {
		return nil, fmt.Errorf("redisnode: a cluster needs 1..%d masters, got %d", ClusterSlots, len(nodes))
	}
	c := &Cluster{eng: eng, byAddr: map[string]*Node{}, refused: map[int]time.Duration{}}
	for i, n := range nodes {
		if err := c.join(n); err != nil {
			return nil, err
		}
		first, last := i*ClusterSlots/len(nodes), (i+1)*ClusterSlots/len(nodes)
		for s := first; s < last; s++ {
			c.owner[s] = n
		}
	}
	c.masters = slices.Clone(nodes)
	return c, nil
}

// join registers n as a cluster node (reachable, owning nothing yet).
func (c *Cluster) join(n *Node) error {
	if n == nil {
		return fmt.Errorf("redisnode: nil cluster node")
	}
	addr := Addr(n)
	if c.byAddr[addr] == n {
		return nil
	}
	if c.byAddr[addr] != nil {
		return fmt.Errorf("redisnode: two cluster nodes named %q", n.Name())
	}
	c.byAddr[addr] = n
	n.mu.Lock()
	n.cl = c
	n.mu.Unlock()
	n.mr.Server().SetPreHook(c.preHook)
	return nil
}

// Addr is the address a cluster advertises for n ("<name>:6379").
func Addr(n *Node) string { return n.Name() + ":" + clusterPort }

// Slot is the hash slot of key: CRC16 of its hash tag (the part between the
// first '{' and the next '}', when not empty) or of the whole key, mod 16384.
func Slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return int(crc16(key)) & (ClusterSlots - 1)
}

// crc16 is CRC-16/XMODEM (poly 0x1021, init 0), Redis's crc16.c.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// Masters is the masters in the slot map (owning slots or being drained), in join order.
func (c *Cluster) Masters() []*Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.masters)
}

// Owner is the master that owns slot.
func (c *Cluster) Owner(slot int) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.owner[slot]
}

// Migrating is the target slot is being migrated to (nil when it is not).
func (c *Cluster) Migrating(slot int) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.migrating[slot]
}

// SlotCounts is the number of slots each master owns, in Masters order.
func (c *Cluster) SlotCounts() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]int, len(c.masters))
	for s := range ClusterSlots {
		out[slices.Index(c.masters, c.owner[s])]++
	}
	return out
}

// Stats returns the redirect and migration counters.
func (c *Cluster) Stats() ClusterStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// RefusedForMigration reports whether slot has refused a command because it
// was being migrated (a spill or restore that failed for it).
func (c *Cluster) RefusedForMigration(slot int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.refused[slot]
	return ok
}

// Slots is the CLUSTER SLOTS answer: contiguous ranges with their master.
func (c *Cluster) Slots() []redis.ClusterSlot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slotsLocked()
}

func (c *Cluster) slotsLocked() []redis.ClusterSlot {
	if c.slotMap != nil {
		return c.slotMap
	}
	var out []redis.ClusterSlot
	for s := 0; s < ClusterSlots; {
		e := s
		for e+1 < ClusterSlots && c.owner[e+1] == c.owner[s] {
			e++
		}
		out = append(out, redis.ClusterSlot{Start: s, End: e, Nodes: []redis.ClusterNode{{
			ID: c.owner[s].Name(), Addr: Addr(c.owner[s])}}})
		s = e + 1
	}
	c.slotMap = out
	return out
}

// reloadCtx marks the engine's (and the tests') synchronous slot-map reloads.
type reloadCtx struct{}

// NewClient returns a go-redis ClusterClient for one pod: its node clients go
// through each node's hook; the engine keeps its slot map current.
func (c *Cluster) NewClient(poolSize int) *redis.ClusterClient {
	cc := redis.NewClusterClient(c.clientOptions(poolSize))
	_ = cc.ForEachMaster(context.WithValue(context.Background(), reloadCtx{}, true),
		func(context.Context, *redis.Client) error { return nil })
	c.mu.Lock()
	c.clients = append(c.clients, cc)
	c.mu.Unlock()
	return cc
}

func (c *Cluster) clientOptions(poolSize int) *redis.ClusterOptions {
	return &redis.ClusterOptions{
		ClusterSlots: func(ctx context.Context) ([]redis.ClusterSlot, error) {
			if ctx == context.Background() {
				return nil, errLazyReload
			}
			return c.Slots(), nil
		},
		NewClient: func(opt *redis.Options) *redis.Client {
			c.mu.Lock()
			n := c.byAddr[opt.Addr]
			c.mu.Unlock()
			if n == nil {
				panic(fmt.Sprintf("redisnode: cluster address %q is not a node of the cluster", opt.Addr))
			}
			o := n.ClientOptions(poolSize)
			o.Addr = opt.Addr
			cl := redis.NewClient(o)
			cl.AddHook(&hook{n: n, poolSize: max(poolSize, 1)})
			return cl
		},
		// go-redis reloads the map when it is older than this (wall clock): never.
		ClusterStateReloadInterval: 1 << 62,
		DisableRoutingPolicies:     true, // no COMMAND lookups on a randomly chosen node
		MaxRedirects:               3,
		MaxRetries:                 -1,
		// go-redis retries TRYAGAIN (and follows ASK/MOVED) up to MaxRedirects
		// times, after a wall-clock backoff for TRYAGAIN; no backoff here: the
		// retries meet the same migration state (virtual time does not pass
		// within a call) and cost a round trip each.
		MinRetryBackoff:          -1,
		MaxRetryBackoff:          -1,
		PoolSize:                 max(poolSize, 1),
		DisableIdentity:          true,
		Protocol:                 2,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
}

// ReloadClients reloads every client's slot map now (after SETSLOT NODE).
func (c *Cluster) ReloadClients() {
	c.mu.Lock()
	clients := slices.Clone(c.clients)
	c.mu.Unlock()
	ctx := context.WithValue(context.Background(), reloadCtx{}, true)
	for _, cc := range clients {
		_ = cc.ForEachMaster(ctx, func(context.Context, *redis.Client) error { return nil })
	}
}

// Close closes every cluster client (not the nodes).
func (c *Cluster) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cc := range c.clients {
		cc.Close()
	}
	c.clients = nil
}

// preHook answers, on a node's miniredis server, what miniredis does not know:
// the redirect marker, ASKING, READONLY/READWRITE and CLUSTER SLOTS.
func (c *Cluster) preHook(p *server.Peer, cmd string, args ...string) bool {
	switch cmd {
	case "SPILLWAY.REDIRECT":
		p.WriteError(args[0])
		return true
	case "ASKING", "READONLY", "READWRITE":
		p.WriteOK()
		return true
	case "CLUSTER":
		if len(args) == 1 && strings.EqualFold(args[0], "slots") {
			slots := c.Slots()
			p.WriteLen(len(slots))
			for _, s := range slots {
				p.WriteLen(3)
				p.WriteInt(s.Start)
				p.WriteInt(s.End)
				host, port, _ := strings.Cut(s.Nodes[0].Addr, ":")
				pn, _ := strconv.Atoi(port)
				p.WriteLen(3)
				p.WriteBulk(host)
				p.WriteInt(pn)
				p.WriteBulk(s.Nodes[0].ID)
			}
			return true
		}
	}
	return false
}

// cmdKeys lists the keys a command names, in order, without repeats.
func cmdKeys(cmd redis.Cmder) []string {
	args := cmd.Args()
	var keys []string
	switch cmd.Name() {
	case "watch", "exists", "touch":
		keys = strArgs(args[1:])
	case "ttl", "pttl", "type", "expiretime", "pexpiretime":
		keys = strArgs(args[1:min(2, len(args))])
	default:
		ci := classify(cmd)
		keys = append(append(keys, ci.writes...), ci.reads...)
	}
	out := keys[:0:0]
	for _, k := range keys {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// verdict is what a master answers a command instead of running it.
type verdict struct {
	err   error // nil: served here
	wire  bool  // sent as the redirect marker (a redirect go-redis follows off the wire)
	inTx  bool  // part of a transaction the hook answers (not sent)
	reply string
}

// route decides, for the commands of one call to n, which are served and which
// are redirected (see Behavior); nil when every command is served.
func (c *Cluster) route(n *Node, cmds []redis.Cmder) []verdict {
	var out []verdict
	set := func(i int, v verdict) {
		if out == nil {
			out = make([]verdict, len(cmds))
		}
		out[i] = v
	}
	asking, multi, dirty := false, -1, false
	var txKeys []string
	for i, cmd := range cmds {
		name := cmd.Name()
		switch name {
		case "asking":
			asking = true
			continue
		case "multi":
			multi, dirty, txKeys = i, false, nil
			continue
		case "exec", "discard":
			if multi < 0 {
				continue
			}
			var err error
			switch {
			case name == "discard":
			case dirty:
				err = ErrExecAbort
			default:
				err = c.check(n, txKeys, asking)
			}
			if err != nil {
				set(multi, verdict{inTx: true, reply: "OK"})
				for j := multi + 1; j < i; j++ {
					if out[j].err == nil {
						set(j, verdict{inTx: true, reply: "QUEUED"})
					}
				}
				set(i, verdict{inTx: true, err: err})
			}
			multi, asking = -1, false
			continue
		}
		if keys := cmdKeys(cmd); len(keys) > 0 {
			if err := c.check(n, keys, asking); err != nil {
				set(i, verdict{err: err, wire: multi < 0, inTx: multi >= 0})
				dirty = dirty || multi >= 0
			} else if multi >= 0 {
				txKeys = append(txKeys, keys...)
			}
		}
		if multi < 0 {
			asking = false
		}
	}
	if multi >= 0 && out != nil {
		// A transaction left open by this call (EXEC in a later call): answer its
		// redirected commands on the wire; EXEC will find them refused.
		for j := multi; j < len(cmds); j++ {
			if out[j].inTx {
				out[j].inTx, out[j].wire = false, true
			}
		}
	}
	return out
}

// check is getNodeByQuery for keys sent to n (asking: after ASKING).
func (c *Cluster) check(n *Node, keys []string, asking bool) error {
	if len(keys) == 0 {
		return nil
	}
	slot := Slot(keys[0])
	for _, k := range keys[1:] {
		if Slot(k) != slot {
			c.count(func(s *ClusterStats) { s.CrossSlot++ })
			return ErrCrossSlot
		}
	}
	c.mu.Lock()
	owner, target := c.owner[slot], c.migrating[slot]
	c.mu.Unlock()
	missing := func() int {
		m := 0
		for _, k := range keys {
			if !n.mr.Exists(k) {
				m++
			}
		}
		return m
	}
	switch {
	case owner == n && target != nil:
		switch m := missing(); {
		case m == 0:
			return nil
		case m < len(keys):
			c.refuse(slot, func(s *ClusterStats) { s.TryAgain++ })
			return ErrTryAgain
		default:
			c.refuse(slot, func(s *ClusterStats) { s.Ask++ })
			return redisError(fmt.Sprintf("ASK %d %s", slot, Addr(target)))
		}
	case target == n && asking:
		if len(keys) > 1 && missing() > 0 {
			c.refuse(slot, func(s *ClusterStats) { s.TryAgain++ })
			return ErrTryAgain
		}
		return nil
	case owner != n:
		c.count(func(s *ClusterStats) { s.Moved++ })
		return redisError(fmt.Sprintf("MOVED %d %s", slot, Addr(owner)))
	}
	return nil
}

func (c *Cluster) count(f func(*ClusterStats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

// refuse counts a refusal caused by slot's migration.
func (c *Cluster) refuse(slot int, f func(*ClusterStats)) {
	c.mu.Lock()
	f(&c.stats)
	c.refused[slot] = c.eng.Now()
	c.mu.Unlock()
}

// clusterCall runs a call to a cluster node: when some commands are redirected,
// the served ones go through the models (n.call) together with the redirect
// markers, and refused transactions are answered here. handled is false when
// every command is served (the caller runs the plain path).
func (n *Node) clusterCall(ctx context.Context, poolSize int, cmds []redis.Cmder,
	next func(context.Context, []redis.Cmder) error) (handled bool, err error) {
	if ctx.Value(routedCtx{}) != nil {
		return false, nil
	}
	n.mu.Lock()
	c, unavailable := n.cl, n.down || n.p.dead || n.p.loading
	n.mu.Unlock()
	if c == nil || unavailable {
		return false, nil
	}
	vs := c.route(n, cmds)
	if vs == nil {
		return false, nil
	}
	var served []redis.Cmder
	for i, cmd := range cmds {
		v := vs[i]
		switch {
		case v.inTx:
			if v.err != nil {
				cmd.SetErr(v.err)
			} else {
				setReply(cmd, v.reply)
			}
		case v.err != nil && v.wire:
		default:
			served = append(served, cmd)
		}
	}
	// The wire carries the served commands and the redirect markers, in order.
	var wired []redis.Cmder
	saved := map[int][2]any{}
	for i, cmd := range cmds {
		if v := vs[i]; v.err != nil && v.wire {
			args := cmd.Args()
			saved[i] = [2]any{args[0], args[1]}
			args[0], args[1] = redirectCmd, v.err.Error()
		}
	}
	defer func() {
		for i, a := range saved {
			args := cmds[i].Args()
			args[0], args[1] = a[0], a[1]
		}
	}()
	ctx = context.WithValue(ctx, routedCtx{}, true)
	sent := false
	var wireErr error
	send := func(ctx context.Context, admitted []redis.Cmder) error {
		sent = true
		wired = wired[:0]
		j := 0
		for i, cmd := range cmds {
			if _, ok := saved[i]; ok {
				wired = append(wired, cmd)
			} else if j < len(admitted) && admitted[j] == cmd {
				wired = append(wired, cmd)
				j++
			}
		}
		wireErr = next(ctx, wired)
		return wireErr
	}
	if len(served) > 0 {
		_ = n.call(ctx, poolSize, served, send)
	} else {
		// Only refusals: the round trip is still paid.
		_ = n.call(ctx, poolSize, nil, send)
	}
	if !sent && len(saved) > 0 {
		var only []redis.Cmder
		for i := range cmds {
			if _, ok := saved[i]; ok {
				only = append(only, cmds[i])
			}
		}
		wireErr = next(ctx, only)
	}
	// A single command's reply error comes back as next's error (go-redis sets
	// it on the command after the hooks); a pipeline's are on its commands.
	if err := firstErr(cmds); err != nil {
		return true, err
	}
	return true, wireErr
}

// routedCtx marks a call whose commands clusterCall already routed.
type routedCtx struct{}

// setReply gives a command answered by the hook its status reply.
func setReply(cmd redis.Cmder, reply string) {
	switch c := cmd.(type) {
	case *redis.StatusCmd:
		c.SetVal(reply)
	case *redis.Cmd:
		c.SetVal(reply)
	}
	cmd.SetErr(nil)
}
