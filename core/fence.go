package core

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Behavior: fencing against zombie owners.
//
// Each partition has a fence key "<ns>:{<p>}#fence" holding the highest
// consumer-group generation that claimed or wrote the partition. An owner claims
// its partitions when they are assigned (Assigned); every fenced write is a script
// that first compares the writer's generation with the fence and refuses the whole
// batch when the fence is newer. So a consumer that was paused past its session
// timeout (a zombie: its partitions were reassigned in a newer generation) and
// then spills, e.g. from Kafka's default onPartitionsLost, which calls
// onPartitionsRevoked, cannot overwrite context written or owned by the new owner.
//
// One script call covers a whole batch (all keys of one partition, hence one
// Cluster slot): miniredis builds a Lua VM per call (~100-300 µs), real Redis runs
// one in ~20 µs plus the writes. Writes inside the script use redis.pcall, so a
// failure of one write is reported for that key (Redis does not roll back the
// writes a script already made). Under maxmemory, Redis 7 checks a script without
// flags for OOM at its first write only (script.c, scriptVerifyOOM): the fence SET
// comes first, so a batch is refused whole when Redis is already over maxmemory,
// and may overshoot it by one batch otherwise — batch-level, not key-level.
//
// Not covered: a zombie with the same generation as the new owner (static
// membership keeps the generation across a restart; the broker fences the old
// instance by its group.instance.id, which this store cannot see).

// errFenced marks writes refused by the fence.
var errFenced = errors.New("core: fenced: a newer consumer-group generation owns the partition")

// ErrFenced is returned (wrapped) by Assigned when a newer generation already
// claimed a partition, and reported per key (ReasonFenced) by spills.
var ErrFenced = errFenced

// spillScript: KEYS[1] fence, KEYS[2] manifest, KEYS[3..] entries.
// ARGV[1] generation, ARGV[2] fence TTL ms, ARGV[3] manifest TTL ms (0: none),
// ARGV[4] length of the partition prefix of the entry keys, then per entry: TTL ms
// (0: no expiry), value.
// Reply: {0, fence} when fenced; else {1} followed by (i, error) for each entry i
// (1-based) whose SET failed. Replying only failures keeps the reply small: the
// per-entry cost of the script is the SET itself.
var spillScript = redis.NewScript(spillSource)

const spillSource = `
local gen = tonumber(ARGV[1])
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) > gen then
  return {0, cur}
end
-- SET is a deny-oom command: as the script's first write it makes Redis check
-- maxmemory for the whole batch (later writes of a script that already wrote are
-- let through, so a batch can overshoot maxmemory by at most its own size).
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local mttl = tonumber(ARGV[3])
local plen = tonumber(ARGV[4])
local res = {1}
local members = {}
local n = #KEYS
for i = 3, n do
  local j = 2 * i - 1
  local r
  if ARGV[j] == '0' then
    r = redis.pcall('SET', KEYS[i], ARGV[j + 1])
  else
    r = redis.pcall('SET', KEYS[i], ARGV[j + 1], 'PX', ARGV[j])
  end
  if type(r) == 'table' and r.err then
    res[#res + 1] = i - 2
    res[#res + 1] = r.err
  elseif mttl > 0 then
    members[#members + 1] = string.sub(KEYS[i], plen + 1)
  end
end
local k = 1
while k <= #members do
  redis.pcall('SADD', KEYS[2], unpack(members, k, math.min(k + 499, #members)))
  k = k + 500
end
if #members > 0 then
  local t = redis.call('PTTL', KEYS[2])
  if t < mttl then redis.pcall('PEXPIRE', KEYS[2], mttl) end
end
return res
`

// claimScript: KEYS[1] fence; ARGV[1] generation, ARGV[2] fence TTL ms.
// Reply: the fence after the call (> ARGV[1] when a newer generation holds it).
var claimScript = redis.NewScript(claimSource)

const claimSource = `
local gen = tonumber(ARGV[1])
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) > gen then
  return tonumber(cur)
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return gen
`

// Script is one of the Lua scripts the store runs: for operators who preload
// scripts (SCRIPT LOAD) or allow-list them, and for tools that recognise the
// store's traffic (the simulator answers them natively instead of running Lua).
// The KEYS/ARGV layout of each is documented on the script in fence.go and is
// part of the envelope contract: a change gets a new script, hence a new SHA1.
type Script struct {
	Name   string // "spill" or "claim"
	Source string // the Lua source
	SHA1   string // what EVALSHA names it by
}

// Scripts returns the store's Lua scripts.
func Scripts() []Script {
	return []Script{
		{Name: "spill", Source: spillSource, SHA1: spillScript.Hash()},
		{Name: "claim", Source: claimSource, SHA1: claimScript.Hash()},
	}
}

// claim raises the fences of partitions to gen in one pipeline.
func (s *Store[V]) claim(ctx context.Context, gen int64, partitions []int32) error {
	g := strconv.FormatInt(gen, 10)
	ttl := strconv.FormatInt(s.cfg.fenceTTL.Milliseconds(), 10)
	run := func(useSha bool) ([]*redis.Cmd, error) {
		cmds := make([]*redis.Cmd, len(partitions))
		_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for i, p := range partitions {
				keys := []string{s.metaKey(p, "fence")}
				if useSha {
					cmds[i] = claimScript.EvalSha(ctx, pipe, keys, g, ttl)
				} else {
					cmds[i] = claimScript.Eval(ctx, pipe, keys, g, ttl)
				}
			}
			return nil
		})
		return cmds, err
	}
	cmds, err := run(true)
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		cmds, err = run(false)
	}
	if err != nil {
		return fmt.Errorf("core: claiming partitions %v for generation %d: %w", partitions, gen, err)
	}
	var fenced []error
	for i, c := range cmds {
		cur, err := c.Int64()
		if err != nil {
			return fmt.Errorf("core: claiming partition %d: %w", partitions[i], err)
		}
		if cur > gen {
			fenced = append(fenced, fmt.Errorf("partition %d is held by generation %d > %d: %w",
				partitions[i], cur, gen, errFenced))
		}
	}
	return errors.Join(fenced...)
}
