package redisnode

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestClassify(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name           string
		cmd            redis.Cmder
		write, denyOOM bool
		writes, reads  []string
		ttl            bool
		valueLens      []int
		keys           int
		argVals        int64
	}{
		{name: "SET PX", cmd: redis.NewStatusCmd(ctx, "set", "k", "vvv", "px", 100), write: true, denyOOM: true,
			writes: []string{"k"}, ttl: true, valueLens: []int{3}, keys: 1, argVals: 3},
		{name: "SET", cmd: redis.NewStatusCmd(ctx, "set", "k", "vv"), write: true, denyOOM: true, writes: []string{"k"}, valueLens: []int{2}, keys: 1, argVals: 2},
		{name: "GETDEL is a write, not deny-oom", cmd: redis.NewStringCmd(ctx, "getdel", "k"), write: true, writes: []string{"k"}, reads: []string{"k"}, keys: 1},
		{name: "MGET", cmd: redis.NewSliceCmd(ctx, "mget", "a", "b"), reads: []string{"a", "b"}, keys: 2},
		{name: "DEL", cmd: redis.NewIntCmd(ctx, "del", "a", "b"), write: true, writes: []string{"a", "b"}, keys: 2},
		{name: "PEXPIRE", cmd: redis.NewBoolCmd(ctx, "pexpire", "a", 5), write: true, writes: []string{"a"}, ttl: true, keys: 1},
		{name: "SADD", cmd: redis.NewIntCmd(ctx, "sadd", "s", "m1", "m22"), write: true, denyOOM: true, writes: []string{"s"}, keys: 2, argVals: 5},
		{name: "EVALSHA", cmd: redis.NewCmd(ctx, "evalsha", "sha", 3, "f", "m", "e", 7, 100, "vvvv"), write: true, denyOOM: true,
			writes: []string{"f", "m", "e"}, ttl: true, keys: 3, argVals: 1 + 3 + 4},
		{name: "EVALSHA_RO reads", cmd: redis.NewCmd(ctx, "evalsha_ro", "sha", 1, "f"), reads: []string{"f"}, keys: 1},
		{name: "EXISTS does not touch", cmd: redis.NewIntCmd(ctx, "exists", "a", "b"), keys: 2},
		{name: "SCRIPT LOAD", cmd: redis.NewStringCmd(ctx, "script", "load", "return 1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ci := classify(tt.cmd)
			if ci.write != tt.write || ci.denyOOM != tt.denyOOM || ci.ttl != tt.ttl || ci.keys != tt.keys || ci.argVals != tt.argVals {
				t.Fatalf("got %+v", ci)
			}
			if !slices.Equal(ci.writes, tt.writes) || !slices.Equal(ci.reads, tt.reads) || !slices.Equal(ci.valueLens, tt.valueLens) {
				t.Fatalf("keys: writes %v reads %v values %v", ci.writes, ci.reads, ci.valueLens)
			}
			if (ci.aofBytes > 0) != tt.write {
				t.Fatalf("aof bytes %d for write=%v", ci.aofBytes, tt.write)
			}
		})
	}
}

func TestRESPBytes(t *testing.T) {
	// *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nvv\r\n
	if got := respBytes([]any{"set", "k", "vv"}); got != 4+9+7+8 {
		t.Fatalf("respBytes = %d", got)
	}
	if got := argLen(int64(12345)); got != 5 {
		t.Fatalf("argLen(12345) = %d", got)
	}
	if got := argLen(time.Duration(0)); got != 8 {
		t.Fatalf("argLen of an unknown type = %d", got)
	}
}
