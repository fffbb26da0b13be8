package redisnode

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillway-sim/spillway/core"
	"github.com/spillway-sim/spillway/sim/calibration"
)

func TestServiceTimeUsesCalibration(t *testing.T) {
	cal := calibration.Default()
	_, n := newNode(t, Config{})
	directSet(t, n, "k", string(make([]byte, 256)), 0)
	ctx := context.Background()
	rdb := n.NewClient(1)
	tests := []struct {
		name string
		cmd  redis.Cmder
		want time.Duration
	}{
		{name: "GET of 256 B", cmd: rdb.Get(ctx, "k"), want: cal.ServiceTime(calibration.OpGet, 1, 256)},
		{name: "SET PX of 100 B", cmd: redis.NewStatusCmd(ctx, "set", "x", string(make([]byte, 100)), "px", 1000),
			want: cal.ServiceTime(calibration.OpSetPX, 1, 100)},
		{name: "MGET of 3 keys, one hit", cmd: redis.NewSliceCmd(ctx, "mget", "k", "a", "b"), want: cal.ServiceTime(calibration.OpMGet, 3, 256)},
		{name: "DEL of 2 keys", cmd: redis.NewIntCmd(ctx, "del", "a", "b"), want: cal.ServiceTime(calibration.OpDel, 2, 0)},
		{name: "EVALSHA of 10 keys", cmd: redis.NewCmd(ctx, "evalsha", "abc", 10, "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", string(make([]byte, 640))),
			want: cal.ServiceTime(calibration.OpEvalSHA, 10, 640)},
		{name: "PING", cmd: redis.NewStatusCmd(ctx, "ping"), want: time.Duration(math.Round(cal.Latency.Get.PerOpNanos))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ci := classify(tt.cmd)
			got := n.serviceTime(&ci, n.readBytes(&ci), argBytes(tt.cmd))
			if d := got - tt.want; d < -time.Nanosecond || d > time.Nanosecond {
				t.Fatalf("service %v, calibration %v", got, tt.want)
			}
		})
	}
}

func TestCallCost(t *testing.T) {
	tests := []struct {
		name           string
		wait, rtt, svc time.Duration
		workers        int
		want           time.Duration
	}{
		{name: "alone", rtt: 200 * time.Microsecond, svc: 50 * time.Microsecond, workers: 1, want: 250 * time.Microsecond},
		{name: "queued", wait: time.Millisecond, rtt: 200 * time.Microsecond, svc: 50 * time.Microsecond, workers: 1, want: 1250 * time.Microsecond},
		{name: "workers, server keeps up", rtt: 200 * time.Microsecond, svc: 10 * time.Microsecond, workers: 8, want: 210 * time.Microsecond},
		{name: "workers saturate the server", rtt: 200 * time.Microsecond, svc: 5 * time.Millisecond, workers: 8, want: 40 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := callCost(tt.wait, tt.rtt, tt.svc, tt.workers); got != tt.want {
				t.Fatalf("callCost = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSequentialCallsDoNotQueueBehindThemselves(t *testing.T) {
	_, n := newNode(t, Config{RTT: 100 * time.Microsecond, OpTime: 10 * time.Microsecond})
	rdb := n.NewClient(1)
	m := &Meter{}
	ctx := WithMeter(context.Background(), m)
	for i := 0; i < 10; i++ {
		rdb.Get(ctx, "x")
	}
	// Each GET: RTT + OpTime (flat model), never waiting for its own predecessors.
	if want := 10 * 110 * time.Microsecond; m.Elapsed() != want {
		t.Fatalf("10 sequential GETs took %v, want %v", m.Elapsed(), want)
	}
}

func TestLatencySpike(t *testing.T) {
	eng, n := newNode(t, Config{RTT: 100 * time.Microsecond, OpTime: time.Microsecond})
	rdb := n.NewClient(1)
	n.AddLatency(50*time.Millisecond, time.Second)
	get := func() time.Duration {
		m := &Meter{}
		rdb.Get(WithMeter(context.Background(), m), "x")
		return m.Elapsed()
	}
	if d := get(); d != 50*time.Millisecond+101*time.Microsecond {
		t.Fatalf("during the spike: %v", d)
	}
	eng.RunUntil(time.Second)
	if d := get(); d != 101*time.Microsecond {
		t.Fatalf("after the spike: %v", d)
	}
}

// restoreLatencies restores a missing key every 10 ms from 5 s to 15 s and, when
// spill, spills 100 000 keys with 8 workers at 10 s; it returns the restores' times.
func restoreLatencies(t *testing.T, spill bool) []time.Duration {
	t.Helper()
	eng, n := newNode(t, Config{RTT: 200 * time.Microsecond})
	spiller := newStore(t, eng, n.NewClient(9), core.SpillParallelism(8), core.SpillBatch(1000))
	reader := newStore(t, eng, n.NewClient(2))
	if spill {
		for i := 0; i < 100_000; i++ {
			spiller.Put(int32(i%24), fmt.Sprintf("dp:%06d", i), make([]byte, 64))
		}
	}
	var out []time.Duration
	for at := 5 * time.Second; at < 15*time.Second; at += 10 * time.Millisecond {
		eng.RunUntil(at)
		if spill && at == 10*time.Second {
			m := &Meter{Start: at, Workers: 8}
			rep, err := spiller.SpillAll(WithMeter(context.Background(), m))
			if err != nil || rep.Written != 100_000 {
				t.Fatalf("spill: %v", err)
			}
			t.Logf("spill of 100k keys: %v virtual", m.Elapsed())
		}
		m := &Meter{Start: at}
		if _, err := reader.Restore(WithMeter(context.Background(), m), []core.KeyRef{{Partition: 1, Key: fmt.Sprintf("miss%d", at)}}); err != nil {
			t.Fatal(err)
		}
		out = append(out, m.Elapsed())
	}
	slices.Sort(out)
	return out
}

func TestSpillStormRaisesRestoreP99(t *testing.T) {
	quiet := restoreLatencies(t, false)
	storm := restoreLatencies(t, true)
	p := func(v []time.Duration, q float64) time.Duration { return v[int(q*float64(len(v)-1))] }
	t.Logf("restore latency p50/p99: quiet %v/%v, during a spill storm %v/%v", p(quiet, 0.5), p(quiet, 0.99), p(storm, 0.5), p(storm, 0.99))
	if p(quiet, 0.99) > time.Millisecond {
		t.Fatalf("quiet p99 %v", p(quiet, 0.99))
	}
	if p(storm, 0.99) < 100*p(quiet, 0.99) {
		t.Fatalf("spill storm p99 %v, quiet %v", p(storm, 0.99), p(quiet, 0.99))
	}
	if p(storm, 0.5) != p(quiet, 0.5) {
		t.Fatalf("the median moved: %v vs %v", p(storm, 0.5), p(quiet, 0.5))
	}
}
