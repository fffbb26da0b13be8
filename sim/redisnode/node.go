package redisnode

import (
	"container/heap"
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/spillway-sim/spillway/sim/engine"
)

// Config is one node's model parameters.
type Config struct {
	Name string        // shown in errors and series
	RTT  time.Duration // network round trip between a pod and the node
	// OpTime and ByteTime are the server's service time per command and per byte of
	// arguments and replies; ScriptTime is added per EVAL/EVALSHA call (script setup).
	OpTime, ByteTime, ScriptTime time.Duration
}

// Removal says why a key left the node other than by a client's DEL/GETDEL.
type Removal uint8

// Removals reported to OnRemove.
const (
	Expired Removal = iota // its TTL passed (virtual time)
	Evicted                // maxmemory eviction
	Lost                   // the node lost its data (OOM kill, restart without a snapshot)
)

var removalNames = [...]string{"expired", "evicted", "lost"}

func (r Removal) String() string { return removalNames[r] }

// Stats are a node's counters since it was created.
type Stats struct {
	Ops          int64 // commands served (pipelined ones counted one by one)
	RoundTrips   int64
	BytesIn      int64 // argument bytes of commands
	BytesOut     int64 // bytes of string replies
	ExpiredKeys  int64
	RejectedDown int64 // calls refused while the node was down
}

// Node is one simulated Redis node. Its methods are safe for concurrent use by the
// go-redis clients of one pod action; Advance, SetDown and OnRemove must be called
// from the engine's goroutine between actions.
type Node struct {
	eng *engine.Engine
	cfg Config
	mr  *miniredis.Miniredis

	mu       sync.Mutex
	down     bool
	expiry   expiryIndex
	stats    Stats
	onRemove func(key string, why Removal)
	clients  []*redis.Client
}

// New starts a node: a miniredis served over in-memory connections only (no TCP).
func New(eng *engine.Engine, cfg Config) (*Node, error) {
	if cfg.RTT < 0 || cfg.OpTime < 0 || cfg.ByteTime < 0 || cfg.ScriptTime < 0 {
		return nil, fmt.Errorf("redisnode %s: negative latency parameter in %+v", cfg.Name, cfg)
	}
	mr := miniredis.NewMiniRedis()
	// Dial starts miniredis's connection server without a listener.
	c, err := mr.Dial()
	if err != nil {
		return nil, fmt.Errorf("redisnode %s: starting miniredis: %w", cfg.Name, err)
	}
	c.Close()
	mr.Seed(1) // RANDOMKEY and friends; the models never rely on them
	n := &Node{eng: eng, cfg: cfg, mr: mr, expiry: expiryIndex{at: map[string]time.Duration{}}}
	mr.SetTime(eng.Time())
	return n, nil
}

// Close stops the node's clients and miniredis.
func (n *Node) Close() {
	for _, c := range n.clients {
		c.Close()
	}
	n.mr.Close()
}

// Name is the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Miniredis gives the models and tests direct access to the store.
func (n *Node) Miniredis() *miniredis.Miniredis { return n.mr }

// OnRemove registers fn to hear of keys that expire, are evicted or are lost.
func (n *Node) OnRemove(fn func(key string, why Removal)) { n.onRemove = fn }

// Stats returns the node's counters.
func (n *Node) Stats() Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stats
}

// Keys is the number of keys stored.
func (n *Node) Keys() int { return len(n.mr.Keys()) }

// SetDown makes the node refuse (down=true) or accept connections. Data is kept: a
// node that is unreachable for a while, not one that lost its memory.
func (n *Node) SetDown(down bool) {
	n.mu.Lock()
	n.down = down
	n.mu.Unlock()
}

// Down reports whether the node refuses connections.
func (n *Node) Down() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.down
}

// NewClient returns a go-redis client for one pod: poolSize connections over
// in-memory pipes, every call observed by the node's hook. go-redis's own retries
// are off (MaxRetries -1): the core decides about retries.
func (n *Node) NewClient(poolSize int) *redis.Client {
	c := redis.NewClient(n.ClientOptions(poolSize))
	c.AddHook(n)
	n.clients = append(n.clients, c)
	return c
}

// ClientOptions are the options NewClient uses, for building a Ring shard client.
func (n *Node) ClientOptions(poolSize int) *redis.Options {
	return &redis.Options{
		Addr:            n.cfg.Name, // never resolved: the Dialer below ignores it
		DisableIdentity: true,
		Protocol:        2, // no HELLO round trip per connection
		MaxRetries:      -1,
		PoolSize:        max(poolSize, 1),
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			cl, srv := memPipe(n.cfg.Name)
			n.mr.Server().ServeConn(srv)
			return cl, nil
		},
	}
}

// Advance brings the node to the engine's time: miniredis's clock follows (O(1)),
// and keys whose TTL has passed are deleted (from the expiry index, not by sorting
// every key as miniredis's FastForward would).
func (n *Node) Advance() {
	now := n.eng.Now()
	n.mr.SetTime(n.eng.Time())
	for {
		key, ok := n.expiry.popDue(now)
		if !ok {
			return
		}
		n.mr.Del(key)
		n.stats.ExpiredKeys++
		if n.onRemove != nil {
			n.onRemove(key, Expired)
		}
	}
}

// DialHook implements redis.Hook.
func (n *Node) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook: one command, one round trip.
func (n *Node) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if err := n.before(ctx, []redis.Cmder{cmd}); err != nil {
			cmd.SetErr(err)
			return err
		}
		err := next(ctx, cmd)
		n.after([]redis.Cmder{cmd})
		return err
	}
}

// ProcessPipelineHook implements redis.Hook: a pipeline is one round trip.
func (n *Node) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if err := n.before(ctx, cmds); err != nil {
			for _, c := range cmds {
				c.SetErr(err)
			}
			return err
		}
		err := next(ctx, cmds)
		n.after(cmds)
		return err
	}
}

// refused is what a client sees when the node is down.
func (n *Node) refused() error {
	return &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
}

// before charges the round trip to the caller's meter, or refuses it.
func (n *Node) before(ctx context.Context, cmds []redis.Cmder) error {
	if isSetup(cmds) {
		return nil
	}
	n.mu.Lock()
	down := n.down
	if down {
		n.stats.RejectedDown++
	}
	n.mu.Unlock()
	m, lane := meterFrom(ctx)
	cost := n.cfg.RTT
	if !down {
		for _, c := range cmds {
			cost += n.serviceTime(c)
		}
	}
	if m != nil && !m.charge(lane, cost) {
		return context.DeadlineExceeded
	}
	if down {
		return n.refused()
	}
	return nil
}

// serviceTime is the modelled server time of one command.
func (n *Node) serviceTime(c redis.Cmder) time.Duration {
	d := n.cfg.OpTime
	if n.cfg.ByteTime > 0 {
		d += time.Duration(argBytes(c)) * n.cfg.ByteTime
	}
	if name := c.Name(); name == "evalsha" || name == "eval" {
		d += n.cfg.ScriptTime
		if nk, ok := numKeys(c); ok {
			d += time.Duration(nk) * n.cfg.OpTime
		}
	}
	return d
}

// after updates the expiry index and counters from the commands' effects.
func (n *Node) after(cmds []redis.Cmder) {
	if isSetup(cmds) {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stats.RoundTrips++
	for _, c := range cmds {
		n.stats.Ops++
		n.stats.BytesIn += int64(argBytes(c))
		n.stats.BytesOut += int64(replyBytes(c))
		if c.Err() != nil && !isNil(c.Err()) {
			continue
		}
		for _, key := range writtenKeys(c) {
			if ttl := n.mr.TTL(key); ttl > 0 {
				n.expiry.set(key, n.eng.Now()+ttl)
			} else {
				n.expiry.clear(key)
			}
		}
	}
}

func isNil(err error) bool { return err == redis.Nil }

func isSetup(cmds []redis.Cmder) bool {
	if len(cmds) != 1 {
		return false
	}
	switch cmds[0].Name() {
	case "hello", "client", "auth", "select":
		return true
	}
	return false
}

// writtenKeys lists the keys a command may have written or deleted.
func writtenKeys(c redis.Cmder) []string {
	args := c.Args()
	switch c.Name() {
	case "set", "getdel", "del", "pexpire", "expire", "sadd", "getex", "unlink", "persist":
		if c.Name() == "del" || c.Name() == "unlink" {
			return strArgs(args[1:])
		}
		if len(args) > 1 {
			return strArgs(args[1:2])
		}
	case "evalsha", "eval":
		if nk, ok := numKeys(c); ok && len(args) >= 3+nk {
			return strArgs(args[3 : 3+nk])
		}
	}
	return nil
}

func numKeys(c redis.Cmder) (int, bool) {
	args := c.Args()
	if len(args) < 3 {
		return 0, false
	}
	switch v := args[2].(type) {
	case int:
		return v, true
	case int64:
		return int(v), true
	case string:
		n, err := strconv.Atoi(v)
		return n, err == nil
	}
	return 0, false
}

func strArgs(args []any) []string {
	out := make([]string, 0, len(args))
	for _, a := range args {
		switch v := a.(type) {
		case string:
			out = append(out, v)
		case []byte:
			out = append(out, string(v))
		}
	}
	return out
}

func argBytes(c redis.Cmder) int {
	n := 0
	for _, a := range c.Args() {
		switch v := a.(type) {
		case string:
			n += len(v)
		case []byte:
			n += len(v)
		default:
			n += 8
		}
	}
	return n
}

func replyBytes(c redis.Cmder) int {
	switch v := c.(type) {
	case *redis.StringCmd:
		return len(v.Val())
	case *redis.SliceCmd:
		n := 0
		for _, x := range v.Val() {
			if s, ok := x.(string); ok {
				n += len(s)
			}
		}
		return n
	}
	return 0
}

// expiryIndex is a min-heap of (deadline, key) plus each key's current deadline;
// heap entries that no longer match the current deadline are skipped when popped.
type expiryIndex struct {
	at map[string]time.Duration
	h  expiryHeap
}

type expiryItem struct {
	at  time.Duration
	key string
}

type expiryHeap []expiryItem

func (h expiryHeap) Len() int { return len(h) }
func (h expiryHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].key < h[j].key
}
func (h expiryHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)   { *h = append(*h, x.(expiryItem)) }
func (h *expiryHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

func (x *expiryIndex) set(key string, at time.Duration) {
	if cur, ok := x.at[key]; ok && cur == at {
		return
	}
	x.at[key] = at
	heap.Push(&x.h, expiryItem{at: at, key: key})
}

func (x *expiryIndex) clear(key string) { delete(x.at, key) }

// popDue returns a key whose deadline is ≤ now, removing it from the index.
func (x *expiryIndex) popDue(now time.Duration) (string, bool) {
	for len(x.h) > 0 && x.h[0].at <= now {
		it := heap.Pop(&x.h).(expiryItem)
		if cur, ok := x.at[it.key]; ok && cur == it.at {
			delete(x.at, it.key)
			return it.key, true
		}
	}
	return "", false
}

// Volatile is the number of keys with a TTL.
func (n *Node) Volatile() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.expiry.at)
}
