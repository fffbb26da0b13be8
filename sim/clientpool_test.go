package sim

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim/redisnode"
)

// calls is n traced calls of cost d each (service s), one real round trip each.
func calls(n int, d, s time.Duration) []redisnode.TracedCall {
	out := make([]redisnode.TracedCall, n)
	for i := range out {
		out[i] = redisnode.TracedCall{Cost: d, Service: s, Real: 1}
	}
	return out
}

// TestReplay: the pool model against hand-computed schedules.
func TestReplay(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name      string
		lead      time.Duration
		traced    [][]redisnode.TracedCall
		threads   int
		pool      int
		perThread bool
		wantEnd   time.Duration
		wantWaits int64
		wantMax   time.Duration
	}{
		// One thread, as many connections as lanes: nothing waits, the action
		// takes its slowest lane, as redisnode.Meter.Elapsed says.
		{name: "one thread fits", lead: 2 * ms, traced: [][]redisnode.TracedCall{calls(1, ms, 0), calls(3, ms, 0), calls(2, ms, 0)},
			threads: 1, pool: 3, wantEnd: 5 * ms},
		// One thread, 3 lanes on 1 connection: the lanes' 6 calls go one after the other.
		{name: "one thread, lanes queue", traced: [][]redisnode.TracedCall{calls(1, ms, 0), calls(3, ms, 0), calls(2, ms, 0)},
			threads: 1, pool: 1, wantEnd: 6 * ms, wantWaits: 5, wantMax: 2 * ms},
		// 4 threads share 8 calls of one lane (2 each) on one pool of 2: 4 rounds
		// of 2 calls, first come first served; threads 0 and 1's second calls
		// wait behind threads 2 and 3's first (head-of-line): 6 waits of 1 ms.
		{name: "shared client queues", traced: [][]redisnode.TracedCall{calls(8, ms, 0)},
			threads: 4, pool: 2, wantEnd: 4 * ms, wantWaits: 6, wantMax: ms},
		// The same with a client per thread: each thread's 2 calls on its own pool.
		{name: "per-thread does not", traced: [][]redisnode.TracedCall{calls(8, ms, 0)},
			threads: 4, pool: 2, perThread: true, wantEnd: 2 * ms},
		// A pool of 1 per thread still serializes one thread's own lanes.
		{name: "per-thread pool of one", traced: [][]redisnode.TracedCall{calls(2, ms, 0), calls(2, ms, 0)},
			threads: 2, pool: 1, perThread: true, wantEnd: 2 * ms, wantWaits: 2, wantMax: ms},
		// The single-threaded server: 8 calls of 1 ms service cannot end before 8 ms.
		{name: "server bound", traced: [][]redisnode.TracedCall{calls(8, ms, ms)},
			threads: 4, pool: 10, perThread: true, wantEnd: 8 * ms},
		// A sampled call standing for 4 round trips is replayed as 4 of a quarter.
		{name: "sampled call expands", traced: [][]redisnode.TracedCall{{{Cost: 4 * ms, Real: 4}}},
			threads: 4, pool: 4, wantEnd: ms},
		// A sampled call that waited 4 ms for the server's backlog, standing for 4
		// round trips of 1 ms: the real lane's first round trip waits, the others
		// do not, so the thread that makes it ends at 5 ms (spread over the 4, the
		// wait would end every thread at 2 ms).
		{name: "sampled call waits once", traced: [][]redisnode.TracedCall{{{Cost: 8 * ms, Wait: 4 * ms, Real: 4}}},
			threads: 4, pool: 4, wantEnd: 5 * ms},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			end, st := replay(tc.lead, tc.traced, tc.threads, tc.pool, tc.perThread)
			if end != tc.wantEnd || st.waits != tc.wantWaits || st.waitMax != tc.wantMax {
				t.Fatalf("end %v waits %d max %v, want %v %d %v", end, st.waits, st.waitMax, tc.wantEnd, tc.wantWaits, tc.wantMax)
			}
		})
	}
}

// TestClientModelKeepsMeterElapsed: with one thread and no more lanes than
// connections the model is not consulted: the action takes Meter.Elapsed, so
// consumers.threads: 1 runs as before the model (the goldens are byte-identical).
func TestClientModelKeepsMeterElapsed(t *testing.T) {
	cm := &clientModel{threads: 1, poolSize: 20, trace: true}
	m := &redisnode.Meter{Lead: 3 * time.Millisecond, Trace: true}
	if got := cm.elapsed(m); got != m.Elapsed() || cm.waits != 0 {
		t.Fatalf("elapsed %v waits %d, want %v 0", got, cm.waits, m.Elapsed())
	}
	if newClientModel(scenario(t, "").Consumers, 9).trace {
		t.Fatal("the defaults trace the pods' meters")
	}
	if !newClientModel(scenario(t, "consumers: {redis_pool_size: 4}\n").Consumers, 9).trace {
		t.Fatal("9 lanes on 4 connections are not replayed")
	}
}

func TestThreadOf(t *testing.T) {
	parts := []int32{2, 5, 7, 11, 13}
	want := []int{0, 1, 2, 0, 1}
	for i, p := range parts {
		if got := threadOf(p, parts, 3); got != want[i] {
			t.Fatalf("threadOf(%d) = %d, want %d", p, got, want[i])
		}
	}
	if threadOf(7, parts, 1) != 0 {
		t.Fatal("one thread")
	}
}

// TestSharedClientBottleneck runs two writer pods whose 4 threads keep 4 × 5
// round trips in flight on 10 connections, offered more than one shared
// client carries and less than four: with one shared client they queue for the
// pool and the lag grows; with one client per thread they do not wait, process
// more and lag less. Nothing is lost either way, and the result is the same
// byte for byte whatever the number of goroutines the pods work ahead on.
func TestSharedClientBottleneck(t *testing.T) {
	sc := scenario(t, `log: {partitions: 8, assignor: cooperative-sticky}
consumers: {replicas: 2, threads: 4, redis_pool_size: 10}
state: {strategy: write-through, ttl: 15m, spill_batch: 1, spill_parallelism: 5, fencing: false}
redis: {rtt: 1ms}
variants:
  - {name: shared, set: {consumers.redis_client: shared}}
  - {name: per-thread, set: {consumers.redis_client: per-thread}}
`)
	sc.Duration = scenarios.Duration(3 * time.Minute)
	sc.Workload.Datapoints, sc.Workload.Interval, sc.Workload.CounterFraction = 480000, scenarios.Duration(20*time.Second), 1
	sc.Workload.SampleRate = scenarios.SampleRate(0.02)
	res, err := runAll(t, context.Background(), sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	again, err := runAll(t, context.Background(), sc, Options{PodWorkers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(encode(t, res), encode(t, again)) {
		t.Fatal("PodWorkers 3 changed the result")
	}
	shared, per := res.Runs[0], res.Runs[1]
	if w := metric(t, shared, "redis_pool_waits"); w == 0 {
		t.Fatal("the shared client's round trips never waited for a connection")
	}
	if w := metric(t, per, "redis_pool_waits"); w != 0 {
		t.Fatalf("per-thread clients waited %v times", w)
	}
	ms, mp := metric(t, shared, "messages_per_second"), metric(t, per, "messages_per_second")
	if mp < 1.3*ms {
		t.Fatalf("per-thread processed %v messages/s, shared %v: want clearly more", mp, ms)
	}
	if ls, lp := metric(t, shared, "consumer_lag_max"), metric(t, per, "consumer_lag_max"); lp*2 >= ls {
		t.Fatalf("lag max: per-thread %v, shared %v", lp, ls)
	}
	for _, rr := range []*RunResult{shared, per} {
		if l := metric(t, rr, "context_lost"); l != 0 {
			t.Fatalf("lost %v contexts", l)
		}
	}
}
