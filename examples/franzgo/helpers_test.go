package franzgo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/spillway-sim/spillway/core"
	"github.com/spillway-sim/spillway/internal/redistest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	redistest.Shutdown()
	os.Exit(code)
}

// Group timing for the tests: a member is evicted 2 s after its last heartbeat,
// or 1 s after a rebalance began without it. Handoffs take milliseconds.
//
// The session timeout must exceed the rebalance timeout with kfake: it keeps
// running a member's session timer while the member waits in JoinGroup for a
// slow one, so a member that waits longer than its session timeout is dropped
// and its JoinGroup never answered (the client times out after the rebalance
// timeout plus 10 s). Kafka suspends the timer while a member awaits its join.
const (
	sessionTimeout    = 2 * time.Second
	rebalanceTimeout  = time.Second
	heartbeatInterval = 100 * time.Millisecond
	handoffTimeout    = 700 * time.Millisecond
	testTimeout       = 40 * time.Second // per test; a healthy run takes a few seconds
)

// debug turns on the clients' logs: FRANZGO_DEBUG=1 go test -run TestFranzGoZombie ./examples/franzgo/
var debug = os.Getenv("FRANZGO_DEBUG") != ""

var runs atomic.Int64

// world is one test's Kafka (kfake), Redis, producer and ground truth: every
// counter value produced, per key, and where it landed.
type world struct {
	t       *testing.T
	ctx     context.Context
	kafka   *kfake.Cluster
	redis   string // address: a real redis-server when installed, else miniredis
	group   string
	topic   string
	parts   int32
	prod    *kgo.Client
	keys    []string
	next    map[string]uint64  // the next value to produce (values start at 1)
	offsets map[string][]int64 // offsets[k][v-1]: where value v of k landed
	partOf  map[string]int32

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every observation
	results []observed
	events  []observedEvent
	members []*member
}

type observed struct {
	who string
	Result
}

type observedEvent struct {
	who string
	Event
}

func newWorld(t *testing.T, parts int32, nkeys int) *world {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	// A group (hence a Redis namespace) per run: -count=N reruns a test against
	// the same redis-server, and its fences and contexts must not meet the next
	// run's: each kfake cluster restarts generations at 1, below the fences left
	// by the previous run, which would refuse every claim and spill.
	name := fmt.Sprintf("%s-%d", strings.ReplaceAll(strings.ToLower(t.Name()), "/", "-"), runs.Add(1))
	w := &world{
		t: t, ctx: ctx, group: name, topic: "samples", parts: parts,
		next: make(map[string]uint64), offsets: make(map[string][]int64), partOf: make(map[string]int32),
		changed: make(chan struct{}),
	}
	var err error
	kopts := []kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(parts, w.topic),
		kfake.GroupMinSessionTimeout(100 * time.Millisecond)}
	if debug {
		kopts = append(kopts, kfake.WithLogger(kfake.BasicLogger(os.Stderr, kfake.LogLevelDebug)))
	}
	w.kafka, err = kfake.NewCluster(kopts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.kafka.Close)
	if debug {
		w.kafka.Control(func(req kmsg.Request) (kmsg.Response, error, bool) {
			w.kafka.KeepControl()
			switch r := req.(type) {
			case *kmsg.JoinGroupRequest:
				fmt.Fprintf(os.Stderr, "KFAKE %s join member %q\n", time.Now().Format("05.000"), r.MemberID)
			case *kmsg.SyncGroupRequest:
				fmt.Fprintf(os.Stderr, "KFAKE %s sync member %q gen %d\n", time.Now().Format("05.000"), r.MemberID, r.Generation)
			case *kmsg.LeaveGroupRequest:
				fmt.Fprintf(os.Stderr, "KFAKE %s leave %v\n", time.Now().Format("05.000"), r.Members)
			}
			return nil, nil, false
		})
	}
	if addr, ok := redistest.Shared(t); ok {
		w.redis = addr
	} else {
		w.redis = miniredis.RunT(t).Addr()
	}
	w.prod, err = kgo.NewClient(kgo.SeedBrokers(w.kafka.ListenAddrs()...), kgo.DefaultProduceTopic(w.topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.prod.Close)
	for i := range nkeys {
		k := fmt.Sprintf("series-%03d", i)
		w.keys = append(w.keys, k)
		w.next[k] = 1
	}
	t.Cleanup(w.closeAll) // registered last: runs first, while Kafka and Redis are up
	return w
}

// produce writes the next value of every key that keep selects (all when nil),
// and records where each landed.
func (w *world) produce(keep func(i int, key string) bool) {
	w.t.Helper()
	var recs []*kgo.Record
	for i, k := range w.keys {
		if keep == nil || keep(i, k) {
			recs = append(recs, &kgo.Record{Key: []byte(k), Value: AppendSample(nil, w.next[k])})
			w.next[k]++
		}
	}
	for _, r := range w.prod.ProduceSync(w.ctx, recs...) {
		if r.Err != nil {
			w.t.Fatalf("produce: %v", r.Err)
		}
		k := string(r.Record.Key)
		w.offsets[k] = append(w.offsets[k], r.Record.Offset)
		w.partOf[k] = r.Record.Partition
	}
}

// member is one consumer process: its Consumer, its own Redis client with a
// fault hook, and its own network to Kafka through a gate.
type member struct {
	name   string
	c      *Consumer
	rdb    *redis.Client
	fault  *redisFault
	gate   *netGate
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
	closed bool
}

type memberOpt func(*Config)

func withHandoffTimeout(d time.Duration) memberOpt {
	return func(c *Config) { c.HandoffTimeout = d }
}

func (w *world) start(name string, opts ...memberOpt) *member {
	w.t.Helper()
	m := &member{name: name, fault: &redisFault{}, gate: newNetGate(), done: make(chan struct{})}
	m.rdb = redis.NewClient(&redis.Options{Addr: w.redis, DisableIdentity: true, MaxRetries: -1,
		ContextTimeoutEnabled: true, MaintNotificationsConfig: redistest.NoMaint})
	m.rdb.AddHook(m.fault)
	logger := slog.New(slog.DiscardHandler)
	kopts := []kgo.Opt{
		kgo.ClientID(name),
		kgo.SessionTimeout(sessionTimeout),
		kgo.RebalanceTimeout(rebalanceTimeout),
		kgo.HeartbeatInterval(heartbeatInterval),
		kgo.FetchMaxWait(50 * time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
		kgo.Dialer(m.gate.dial),
	}
	if debug {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("member", name)
		kopts = append(kopts, kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelInfo, func() string { return name + " " })))
	}
	cfg := Config{
		Brokers: w.kafka.ListenAddrs(), Group: w.group, Topic: w.topic, Redis: m.rdb,
		ClientOpts: kopts, HandoffTimeout: handoffTimeout, MaxPollRecords: 200, Logger: logger,
		OnRecord: func(r Result) { w.observe(observed{who: name, Result: r}, nil) },
		OnEvent:  func(e Event) { w.observe(observed{}, &observedEvent{who: name, Event: e}) },
	}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	m.c = c
	ctx, cancel := context.WithCancel(w.ctx)
	m.cancel = cancel
	go func() {
		defer close(m.done)
		c.Run(ctx)
	}()
	w.mu.Lock()
	w.members = append(w.members, m)
	w.mu.Unlock()
	return m
}

// stop ends m's poll loop at a batch boundary and waits for it.
func (w *world) stop(m *member) {
	w.t.Helper()
	m.cancel()
	select {
	case <-m.done:
	case <-w.ctx.Done():
		w.t.Fatalf("%s: Run did not return", m.name)
	}
}

// closeGracefully stops m and leaves the group: its revoke spills and commits.
func (w *world) closeGracefully(m *member) *core.SpillReport {
	w.t.Helper()
	w.stop(m)
	rep, err := m.c.Close(w.ctx)
	m.closed = true
	m.rdb.Close()
	if err != nil {
		w.t.Fatalf("%s: Close: %v", m.name, err)
	}
	return rep
}

// crash kills m as a process dies: its poll loop stops between batches, then
// its Redis and Kafka connections fail and no callback of it can write
// anything. It returns what m held in memory at that instant, by partition.
func (w *world) crash(m *member) map[int32][]string {
	w.t.Helper()
	w.stop(m)
	held := make(map[int32][]string)
	for p := range w.parts {
		if ks := m.c.Store().Keys(p); len(ks) > 0 {
			held[p] = ks
		}
	}
	m.fault.kill()
	m.gate.kill()
	return held
}

// closeAll releases every stalled member and closes what is left: crashed
// members without waiting for a leave that cannot happen.
func (w *world) closeAll() {
	w.mu.Lock()
	ms := slices.Clone(w.members)
	w.mu.Unlock()
	for _, m := range ms {
		m.fault.release()
		m.gate.resume()
	}
	for _, m := range ms {
		if m.closed {
			continue
		}
		m.cancel()
		<-m.done
		done := make(chan struct{})
		go func() {
			defer close(done)
			if m.gate.isDead() {
				canceled, cancel := context.WithCancel(context.Background())
				cancel()
				m.c.Client().LeaveGroupContext(canceled)
				m.c.Client().Close()
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			m.c.Close(ctx)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			w.t.Errorf("%s: Close did not return", m.name)
		}
		m.rdb.Close()
	}
}

func (w *world) observe(r observed, e *observedEvent) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e != nil {
		w.events = append(w.events, *e)
	} else {
		w.results = append(w.results, r)
	}
	close(w.changed)
	w.changed = make(chan struct{})
}

// waitFor waits until cond, evaluated under w.mu after every observation (and
// every 20 ms, for state the observations do not cover), holds.
func (w *world) waitFor(what string, cond func() bool) {
	w.t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		w.mu.Lock()
		ok, ch := cond(), w.changed
		w.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-tick.C:
		case <-w.ctx.Done():
			w.dump()
			w.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// owned returns, per member, the partitions it claimed and has not given up,
// as its events say. Call with w.mu held.
func (w *world) owned() map[string][]int32 {
	own := make(map[string][]int32)
	for _, e := range w.events {
		switch e.Kind {
		case EventAssigned:
			own[e.who] = append(own[e.who], e.Partitions...)
		case EventRevoked, EventLost:
			own[e.who] = slices.DeleteFunc(own[e.who], func(p int32) bool { return slices.Contains(e.Partitions, p) })
		}
	}
	return own
}

// waitOwned waits until every partition is owned by exactly one of ms, and
// each of ms owns one at least.
func (w *world) waitOwned(ms ...*member) {
	w.t.Helper()
	var names []string
	for _, m := range ms {
		names = append(names, m.name)
	}
	w.waitFor(fmt.Sprintf("every partition owned by exactly one of %v", names), func() bool {
		own := w.owned()
		count := make(map[int32]int)
		for _, n := range names {
			if len(own[n]) == 0 && int(w.parts) >= len(names) {
				return false // not joined yet
			}
			for _, p := range own[n] {
				count[p]++
			}
		}
		for p := range w.parts {
			if count[p] != 1 {
				return false
			}
		}
		return true
	})
}

// waitProcessed waits until ms processed every value produced so far.
func (w *world) waitProcessed(ms ...*member) {
	w.t.Helper()
	names := make(map[string]bool)
	for _, m := range ms {
		names[m.name] = true
	}
	w.waitFor("every produced value processed", func() bool {
		seen := make(map[string]uint64)
		for _, r := range w.results {
			if names[r.who] && !r.Replayed {
				seen[r.Key] = max(seen[r.Key], r.Value)
			}
		}
		for _, k := range w.keys {
			if seen[k] < w.next[k]-1 {
				return false
			}
		}
		return true
	})
}

func (w *world) dump() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.events {
		if e.Kind == EventCommit || e.Kind == EventRestore && e.Err == nil {
			continue
		}
		w.t.Logf("%s: %s gen %d member %.12s parts %v spill %s dropped %d err %v",
			e.who, e.Kind, e.Generation, e.MemberID, e.Partitions, spillSummary(e.Spill), e.Dropped, e.Err)
	}
	w.t.Logf("owned: %v", w.owned())
}

func spillSummary(r *core.SpillReport) string {
	if r == nil {
		return "-"
	}
	var reasons []string
	for _, why := range core.Reasons() {
		if n := r.Count(why); n > 0 {
			reasons = append(reasons, fmt.Sprintf("%s %d", why, n))
		}
	}
	return fmt.Sprintf("{keys %d written %d not written %d %v}", r.Keys, r.Written, r.NotWritten, reasons)
}

// tally is what the records processed say, checked against the ground truth.
type tally struct {
	processed  int
	restored   map[string]int   // per key: contexts brought back from Redis
	stale      []string         // a context that is not the record's predecessor
	replayed   int              // records the context already reflected
	lost       map[string]int   // per key: records after the first that found no context
	duplicates int              // values processed more than once (skipped replays excluded)
	byMember   map[string]int   // records processed per member
	lostAt     map[string][]int // per key: indexes into results of its lost records
}

// check compares every result from index from on against the ground truth.
func (w *world) check(from int) tally {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := tally{restored: make(map[string]int), lost: make(map[string]int), byMember: make(map[string]int), lostAt: make(map[string][]int)}
	seen := make(map[string]map[uint64]bool)
	for i, r := range w.results[from:] {
		t.processed++
		t.byMember[r.who]++
		if r.Replayed {
			t.replayed++
			continue
		}
		if seen[r.Key] == nil {
			seen[r.Key] = make(map[uint64]bool)
		}
		if seen[r.Key][r.Value] {
			t.duplicates++
		}
		seen[r.Key][r.Value] = true
		if r.Source == SourceRestored {
			t.restored[r.Key]++
		}
		switch {
		case r.Source == SourceNone && r.Value > 1:
			t.lost[r.Key]++
			t.lostAt[r.Key] = append(t.lostAt[r.Key], from+i)
		case r.Source != SourceNone && r.Value == 1:
			t.stale = append(t.stale, fmt.Sprintf("%s: %s=1 at %d found a context %+v", r.who, r.Key, r.Offset, r.Prev))
		case r.Source != SourceNone:
			want := Last{Value: r.Value - 1, Offset: w.offsets[r.Key][r.Value-2]}
			if r.Prev != want {
				t.stale = append(t.stale, fmt.Sprintf("%s: %s=%d at %d used %+v (%s), want %+v",
					r.who, r.Key, r.Value, r.Offset, r.Prev, r.Source, want))
			}
		}
	}
	return t
}

func (w *world) mark() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.results)
}

// eventsOf returns m's events of kind k.
func (w *world) eventsOf(m *member, k EventKind) []Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Event
	for _, e := range w.events {
		if e.who == m.name && e.Kind == k {
			out = append(out, e.Event)
		}
	}
	return out
}

// redisFault is a go-redis hook in front of one member's Redis client: it can
// hold every command until released (a stalled process or connection: the
// command reaches Redis late, when released), or fail them all (a dead process).
type redisFault struct {
	mu      sync.Mutex
	dead    bool
	hold    chan struct{} // non-nil: commands wait until it is closed
	reached chan struct{} // closed when the first command is held
}

var errProcessDead = errors.New("connection refused: the process is dead")

// stall holds every later command until release; it returns a channel closed
// when the first one is held.
func (h *redisFault) stall() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hold, h.reached = make(chan struct{}), make(chan struct{})
	return h.reached
}

func (h *redisFault) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hold != nil {
		close(h.hold)
		h.hold = nil
	}
}

func (h *redisFault) kill() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dead = true
}

func (h *redisFault) gate() error {
	h.mu.Lock()
	if h.dead {
		h.mu.Unlock()
		return errProcessDead
	}
	hold := h.hold
	if hold != nil {
		select {
		case <-h.reached:
		default:
			close(h.reached)
		}
	}
	h.mu.Unlock()
	if hold != nil {
		<-hold
	}
	return nil
}

func (h *redisFault) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *redisFault) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if err := h.gate(); err != nil {
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

func (h *redisFault) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if err := h.gate(); err != nil {
			for _, c := range cmds {
				c.SetErr(err)
			}
			return err
		}
		return next(ctx, cmds)
	}
}

// netGate is one member's network to Kafka: paused, every read and write waits
// (a frozen process: its heartbeats stop, the broker's answers wait unread);
// dead, every connection fails and none can be opened (a dead process).
type netGate struct {
	mu     sync.Mutex
	cond   *sync.Cond
	paused bool
	dead   bool
	conns  []net.Conn
}

func newNetGate() *netGate {
	g := &netGate{}
	g.cond = sync.NewCond(&g.mu)
	return g
}

func (g *netGate) wait() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.paused && !g.dead {
		g.cond.Wait()
	}
	if g.dead {
		return errProcessDead
	}
	return nil
}

func (g *netGate) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if err := g.wait(); err != nil {
		return nil, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dead {
		c.Close()
		return nil, errProcessDead
	}
	g.conns = append(g.conns, c)
	return &gatedConn{Conn: c, g: g}, nil
}

func (g *netGate) pause() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.paused = true
}

func (g *netGate) resume() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.paused = false
	g.cond.Broadcast()
}

func (g *netGate) kill() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.dead = true
	for _, c := range g.conns {
		c.Close()
	}
	g.cond.Broadcast()
}

func (g *netGate) isDead() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.dead
}

type gatedConn struct {
	net.Conn
	g *netGate
}

func (c *gatedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if werr := c.g.wait(); werr != nil {
		return 0, werr
	}
	return n, err
}

func (c *gatedConn) Write(b []byte) (int, error) {
	if err := c.g.wait(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}
