package streams

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Behavior: leases on streams, the usual single-instance Redis lock
// (redis.io/docs/manual/patterns/distributed-locks: SET key value NX PX ttl,
// released and extended only by the holder, checked by value in a script).
//
//   - Acquire: for each stream asked for, SET <lease> <owner> NX PX ttl; when it
//     succeeds, INCR <epoch>: the lease's epoch, a number that grows with every
//     holder, which the holder's state store uses as its fencing generation.
//     It stops after `want` leases. One script call.
//   - Heartbeat: extends (PEXPIRE) every lease whose value is still the owner's,
//     reports which are not (expired, taken), and keeps the consumer in the
//     members sorted set (score: its expiry in ms of the server's time, passed in)
//     whose live count each consumer divides the streams by. One script call.
//   - Release: DEL of each lease whose value is still the owner's. One script call.
//
// Not modelled: clock drift between clients (the times come from one clock),
// Redlock over several masters.

// LeaseKey is the lease of stream s; EpochKey its epoch counter.
func LeaseKey(s int32) string { return "log:{" + strconv.Itoa(int(s)) + "}:lease" }

// EpochKey is the epoch counter of stream s's lease.
func EpochKey(s int32) string { return "log:{" + strconv.Itoa(int(s)) + "}:epoch" }

// MembersKey is the sorted set of live consumers.
const MembersKey = "log:members"

var acquireScript = redis.NewScript(`
local want = tonumber(ARGV[3])
local out = {}
local got = 0
for i = 1, #KEYS, 2 do
  local e = 0
  if got < want and redis.call('SET', KEYS[i], ARGV[1], 'NX', 'PX', ARGV[2]) then
    e = redis.call('INCR', KEYS[i + 1])
    got = got + 1
  end
  out[#out + 1] = e
end
return out
`)

var heartbeatScript = redis.NewScript(`
local out = {}
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
redis.call('ZADD', KEYS[1], tonumber(ARGV[3]) + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
out[#out + 1] = redis.call('ZCARD', KEYS[1])
return out
`)

var releaseScript = redis.NewScript(`
local n = 0
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('DEL', KEYS[i])
    n = n + 1
  end
end
if ARGV[2] == '1' then
  redis.call('ZREM', KEYS[1], ARGV[1])
end
return n
`)

// Leases takes, keeps and gives back leases on streams for one owner.
type Leases struct {
	rdb   redis.UniversalClient
	owner string
	ttl   time.Duration
}

// NewLeases returns owner's leases of ttl on rdb.
func NewLeases(rdb redis.UniversalClient, owner string, ttl time.Duration) *Leases {
	return &Leases{rdb: rdb, owner: owner, ttl: ttl}
}

// Acquire tries the streams in order and takes up to want free ones; it returns
// the epoch of each stream taken (0: not taken), one per stream asked for.
func (l *Leases) Acquire(ctx context.Context, streams []int32, want int) ([]int64, error) {
	if len(streams) == 0 || want <= 0 {
		return make([]int64, len(streams)), nil
	}
	keys := make([]string, 0, 2*len(streams))
	for _, s := range streams {
		keys = append(keys, LeaseKey(s), EpochKey(s))
	}
	res, err := acquireScript.Run(ctx, l.rdb, keys, l.owner, l.ttl.Milliseconds(), want).Int64Slice()
	if err != nil {
		return make([]int64, len(streams)), err
	}
	return res, nil
}

// Heartbeat extends the owner's leases on held and registers it as a member
// until now+ttl (now: milliseconds of the server's clock). It returns, per
// stream of held, whether the lease is still the owner's, and the number of
// live members.
func (l *Leases) Heartbeat(ctx context.Context, held []int32, now time.Time) ([]bool, int, error) {
	keys := make([]string, 0, 1+len(held))
	keys = append(keys, MembersKey)
	for _, s := range held {
		keys = append(keys, LeaseKey(s))
	}
	res, err := heartbeatScript.Run(ctx, l.rdb, keys, l.owner, l.ttl.Milliseconds(), now.UnixMilli()).Int64Slice()
	if err != nil || len(res) != len(held)+1 {
		return nil, 0, err
	}
	kept := make([]bool, len(held))
	for i := range held {
		kept[i] = res[i] == 1
	}
	return kept, int(res[len(held)]), nil
}

// Release gives back the owner's leases on streams; leave also removes it from
// the members. It returns how many leases it released.
func (l *Leases) Release(ctx context.Context, streams []int32, leave bool) (int64, error) {
	keys := make([]string, 0, 1+len(streams))
	keys = append(keys, MembersKey)
	for _, s := range streams {
		keys = append(keys, LeaseKey(s))
	}
	flag := "0"
	if leave {
		flag = "1"
	}
	return releaseScript.Run(ctx, l.rdb, keys, l.owner, flag).Int64()
}
