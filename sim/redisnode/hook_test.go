package redisnode

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillway-sim/spillway/core"
)

func TestErrorRepliesClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want core.Reason
	}{
		{name: "OOM", err: ErrOOM, want: core.ReasonOOM},
		{name: "MISCONF", err: ErrMisconf, want: core.ReasonMisconf},
		{name: "LOADING", err: ErrLoading, want: core.ReasonUnavailable},
		{name: "connection refused", err: refused(), want: core.ReasonUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := core.Classify(tt.err); got != tt.want {
				t.Fatalf("Classify = %v, want %v", got, tt.want)
			}
			var rerr redis.Error
			if tt.name != "connection refused" && !errors.As(tt.err, &rerr) {
				t.Fatal("not a redis.Error")
			}
		})
	}
}

func TestPipelineAdmitsCommandByCommand(t *testing.T) {
	// maxmemory just above the empty server: the first SET is admitted (Redis checks
	// used memory before a command) and crosses it, the next is refused, reads and
	// deletes (not deny-oom) still run, and after the DEL a SET fits again.
	_, n := newNode(t, Config{MaxMemory: 1_116_088 + 1000, Policy: NoEviction})
	rdb := n.NewClient(1)
	ctx := context.Background()
	cmds, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "a", make([]byte, 2000), 0)
		p.Set(ctx, "b", make([]byte, 2000), 0)
		p.Get(ctx, "a")
		p.Del(ctx, "a")
		p.Set(ctx, "c", "x", 0)
		return nil
	})
	if !errors.Is(err, ErrOOM) {
		t.Fatalf("pipeline error %v", err)
	}
	want := []error{nil, ErrOOM, nil, nil, nil}
	for i, c := range cmds {
		if got := c.Err(); !errors.Is(got, want[i]) {
			t.Fatalf("command %d (%s): %v, want %v", i, c.Name(), got, want[i])
		}
	}
	if v, _ := cmds[2].(*redis.StringCmd).Result(); len(v) != 2000 {
		t.Fatalf("GET after an admitted SET returned %d bytes", len(v))
	}
	if err := rdb.Set(ctx, "d", "x", 0).Err(); err != nil {
		t.Fatalf("SET under maxmemory: %v", err)
	}
	if ms := n.Memory(); ms.RejectedOOM != 1 || ms.Keys != 2 {
		t.Fatalf("stats %+v", ms)
	}
}

func TestTransactionRejectedWholeWhenOverMaxmemory(t *testing.T) {
	eng, n := newNode(t, Config{MaxMemory: 1_116_088 + 20_000, Policy: NoEviction})
	s := newStore(t, eng, n.NewClient(2))
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 50; i++ {
		v := make([]byte, 300) // random: lz4 does not shrink it
		for j := range v {
			v[j] = byte(r.IntN(256))
		}
		s.Put(1, string(rune('a'+i%26))+string(rune('a'+i/26)), v)
	}
	rep, err := s.Spill(context.Background(), 1)
	// One batch of 50 keys (~20 kB) starts under maxmemory: its transaction's commands
	// are queued, and checked, before any of them runs, so the batch is written whole
	// and may overshoot.
	if err != nil || rep.Written != 50 {
		t.Fatalf("first batch: %+v %v", rep, err)
	}
	if ms := n.Memory(); ms.UsedBytes <= ms.MaxMemory {
		t.Fatalf("batch did not overshoot: used %d", ms.UsedBytes)
	}
	s.Put(2, "z", []byte("1"))
	rep, err = s.Spill(context.Background(), 2)
	if err == nil || rep.Count(core.ReasonOOM) != 1 {
		t.Fatalf("second batch over maxmemory: %+v %v", rep, err)
	}
}

func TestDeadlineCutDoesNotReachRedis(t *testing.T) {
	_, n := newNode(t, Config{RTT: time.Millisecond})
	rdb := n.NewClient(1)
	m := &Meter{Budget: 500 * time.Microsecond}
	err := rdb.Set(WithMeter(context.Background(), m), "k", "v", 0).Err()
	if !errors.Is(err, context.DeadlineExceeded) || n.Keys() != 0 || n.Stats().Ops != 0 {
		t.Fatalf("err %v, keys %d, ops %d", err, n.Keys(), n.Stats().Ops)
	}
}

func TestStatsCountTraffic(t *testing.T) {
	_, n := newNode(t, Config{})
	rdb := n.NewClient(1)
	ctx := context.Background()
	rdb.Set(ctx, "key", "value", 0)
	rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Get(ctx, "key")
		p.Get(ctx, "nope")
		return nil
	})
	st := n.Stats()
	if st.Ops != 3 || st.RoundTrips != 2 || st.BytesIn != int64(len("setkeyvalue")+len("getkey")+len("getnope")) || st.BytesOut != 5 {
		t.Fatalf("stats %+v", st)
	}
}
