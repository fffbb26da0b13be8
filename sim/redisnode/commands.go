package redisnode

import (
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Behavior: what the models need to know about a command before and after it
// runs: which keys it may write (they are re-read from miniredis afterwards) and
// which it reads (a hit updates LRU/LFU), whether it is a write (MISCONF refuses it,
// it is appended to the AOF and counts as a change for save points) and whether it
// is deny-oom (refused over maxmemory when nothing can be evicted).
//
// Flags follow the Redis 7.0 command table (src/commands/*.json: "WRITE",
// "DENYOOM"; GETDEL, DEL, EXPIRE are writes but not deny-oom). EVAL/EVALSHA are
// treated as a write and deny-oom at their first write (script.c
// scriptVerifyWriteCommandAllow / scriptVerifyOOM): every KEYS argument counts as
// written; the core's take script (GET and UNLINK) is a write but not deny-oom.
// A transaction (MULTI ... EXEC, the core's fenced spill) is all or nothing: when
// any command queued in it is refused (OOM, MISCONF), Redis answers EXECABORT and
// runs none (server.c processCommand rejects commands queued while over
// maxmemory; multi.c execCommand aborts a flagged transaction); WATCH, MULTI and
// EXEC are charged as fast commands. Commands the core never sends and that are not listed are treated as
// touching no key. EXISTS, TTL and PTTL do not touch LRU (LOOKUP_NOTOUCH).

// opShape is the calibrated cost shape a command is charged as (latency.go).
type opShape uint8

const (
	shapeFast opShape = iota // PING, EXPIRE, SCRIPT LOAD...: GET's per-op cost
	shapeGet
	shapeSet
	shapeMGet // MGET; EXISTS: a lookup per key, no value bytes
	shapeDel
	shapeGetDel
	shapeSetMembers // SADD, SREM, SMEMBERS: per member
	shapeScript
)

// cmdInfo is the classification of one command.
type cmdInfo struct {
	write   bool
	denyOOM bool
	script  bool
	writes  []string
	reads   []string
	shape   opShape
	keys    int   // keys (or members) the command handles
	argVals int64 // bytes of value arguments written (SET value, script ARGV, set members)
	// valueLens are the lengths of the values a SET-like command writes, one per
	// written key when known (admission estimates the memory they need).
	valueLens []int
	ttl       bool // the write sets a TTL
	aofBytes  int64
}

// classify inspects a command's name and arguments.
func classify(c redis.Cmder) cmdInfo {
	args := c.Args()
	name := c.Name()
	var ci cmdInfo
	key := func(i int) []string {
		if len(args) > i {
			if s, ok := argString(args[i]); ok {
				return []string{s}
			}
		}
		return nil
	}
	switch name {
	case "get", "strlen":
		ci.reads, ci.shape, ci.keys = key(1), shapeGet, 1
	case "mget":
		ci.reads, ci.shape = strArgs(args[1:]), shapeMGet
		ci.keys = len(ci.reads)
	case "exists":
		// A lookup per key, like MGET's, but no touch (LOOKUP_NOTOUCH) and no
		// value in the reply: no reads.
		ci.shape, ci.keys = shapeMGet, len(args)-1
	case "getdel", "getex":
		ci.write, ci.shape, ci.keys = true, shapeGetDel, 1
		ci.reads, ci.writes = key(1), key(1)
		ci.ttl = name == "getex" && hasTTLOption(args[2:])
	case "set", "setex", "psetex", "setnx":
		ci.write, ci.denyOOM, ci.shape, ci.keys = true, true, shapeSet, 1
		ci.writes = key(1)
		vi := 2
		if name == "setex" || name == "psetex" {
			vi, ci.ttl = 3, true
		} else if name == "set" && len(args) > 3 {
			ci.ttl = hasTTLOption(args[3:])
		}
		if len(args) > vi {
			n := argLen(args[vi])
			ci.valueLens, ci.argVals = []int{n}, int64(n)
		}
	case "mset":
		ci.write, ci.denyOOM, ci.shape = true, true, shapeSet
		for i := 1; i+1 < len(args); i += 2 {
			ci.writes = append(ci.writes, key(i)...)
			n := argLen(args[i+1])
			ci.valueLens = append(ci.valueLens, n)
			ci.argVals += int64(n)
		}
		ci.keys = len(ci.writes)
	case "incr", "incrby", "decr", "decrby", "append", "hset", "lpush", "rpush", "zadd":
		ci.write, ci.denyOOM, ci.shape, ci.keys = true, true, shapeSet, 1
		ci.writes = key(1)
	case "del", "unlink":
		ci.write, ci.shape = true, shapeDel
		ci.writes = strArgs(args[1:])
		ci.keys = len(ci.writes)
	case "expire", "pexpire", "expireat", "pexpireat", "persist":
		ci.write, ci.shape, ci.keys = true, shapeFast, 1
		ci.writes, ci.ttl = key(1), name != "persist"
	case "sadd", "srem":
		ci.write, ci.denyOOM, ci.shape = true, name == "sadd", shapeSetMembers
		ci.writes = key(1)
		for _, a := range args[min(2, len(args)):] {
			ci.argVals += int64(argLen(a))
			ci.keys++
		}
	case "smembers", "sismember", "scard":
		ci.reads, ci.shape, ci.keys = key(1), shapeSetMembers, 1
	case "eval", "evalsha", "eval_ro", "evalsha_ro":
		ci.script, ci.shape = true, shapeScript
		nk, ok := numKeys(c)
		if ok && nk >= 0 && len(args) >= 3+nk {
			ci.writes = strArgs(args[3 : 3+nk])
			ci.keys = nk
			for _, a := range args[3+nk:] {
				ci.argVals += int64(argLen(a))
			}
		}
		if name == "eval" || name == "evalsha" {
			ci.write, ci.denyOOM, ci.ttl = true, true, true
			if scriptOf(c) == "take" {
				// GETs and UNLINKs: a write, but not deny-oom (its first write is
				// UNLINK), and no TTL.
				ci.denyOOM, ci.ttl = false, false
			}
		} else {
			ci.reads, ci.writes = ci.writes, nil
		}
	default:
		ci.shape = shapeFast
	}
	if ci.write {
		ci.aofBytes = respBytes(args)
	}
	return ci
}

// hasTTLOption reports whether SET/GETEX options set an expire.
func hasTTLOption(opts []any) bool {
	for _, o := range opts {
		if s, ok := argString(o); ok {
			switch s {
			case "ex", "px", "exat", "pxat", "EX", "PX", "EXAT", "PXAT", "keepttl", "KEEPTTL":
				return true
			}
		}
	}
	return false
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

func argString(a any) (string, bool) {
	switch v := a.(type) {
	case string:
		return v, true
	case []byte:
		return string(v), true
	}
	return "", false
}

func strArgs(args []any) []string {
	out := make([]string, 0, len(args))
	for _, a := range args {
		if s, ok := argString(a); ok {
			out = append(out, s)
		}
	}
	return out
}

// argLen is the length of an argument as go-redis writes it on the wire.
func argLen(a any) int {
	switch v := a.(type) {
	case string:
		return len(v)
	case []byte:
		return len(v)
	case int:
		return len(strconv.Itoa(v))
	case int64:
		return len(strconv.FormatInt(v, 10))
	case int32:
		return len(strconv.FormatInt(int64(v), 10))
	case uint64:
		return len(strconv.FormatUint(v, 10))
	case bool:
		return 1
	case float64:
		return len(strconv.FormatFloat(v, 'f', -1, 64))
	}
	return 8
}

func argBytes(c redis.Cmder) int {
	n := 0
	for _, a := range c.Args() {
		n += argLen(a)
	}
	return n
}

// respBytes is the size of the command in the RESP protocol (what the AOF holds).
func respBytes(args []any) int64 {
	n := int64(1 + len(strconv.Itoa(len(args))) + 2)
	for _, a := range args {
		l := argLen(a)
		n += int64(1+len(strconv.Itoa(l))+2) + int64(l) + 2
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
	case *redis.StringSliceCmd:
		n := 0
		for _, s := range v.Val() {
			n += len(s)
		}
		return n
	}
	return 0
}

func isSetup(cmds []redis.Cmder) bool {
	if len(cmds) != 1 {
		return false
	}
	switch cmds[0].Name() {
	case "hello", "client", "auth", "select",
		// go-redis Ring asks COMMAND (for key positions) of a shard it picks with
		// the global math/rand: charging it would make which node pays depend on
		// that draw, so client metadata lookups are free and invisible to the models.
		"command":
		return true
	}
	return false
}
