package streams

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Behavior: the commands of a Redis Streams consumer group, one stream per
// partition, one group over all of them (redis.io/docs/data-types/streams).
//
//   - Add: XADD <stream> [MAXLEN n] * k .. s .. t .. o .. d .., pipelined: a
//     producer's tick is one round trip. MAXLEN is exact (no "~"): exact
//     trimming is what miniredis does, and it makes the trimmed count a
//     function of the stream length alone.
//   - Read: XREADGROUP GROUP <g> <consumer> COUNT n STREAMS <stream> >, one per
//     stream with entries to read, pipelined; without BLOCK — package sim models
//     the blocking read (a blocked consumer wakes when an entry arrives; Redis
//     serves blocked clients first come, first served) and asks for what has
//     arrived by then. A real BLOCK here would block miniredis on wall time.
//   - Ack: XACK; AutoClaim: XAUTOCLAIM <stream> <g> <consumer> <min-idle> 0-0
//     COUNT n, one call (one pass) or until the cursor comes back to 0-0.
//   - DeleteIdle: XINFO CONSUMERS, then XGROUP DELCONSUMER for every consumer
//     idle longer than the limit: its pending entries leave the PEL with it and
//     are never delivered again (redis/redis#9745).
//
// Not modelled here: consumer names and who reads what (package sim), the
// NOACK and XCLAIM variants, streams over several Redis nodes.

// Config configures a Log.
type Config struct {
	Streams int    // how many streams (partitions)
	Group   string // the consumer group's name; "" = "consumers"
	MaxLen  int64  // XADD MAXLEN; 0 = no trimming
}

// Log is a Redis Streams log over one go-redis client. It is not safe for
// concurrent use.
type Log struct {
	rdb  redis.UniversalClient
	cfg  Config
	keys []string
}

// NewLog returns the log of cfg on rdb.
func NewLog(rdb redis.UniversalClient, cfg Config) *Log {
	if cfg.Group == "" {
		cfg.Group = "consumers"
	}
	l := &Log{rdb: rdb, cfg: cfg, keys: make([]string, cfg.Streams)}
	for i := range l.keys {
		l.keys[i] = StreamKey(int32(i))
	}
	return l
}

// StreamKey is the Redis key of stream s.
func StreamKey(s int32) string { return "log:{" + strconv.Itoa(int(s)) + "}" }

// Streams is the number of streams.
func (l *Log) Streams() int { return l.cfg.Streams }

// Client is the log's go-redis client.
func (l *Log) Client() redis.UniversalClient { return l.rdb }

// Create makes every stream and the group on it (XGROUP CREATE ... $ MKSTREAM),
// in one round trip. A group that exists already is kept.
func (l *Log) Create(ctx context.Context) error {
	cmds, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range l.keys {
			p.XGroupCreateMkStream(ctx, k, l.cfg.Group, "$")
		}
		return nil
	})
	if err != nil {
		for _, c := range cmds {
			if e := c.Err(); e != nil && !isBusyGroup(e) {
				return fmt.Errorf("streams: creating the group: %w", e)
			}
		}
	}
	return nil
}

func isBusyGroup(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && len(re.Error()) >= 9 && re.Error()[:9] == "BUSYGROUP"
}

// Add appends entries in one round trip; it returns each entry's ID.
func (l *Log) Add(ctx context.Context, entries []Entry) ([]string, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.StringCmd, len(entries))
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, e := range entries {
			cmds[i] = p.XAdd(ctx, &redis.XAddArgs{Stream: l.keys[e.Stream], MaxLen: l.cfg.MaxLen, Values: e.values()})
		}
		return nil
	})
	ids := make([]string, len(entries))
	for i, c := range cmds {
		ids[i] = c.Val()
	}
	return ids, err
}

// Message is one entry as a read or a claim delivered it.
type Message struct {
	ID string
	Entry
}

// Read reads, for consumer, up to counts[s] new entries of every stream s with
// counts[s] > 0, in one round trip (XREADGROUP ... >). Messages are in stream
// order, then ID order.
func (l *Log) Read(ctx context.Context, consumer string, counts []int64) ([]Message, error) {
	var cmds []*redis.XStreamSliceCmd
	var which []int32
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for s, n := range counts {
			if n <= 0 {
				continue
			}
			cmds = append(cmds, p.XReadGroup(ctx, &redis.XReadGroupArgs{
				Group: l.cfg.Group, Consumer: consumer, Streams: []string{l.keys[s], ">"}, Count: n, Block: -1,
			}))
			which = append(which, int32(s))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	var out []Message
	for i, c := range cmds {
		for _, st := range c.Val() {
			for _, m := range st.Messages {
				e, err := decode(which[i], m)
				if err != nil {
					return out, err
				}
				out = append(out, Message{ID: m.ID, Entry: e})
			}
		}
	}
	return out, nil
}

// Ack acknowledges ids, grouped by stream, in one round trip (XACK per stream).
// It returns how many entries left the PEL.
func (l *Log) Ack(ctx context.Context, ids map[int32][]string) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var cmds []*redis.IntCmd
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for s := int32(0); int(s) < len(l.keys); s++ {
			if len(ids[s]) > 0 {
				cmds = append(cmds, p.XAck(ctx, l.keys[s], l.cfg.Group, ids[s]...))
			}
		}
		return nil
	})
	var n int64
	for _, c := range cmds {
		n += c.Val()
	}
	return n, err
}

// AutoClaim claims for consumer the entries of stream s idle for at least
// minIdle, count per call; with all it calls again until the cursor returns to
// 0-0 (a whole pass over the PEL), else once.
func (l *Log) AutoClaim(ctx context.Context, s int32, consumer string, minIdle time.Duration, count int64, all bool) ([]Message, error) {
	start := "0-0"
	var out []Message
	for {
		msgs, next, err := l.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: l.keys[s], Group: l.cfg.Group, MinIdle: minIdle, Start: start, Count: count, Consumer: consumer,
		}).Result()
		if err != nil {
			return out, err
		}
		for _, m := range msgs {
			if m.Values == nil {
				continue // redis-server < 7 answers a deleted entry with a nil body
			}
			e, err := decode(s, m)
			if err != nil {
				return out, err
			}
			out = append(out, Message{ID: m.ID, Entry: e})
		}
		if !all || next == "0-0" || next == "" {
			return out, nil
		}
		start = next
	}
}

// Consumer is one consumer of the group on a stream, as XINFO CONSUMERS shows it.
type Consumer struct {
	Name    string
	Pending int64
	Idle    time.Duration
}

// Consumers lists the group's consumers on stream s.
func (l *Log) Consumers(ctx context.Context, s int32) ([]Consumer, error) {
	infos, err := l.rdb.XInfoConsumers(ctx, l.keys[s], l.cfg.Group).Result()
	if err != nil {
		return nil, err
	}
	out := make([]Consumer, len(infos))
	for i, c := range infos {
		out[i] = Consumer{Name: c.Name, Pending: c.Pending, Idle: c.Idle}
	}
	return out, nil
}

// DeleteConsumer deletes consumer from the group on stream s (XGROUP
// DELCONSUMER) and returns how many pending entries went with it.
func (l *Log) DeleteConsumer(ctx context.Context, s int32, consumer string) (int64, error) {
	return l.rdb.XGroupDelConsumer(ctx, l.keys[s], l.cfg.Group, consumer).Result()
}

// Pending is the size of stream s's PEL (XPENDING summary).
func (l *Log) Pending(ctx context.Context, s int32) (int64, error) {
	p, err := l.rdb.XPending(ctx, l.keys[s], l.cfg.Group).Result()
	if err != nil {
		return 0, err
	}
	return p.Count, nil
}

// Len is the number of entries in stream s (XLEN).
func (l *Log) Len(ctx context.Context, s int32) (int64, error) {
	return l.rdb.XLen(ctx, l.keys[s]).Result()
}
