package redisnode

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/spillway-sim/spillway/core"
)

// Behavior: native execution of the core's two Lua scripts (core.Scripts: "claim"
// and "take"). miniredis builds a fresh Lua VM for every EVAL/EVALSHA (~100–300 µs)
// and interprets every redis.call in gopher-lua, which made a write-through run
// spend most of its wall time in Lua. The node recognises the scripts by SHA1 (or,
// for the NOSCRIPT fallback, by source) and performs exactly what the Lua does —
// claim: fence check, fence SET with PX; through miniredis's direct API, and replies as
// the script would (take: the fence check, then per entry a GET, a compare of the
// value's length and last four bytes with the arguments, and an UNLINK of each
// that matches). Only the wall time changes: the modelled service time is the
// calibrated EVALSHA cost either way, and the model hooks see the same command.
// Config.RunLua turns this off (the equivalence test runs both and compares).
//
// Any other script goes to miniredis's Lua as usual.

var (
	takeSHA, claimSHA       string
	takeSource, claimSource string
)

func init() {
	for _, s := range core.Scripts() {
		switch s.Name {
		case "take":
			takeSHA, takeSource = s.SHA1, s.Source
		case "claim":
			claimSHA, claimSource = s.SHA1, s.Source
		}
	}
}

// scriptOf reports which core script a command runs ("" for none).
func scriptOf(c redis.Cmder) string {
	args := c.Args()
	if len(args) < 3 {
		return ""
	}
	ref, _ := argString(args[1])
	switch c.Name() {
	case "evalsha":
		switch ref {
		case takeSHA:
			return "take"
		case claimSHA:
			return "claim"
		}
	case "eval":
		switch ref {
		case takeSource:
			return "take"
		case claimSource:
			return "claim"
		}
	}
	return ""
}

// execute runs the admitted commands: the core's scripts natively, everything
// else through miniredis, in order.
func (n *Node) execute(ctx context.Context, cmds []redis.Cmder, next func(context.Context, []redis.Cmder) error) error {
	if n.cfg.RunLua {
		return next(ctx, cmds)
	}
	native := false
	for _, c := range cmds {
		native = native || scriptOf(c) != ""
	}
	if !native {
		return next(ctx, cmds)
	}
	var first error
	for i := 0; i < len(cmds); {
		if s := scriptOf(cmds[i]); s != "" {
			if err := n.runScript(s, cmds[i]); err != nil && first == nil {
				first = err
			}
			i++
			continue
		}
		j := i
		for j < len(cmds) && scriptOf(cmds[j]) == "" {
			j++
		}
		if err := next(ctx, cmds[i:j]); err != nil && first == nil {
			first = err
		}
		i = j
	}
	return first
}

// runScript performs script s of command c on miniredis and sets c's reply.
func (n *Node) runScript(s string, c redis.Cmder) error {
	cmd, ok := c.(*redis.Cmd)
	args := c.Args()
	nk, okk := numKeys(c)
	if !ok || !okk || len(args) < 3+nk {
		err := fmt.Errorf("redisnode: malformed %s script call", s)
		c.SetErr(err)
		return err
	}
	keys := strArgs(args[3 : 3+nk])
	argv := args[3+nk:]
	mr := n.mr
	num := func(i int) int64 {
		if i >= len(argv) {
			return 0
		}
		switch v := argv[i].(type) {
		case int:
			return int64(v)
		case int64:
			return v
		}
		str, _ := argString(argv[i])
		x, _ := strconv.ParseInt(str, 10, 64)
		return x
	}
	text := func(i int) string {
		if i >= len(argv) {
			return ""
		}
		if str, ok := argString(argv[i]); ok {
			return str
		}
		return strconv.FormatInt(num(i), 10)
	}
	gen := num(0)
	cur, err := mr.Get(keys[0])
	exists := err == nil
	curGen, _ := strconv.ParseInt(cur, 10, 64)
	switch s {
	case "claim":
		if exists && curGen > gen {
			cmd.SetVal(curGen)
			return nil
		}
		setPX(mr, keys[0], text(0), num(1))
		cmd.SetVal(gen)
		return nil
	}
	// take
	if exists && curGen > gen {
		cmd.SetVal(int64(-1))
		return nil
	}
	deleted := int64(0)
	for i := 1; i < len(keys); i++ {
		j := 1 + 2*(i-1)
		v, err := mr.Get(keys[i])
		if err != nil || int64(len(v)) != num(j) || len(v) < 4 && v != text(j+1) || len(v) >= 4 && v[len(v)-4:] != text(j+1) {
			continue
		}
		mr.Del(keys[i])
		deleted++
	}
	cmd.SetVal(deleted)
	return nil
}

// setPX is SET key value [PX ms] (no expiry when ms ≤ 0).
func setPX(mr *miniredis.Miniredis, key, value string, ms int64) {
	mr.Set(key, value)
	if ms > 0 {
		mr.SetTTL(key, time.Duration(ms)*time.Millisecond)
	}
}
