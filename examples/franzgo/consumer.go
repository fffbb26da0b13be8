package franzgo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/spillway-sim/spillway/core"
)

// Config configures a Consumer. Brokers, Group, Topic and Redis are required.
type Config struct {
	Brokers []string
	Group   string
	Topic   string
	// Redis holds the context handed between owners. Set ContextTimeoutEnabled on
	// it, so that a revoke's deadline also cuts a command in flight.
	Redis redis.UniversalClient

	// StoreOpts are applied after the consumer's own core.Namespace option
	// (core.GroupNamespace(Group, Topic)), so they may override it.
	StoreOpts []core.Opt
	// ClientOpts are applied after the consumer's own kgo options (seed brokers,
	// group, topic, cooperative-sticky balancer, BlockRebalanceOnPoll, manual
	// commits, the three partition callbacks): session, rebalance and heartbeat
	// timing, TLS, SASL, a logger, a dialer. Do not override the callbacks or
	// re-enable autocommit: the wiring depends on them.
	ClientOpts []kgo.Opt

	// HandoffTimeout bounds each claim (Assigned) and each revoke: the spill and
	// the commit after it (default 20s). Keep it under the group's rebalance
	// timeout (kgo.RebalanceTimeout, 60s by default): the group waits that long
	// for this member before it evicts it.
	HandoffTimeout time.Duration
	// BatchTimeout bounds the I/O of one poll's processing (default 5s): its
	// Restore (keys it cuts are misses) and its commit.
	BatchTimeout time.Duration
	// MaxPollRecords bounds a poll (default 1000), hence how long a rebalance
	// waits for this member's processing.
	MaxPollRecords int

	// OnRecord, if set, sees every processed record, in log order per partition,
	// from the goroutine running Run.
	OnRecord func(Result)
	// OnEvent, if set, sees every claim, revoke, loss, restore and commit, from
	// the goroutine that made it (Run or a kgo callback): it must be safe for
	// concurrent use.
	OnEvent func(Event)
	// Logger receives warnings and errors (default slog.Default()).
	Logger *slog.Logger
}

const (
	defaultHandoffTimeout = 20 * time.Second
	defaultBatchTimeout   = 5 * time.Second
	defaultMaxPollRecords = 1000
)

func (c *Config) validate() error {
	switch {
	case len(c.Brokers) == 0:
		return errors.New("franzgo: Config.Brokers is empty")
	case c.Group == "":
		return errors.New("franzgo: Config.Group is empty: the store's fencing needs a consumer group")
	case c.Topic == "":
		return errors.New("franzgo: Config.Topic is empty")
	case c.Redis == nil:
		return errors.New("franzgo: Config.Redis is nil")
	case c.HandoffTimeout < 0, c.BatchTimeout < 0, c.MaxPollRecords < 0:
		return fmt.Errorf("franzgo: negative timeout or poll size (HandoffTimeout %v, BatchTimeout %v, MaxPollRecords %d)",
			c.HandoffTimeout, c.BatchTimeout, c.MaxPollRecords)
	}
	if c.HandoffTimeout == 0 {
		c.HandoffTimeout = defaultHandoffTimeout
	}
	if c.BatchTimeout == 0 {
		c.BatchTimeout = defaultBatchTimeout
	}
	if c.MaxPollRecords == 0 {
		c.MaxPollRecords = defaultMaxPollRecords
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Source says where a record's context came from.
type Source uint8

// Sources of a record's context.
const (
	SourceNone     Source = iota // none: the series' first sample, or its context was lost
	SourceLocal                  // this consumer's memory
	SourceRestored               // Redis, brought back by this poll's Restore
)

var sourceNames = [...]string{"none", "local", "restored"}

// String returns the source's short name.
func (s Source) String() string {
	if int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return fmt.Sprintf("source(%d)", uint8(s))
}

// Result is what the consumer did with one record.
type Result struct {
	Partition int32
	Offset    int64
	Key       string // the series
	Value     uint64 // the counter value the record carries
	Prev      Last   // the context before this record; zero when Source is SourceNone
	Source    Source
	// Replayed means Prev already reflects this record (Prev.Offset ≥ Offset):
	// the log was re-read from an older committed offset than the context's.
	// The record is skipped and the context left as it is.
	Replayed bool
	Delta    uint64 // Value − Prev.Value (Value after a counter reset); 0 without a context
}

// EventKind says what an Event reports.
type EventKind uint8

// Event kinds.
const (
	EventAssigned EventKind = iota + 1 // partitions claimed (Assigned)
	EventRevoked                       // partitions handed over (Revoked, then commit)
	EventLost                          // partitions dropped without a write (Lost)
	EventRestore                       // a poll's misses asked of Redis (Restore)
	EventCommit                        // offsets committed after a poll's processing
)

var eventNames = [...]string{"", "assigned", "revoked", "lost", "restore", "commit"}

// String returns the kind's short name.
func (k EventKind) String() string {
	if int(k) < len(eventNames) && k > 0 {
		return eventNames[k]
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// Event reports one step of the wiring, for logs, metrics and tests.
type Event struct {
	Kind       EventKind
	MemberID   string // the group member ID at the time (kgo GroupMetadata)
	Generation int32  // the group generation at the time
	Partitions []int32
	Spill      *core.SpillReport   // EventRevoked: what the spill wrote and what it could not
	Restore    *core.RestoreReport // EventRestore
	Dropped    int                 // EventLost: entries dropped
	Committed  []int32             // EventRevoked, EventCommit: partitions whose offsets were committed
	Err        error
}

// Consumer consumes counter samples from one topic as a member of a consumer
// group, and keeps per series the last sample (Last) in a core.Store, so that it
// can compute each sample's delta. See the package documentation for the wiring.
type Consumer struct {
	cfg   Config
	log   *slog.Logger
	cl    *kgo.Client
	store *core.Store[Last]

	// Poll-loop buffers, reused across polls (only Run touches them).
	refs    []core.KeyRef
	vals    []Last
	found   []bool
	missing []core.KeyRef
	asked   map[core.KeyRef]core.Outcome

	// processed holds, per partition, the offset after the last record applied
	// to the store and not yet handed over: what a commit of that partition
	// says. Run sets it; the revoke and lost callbacks take it.
	mu        sync.Mutex
	processed map[int32]kgo.EpochOffset
}

// New builds the store and the kgo client. The client starts joining the group
// at once; the partitions it is assigned are claimed before Run processes them.
func New(cfg Config) (*Consumer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	opts := append([]core.Opt{core.Namespace(core.GroupNamespace(cfg.Group, cfg.Topic))}, cfg.StoreOpts...)
	store, err := core.New[Last](cfg.Redis, LastCodec{}, opts...)
	if err != nil {
		return nil, err
	}
	c := &Consumer{
		cfg:       cfg,
		log:       cfg.Logger.With("group", cfg.Group, "topic", cfg.Topic),
		store:     store,
		asked:     make(map[core.KeyRef]core.Outcome),
		processed: make(map[int32]kgo.EpochOffset),
	}
	kopts := append([]kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topic),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.BlockRebalanceOnPoll(),
		kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(c.onAssigned),
		kgo.OnPartitionsRevoked(c.onRevoked),
		kgo.OnPartitionsLost(c.onLost),
	}, cfg.ClientOpts...)
	if c.cl, err = kgo.NewClient(kopts...); err != nil {
		return nil, err
	}
	return c, nil
}

// Store returns the consumer's store (for its Stats, or to inspect it in tests).
func (c *Consumer) Store() *core.Store[Last] { return c.store }

// Client returns the consumer's kgo client.
func (c *Consumer) Client() *kgo.Client { return c.cl }

// Run polls, processes and commits until ctx is done or the client is closed.
// Each poll is processed whole, even when ctx ends meanwhile: a batch is never
// left half applied. Rebalances wait for the batch in process (the client
// blocks them from a poll until AllowRebalance), so no callback runs while Run
// holds records. Call Close after Run returns.
func (c *Consumer) Run(ctx context.Context) error {
	for {
		fs := c.cl.PollRecords(ctx, c.cfg.MaxPollRecords)
		if fs.IsClientClosed() {
			c.cl.AllowRebalance()
			return nil
		}
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				c.log.Warn("fetch error", "partition", p, "err", err)
			}
		})
		c.process(fs.Records())
		c.cl.AllowRebalance()
		if ctx.Err() != nil {
			return nil
		}
	}
}

// process applies one poll: one GetBatch, one Restore of the misses, then each
// record in order, then one commit.
func (c *Consumer) process(recs []*kgo.Record) {
	if len(recs) == 0 {
		return
	}
	member, _ := c.cl.GroupMetadata()
	// The batch is applied whole: its Restore and commit do not end with Run's context.
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.BatchTimeout)
	defer cancel()

	c.refs = c.refs[:0]
	for _, r := range recs {
		c.refs = append(c.refs, core.KeyRef{Partition: r.Partition, Key: string(r.Key)})
	}
	c.vals = slices.Grow(c.vals[:0], len(recs))[:len(recs)]
	c.found = slices.Grow(c.found[:0], len(recs))[:len(recs)]
	c.store.GetBatch(c.refs, c.vals, c.found)

	c.missing = c.missing[:0]
	clear(c.asked)
	for i, ref := range c.refs {
		if _, dup := c.asked[ref]; !c.found[i] && !dup {
			c.asked[ref] = core.OutcomeMissing
			c.missing = append(c.missing, ref)
		}
	}
	if len(c.missing) > 0 {
		rep, err := c.store.Restore(ctx, c.missing)
		if rep == nil {
			rep = &core.RestoreReport{Keys: len(c.missing)}
		}
		for i, o := range rep.Outcomes {
			c.asked[c.missing[i]] = o
		}
		if err != nil {
			// Never fatal: the keys it could not bring back are misses. ErrFenced
			// means a newer generation owns a partition: this member is a zombie
			// that has not heard yet; its callbacks will drop the partition.
			c.log.Warn("restore", "keys", len(c.missing), "failed", rep.Failed, "fenced", rep.Fenced, "err", err)
		}
		c.emit(Event{Kind: EventRestore, Restore: rep, Err: err})
	}

	batch := make(map[int32]kgo.EpochOffset)
	for i, r := range recs {
		ref := c.refs[i]
		batch[r.Partition] = kgo.EpochOffset{Epoch: r.LeaderEpoch, Offset: r.Offset + 1}
		v, err := ParseSample(r.Value)
		if err != nil {
			c.log.Warn("skipping a record that is not a sample", "partition", r.Partition, "offset", r.Offset, "err", err)
			continue
		}
		res := Result{Partition: r.Partition, Offset: r.Offset, Key: ref.Key, Value: v}
		if prev, ok := c.store.Get(ref.Partition, ref.Key); ok {
			res.Prev, res.Source = prev, SourceLocal
			if c.asked[ref] == core.OutcomeRestored {
				res.Source = SourceRestored
				delete(c.asked, ref) // the next record of the key finds it locally
			}
		}
		if res.Source != SourceNone && res.Prev.Offset >= r.Offset {
			res.Replayed = true
		} else {
			if res.Source != SourceNone {
				res.Delta = v - res.Prev.Value
				if v < res.Prev.Value {
					res.Delta = v // a counter reset
				}
			}
			c.store.PutAt(ref.Partition, ref.Key, Last{Value: v, Offset: r.Offset}, r.Timestamp)
		}
		if c.cfg.OnRecord != nil {
			c.cfg.OnRecord(res)
		}
	}

	c.mu.Lock()
	for p, o := range batch {
		c.processed[p] = o
	}
	c.mu.Unlock()

	// Commit after processing. If the member ID changed since the poll, this
	// member was evicted and rejoined meanwhile (kgo rejoins after
	// UNKNOWN_MEMBER_ID without calling OnPartitionsLost): the batch belongs to a
	// session that is over, and a commit now would carry the new membership onto
	// partitions another member owns. The revoke that follows settles them.
	if now, gen := c.cl.GroupMetadata(); now != member {
		c.log.Warn("not committing: the member was replaced while processing", "was", member, "now", now, "generation", gen)
		return
	}
	committed, err := c.commit(ctx, batch)
	c.emit(Event{Kind: EventCommit, Partitions: slices.Sorted(maps.Keys(batch)), Committed: committed, Err: err})
	if err != nil {
		c.log.Warn("commit", "err", err)
	}
}

// onAssigned claims the assigned partitions for the group generation, so that
// an older owner that has not heard it was replaced can no longer write them.
func (c *Consumer) onAssigned(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
	parts := m[c.cfg.Topic]
	if len(parts) == 0 {
		return // kgo calls this after every rebalance, also when nothing was added
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.HandoffTimeout)
	defer cancel()
	ev := Event{Kind: EventAssigned, Partitions: sorted(parts)}
	ev.MemberID, ev.Generation = cl.GroupMetadata()
	ev.Err = c.store.Assigned(ctx, int64(ev.Generation), parts...)
	switch {
	case errors.Is(ev.Err, core.ErrFenced):
		// A newer generation already claimed some of them: this member is a
		// zombie. Its writes of them are refused; its next heartbeat fails and
		// OnPartitionsLost (or a revoke) drops them.
		c.log.Warn("assigned partitions a newer generation holds", "generation", ev.Generation, "err", ev.Err)
	case ev.Err != nil:
		// Redis did not answer: the fence is not raised. Processing goes on (the
		// context starts from misses); a zombie of an older generation could
		// still write these partitions until a later claim succeeds.
		c.log.Error("claiming partitions", "partitions", ev.Partitions, "err", ev.Err)
	}
	c.emit(ev)
}

// onRevoked hands the revoked partitions over: spill, then commit. The commit
// must follow the spill: committed offsets tell the next owner where to start,
// and the spilled context must already reflect every record before them.
func (c *Consumer) onRevoked(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
	parts := m[c.cfg.Topic]
	if len(parts) == 0 {
		return // kgo calls this at the end of every cooperative session
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.HandoffTimeout)
	defer cancel()
	ev := Event{Kind: EventRevoked, Partitions: sorted(parts)}
	ev.MemberID, ev.Generation = cl.GroupMetadata()
	ev.Spill, ev.Err = c.store.Revoked(ctx, parts...)
	if ev.Spill == nil {
		ev.Spill = &core.SpillReport{Partitions: ev.Partitions}
	}
	if ev.Err != nil {
		c.log.Warn("revoke spill", "partitions", ev.Partitions, "written", ev.Spill.Written,
			"not_written", ev.Spill.NotWritten, "fenced", ev.Spill.Count(core.ReasonFenced), "err", ev.Err)
	}

	// A partition whose fence shows a newer generation belongs to it: this
	// member is a zombie that rejoined (kgo reports that as a revoke, not a
	// loss). Its offsets must not be committed: the new owner has moved on.
	// SpillReport.Fenced lists such partitions even when the store held nothing
	// of them.
	fenced := make(map[int32]bool)
	for _, p := range ev.Spill.Fenced {
		fenced[p] = true
	}
	offs := make(map[int32]kgo.EpochOffset)
	c.mu.Lock()
	for _, p := range parts {
		if o, ok := c.processed[p]; ok && !fenced[p] {
			offs[p] = o
		}
		delete(c.processed, p)
	}
	c.mu.Unlock()
	var err error
	ev.Committed, err = c.commit(ctx, offs)
	if err != nil {
		c.log.Warn("commit after revoke", "partitions", ev.Partitions, "err", err)
		ev.Err = errors.Join(ev.Err, err)
	}
	c.emit(ev)
}

// onLost drops the lost partitions without writing: the session ended without a
// revoke (missed heartbeats, fenced member), so a newer owner has them already.
func (c *Consumer) onLost(_ context.Context, cl *kgo.Client, m map[string][]int32) {
	parts := m[c.cfg.Topic]
	if len(parts) == 0 {
		return
	}
	ev := Event{Kind: EventLost, Partitions: sorted(parts)}
	ev.MemberID, ev.Generation = cl.GroupMetadata()
	ev.Dropped = c.store.Lost(parts...)
	c.mu.Lock()
	for _, p := range parts {
		delete(c.processed, p)
	}
	c.mu.Unlock()
	c.emit(ev)
}

// commit commits offs synchronously and returns the partitions it committed.
func (c *Consumer) commit(ctx context.Context, offs map[int32]kgo.EpochOffset) ([]int32, error) {
	if len(offs) == 0 {
		return nil, nil
	}
	var done []int32
	var rerr error
	c.cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{c.cfg.Topic: offs},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				rerr = err
				return
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
						rerr = errors.Join(rerr, fmt.Errorf("partition %d: %w", p.Partition, err))
					} else {
						done = append(done, p.Partition)
					}
				}
			}
		})
	slices.Sort(done)
	return done, rerr
}

// Close leaves the group and closes the client; call it after Run returned.
// Leaving revokes every partition, so the revoke callback spills them and
// commits, as in any rebalance: shutdown takes the path every rebalance tests.
// ctx bounds the wait (the termination grace period, minus a margin); each
// revoke is also bounded by HandoffTimeout.
//
// Whatever the store still holds afterwards (nothing, unless a revoke did not
// run, e.g. the leave timed out) is spilled with SpillAll, and its report
// returned. Its offsets can no longer be committed: the next owner re-reads
// those records, and the offsets in the context make it skip them.
func (c *Consumer) Close(ctx context.Context) (*core.SpillReport, error) {
	lerr := c.cl.LeaveGroupContext(ctx)
	rep, serr := c.store.SpillAll(ctx)
	if rep == nil {
		rep = &core.SpillReport{}
	}
	if rep.Keys > 0 {
		c.log.Warn("spilled at close what no revoke handed over", "keys", rep.Keys, "written", rep.Written)
	}
	c.cl.Close()
	return rep, errors.Join(lerr, serr)
}

func (c *Consumer) emit(ev Event) {
	if c.cfg.OnEvent != nil {
		c.cfg.OnEvent(ev)
	}
}

func sorted(parts []int32) []int32 { return slices.Sorted(slices.Values(parts)) }
