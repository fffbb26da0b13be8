package core

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Strategy says when the store writes context to Redis.
type Strategy uint8

// Strategies. The simulator compares them side by side.
const (
	// SpillOnRevoke keeps context in memory only and writes it on Spill (partition
	// revoke) and SpillAll (shutdown). The default; the LogicMonitor design.
	SpillOnRevoke Strategy = iota
	// MemoryOnly never touches Redis: Spill and SpillAll only drop the context.
	// The baseline a handoff loses everything against.
	MemoryOnly
	// WriteThrough writes every entry Put since the previous Sync when Sync is called
	// (after each poll batch, before the offset commit): one Redis write per updated
	// key per batch. Spill then only writes what Sync has not, and what Redis no
	// longer has: it checks first (one EXISTS per batch of clean keys), so copies
	// lost to a restart, a flush, eviction or a failover are written again, not
	// dropped (SpillReport.Rewritten).
	WriteThrough
	// Checkpoint writes dirty entries when Sync is called and CheckpointEvery has
	// passed since the last checkpoint, and spills like SpillOnRevoke. A crash loses
	// at most the updates since the last checkpoint.
	Checkpoint
)

var strategyNames = [...]string{"spill-on-revoke", "memory-only", "write-through", "checkpoint"}

// String returns the scenario name of the strategy.
func (s Strategy) String() string {
	if int(s) < len(strategyNames) {
		return strategyNames[s]
	}
	return fmt.Sprintf("strategy(%d)", uint8(s))
}

// ParseStrategy maps a scenario name (memory-only, spill-on-revoke, write-through,
// checkpoint) to a Strategy.
func ParseStrategy(s string) (Strategy, error) {
	for i, n := range strategyNames {
		if n == s {
			return Strategy(i), nil
		}
	}
	return 0, fmt.Errorf("core: unknown strategy %q (want %s)", s, strings.Join(strategyNames[:], ", "))
}

// Opt configures a Store. Each option's doc says the default it overrides.
type Opt func(*config)

type config struct {
	namespace       string
	compression     Compression
	ttl             time.Duration
	ttlFunc         func(partition int32, key string) time.Duration
	maxAge          time.Duration
	parallelism     int
	batch           int
	clock           Clock
	metrics         Metrics
	strategy        Strategy
	checkpointEvery time.Duration
	fencing         bool
	fenceTTL        time.Duration
	manifest        bool
	keepOnRestore   bool
	maxAttempts     int
	backoff         time.Duration
	maxValueBytes   int
	waitReplicas    int
	waitTimeout     time.Duration
}

func defaultConfig() config {
	return config{
		compression:     LZ4,
		ttl:             10 * time.Minute,
		maxAge:          0,
		parallelism:     8,
		batch:           1000,
		clock:           SystemClock{},
		metrics:         NopMetrics{},
		strategy:        SpillOnRevoke,
		checkpointEvery: 30 * time.Second,
		fencing:         true,
		fenceTTL:        24 * time.Hour,
		maxAttempts:     3,
		backoff:         50 * time.Millisecond,
		maxValueBytes:   16 << 20,
	}
}

// Namespace names the store's keys in Redis. It is required: two consumer groups,
// or two topics, that share a Redis must not share a namespace, or they fence each
// other out and read each other's context. Derive it from both, e.g.
// GroupNamespace(group, topic). Keys are "{<ns>:<partition>}:<key>" (keys.go): the
// braces are a Redis Cluster hash tag, so one partition's keys share a slot.
func Namespace(ns string) Opt { return func(c *config) { c.namespace = ns } }

// GroupNamespace is the namespace for a consumer group reading a topic:
// "<group>/<topic>".
func GroupNamespace(group, topic string) string { return group + "/" + topic }

// WithCompression sets the payload compression (default LZ4).
func WithCompression(comp Compression) Opt { return func(c *config) { c.compression = comp } }

// TTL sets the expiry of spilled entries (default 10m). Pick a few collection
// intervals: long enough for the next owner to ask, short enough to free memory.
func TTL(d time.Duration) Opt { return func(c *config) { c.ttl = d } }

// Persist, returned by a TTLFunc, writes the entry without an expiry. Spilled
// context that never expires grows Redis until maxmemory evicts live entries — the
// TTL bug the simulator's ttl-bug scenario reproduces; use it deliberately.
const Persist time.Duration = -1

// TTLFunc sets a per-entry TTL (e.g. 3 × the key's collection interval), overriding
// TTL. It is called at write time; Persist means no expiry; any other result ≤ 0
// falls back to TTL.
func TTLFunc(f func(partition int32, key string) time.Duration) Opt {
	return func(c *config) { c.ttlFunc = f }
}

// MaxAge sets the staleness check: a restored entry whose as-of time is older than
// this is discarded and counted (default 0: no check).
func MaxAge(d time.Duration) Opt { return func(c *config) { c.maxAge = d } }

// SpillParallelism sets how many spill workers write at once (default 8).
func SpillParallelism(n int) Opt { return func(c *config) { c.parallelism = n } }

// SpillBatch sets the keys per pipeline or script call (default 1000).
func SpillBatch(n int) Opt { return func(c *config) { c.batch = n } }

// WithClock sets the clock (default SystemClock).
func WithClock(clk Clock) Opt { return func(c *config) { c.clock = clk } }

// WithMetrics sets the metrics sink (default NopMetrics).
func WithMetrics(m Metrics) Opt { return func(c *config) { c.metrics = m } }

// WithStrategy sets when the store writes (default SpillOnRevoke).
func WithStrategy(s Strategy) Opt { return func(c *config) { c.strategy = s } }

// CheckpointEvery sets the checkpoint period of the Checkpoint strategy (default 30s).
func CheckpointEvery(d time.Duration) Opt { return func(c *config) { c.checkpointEvery = d } }

// Fencing turns generation fencing on or off (default on). With it, writes go
// through a Lua script (one call per batch) that refuses a writer whose
// consumer-group generation is older than the partition's fence; without it, writes
// are plain pipelined SETs and a zombie owner can overwrite newer context.
func Fencing(on bool) Opt { return func(c *config) { c.fencing = on } }

// FenceTTL sets how long a partition's fence key lives (default 24h).
func FenceTTL(d time.Duration) Opt { return func(c *config) { c.fenceTTL = d } }

// Manifest makes spills also record each partition's spilled keys in a set, so Warm
// can restore a partition eagerly without scanning the keyspace (default off: it
// costs one set member per spilled key in Redis).
func Manifest(on bool) Opt { return func(c *config) { c.manifest = on } }

// KeepOnRestore leaves restored entries in Redis instead of taking them (MGET,
// then UNLINK of what was read: the default). Taking means an owner that later
// crashes leaves nothing behind rather than an older entry that the next owner
// could use as a stale context; keeping saves the second round trip.
func KeepOnRestore(on bool) Opt { return func(c *config) { c.keepOnRestore = on } }

// Retries sets how many times a batch is tried in total on a retryable error
// (timeout, connection, READONLY), and the back-off between tries (default 3, 50ms,
// doubling). Retries never outlast the context's deadline.
func Retries(attempts int, backoff time.Duration) Opt {
	return func(c *config) { c.maxAttempts, c.backoff = attempts, backoff }
}

// MaxValueBytes bounds the payload length a restored envelope may claim (default
// 16 MiB, at most MaxValueLimit): a corrupt or forged length cannot allocate more.
func MaxValueBytes(n int) Opt { return func(c *config) { c.maxValueBytes = n } }

// MaxValueLimit is the largest MaxValueBytes: Redis's own limit on a string
// (proto-max-bulk-len, 512 MiB).
const MaxValueLimit = 512 << 20

// WaitReplicas makes a spill wait, after each batch Redis acknowledged, until n
// replicas have it too (Redis WAIT, on the same connection, up to timeout) before
// the entries leave memory (default 0: a master's acknowledgement is enough). A
// master that fails over right after acknowledging a spill loses what its
// replicas had not received; with this option those entries stay in memory and are
// reported (ReasonNotReplicated) instead. Sync and checkpoints wait as well. It
// costs one more command per batch and up to timeout of waiting.
func WaitReplicas(n int, timeout time.Duration) Opt {
	return func(c *config) { c.waitReplicas, c.waitTimeout = n, timeout }
}

func (c *config) validate() error {
	var errs []error
	if c.namespace == "" {
		errs = append(errs, errors.New("a Namespace is required (e.g. core.Namespace(core.GroupNamespace(group, topic))): "+
			"stores of two groups or topics on one Redis must not share one"))
	} else if strings.ContainsAny(c.namespace, "{}") {
		errs = append(errs, fmt.Errorf("namespace %q must be free of braces", c.namespace))
	}
	if c.compression > Zstd {
		errs = append(errs, fmt.Errorf("unknown compression %d", c.compression))
	}
	if c.ttl <= 0 {
		errs = append(errs, fmt.Errorf("TTL %v must be positive (spilled context must expire)", c.ttl))
	}
	if c.maxAge < 0 {
		errs = append(errs, fmt.Errorf("MaxAge %v must not be negative", c.maxAge))
	}
	if c.parallelism < 1 || c.parallelism > 1024 {
		errs = append(errs, fmt.Errorf("SpillParallelism %d must be in [1, 1024]", c.parallelism))
	}
	if c.batch < 1 || c.batch > 10000 {
		errs = append(errs, fmt.Errorf("SpillBatch %d must be in [1, 10000]", c.batch))
	}
	if c.clock == nil {
		errs = append(errs, errors.New("clock must not be nil"))
	}
	if c.metrics == nil {
		errs = append(errs, errors.New("metrics must not be nil (use NopMetrics)"))
	}
	if c.strategy > Checkpoint {
		errs = append(errs, fmt.Errorf("unknown strategy %d", c.strategy))
	}
	if c.strategy == Checkpoint && c.checkpointEvery <= 0 {
		errs = append(errs, fmt.Errorf("CheckpointEvery %v must be positive", c.checkpointEvery))
	}
	if c.fenceTTL <= 0 {
		errs = append(errs, fmt.Errorf("FenceTTL %v must be positive", c.fenceTTL))
	}
	if c.maxAttempts < 1 {
		errs = append(errs, fmt.Errorf("Retries attempts %d must be at least 1", c.maxAttempts))
	}
	if c.backoff < 0 {
		errs = append(errs, fmt.Errorf("Retries back-off %v must not be negative", c.backoff))
	}
	if c.maxValueBytes < 1 || c.maxValueBytes > MaxValueLimit {
		errs = append(errs, fmt.Errorf("MaxValueBytes %d must be in [1, %d]", c.maxValueBytes, MaxValueLimit))
	}
	if c.waitReplicas < 0 || c.waitReplicas > 0 && c.waitTimeout <= 0 {
		errs = append(errs, fmt.Errorf("WaitReplicas(%d, %v): replicas must not be negative, and the timeout "+
			"must be positive when waiting", c.waitReplicas, c.waitTimeout))
	}
	if len(errs) > 0 {
		return fmt.Errorf("core: invalid options: %w", errors.Join(errs...))
	}
	return nil
}
