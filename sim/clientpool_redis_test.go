package sim

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillway-sim/spillway/internal/redistest"
	"github.com/spillway-sim/spillway/sim/redisnode"
)

// slowConn delays every write by half a round trip: the client's connection
// is held for the whole round trip, as across a network.
type slowConn struct {
	net.Conn
	delay time.Duration
}

func (c slowConn) Write(b []byte) (int, error) {
	time.Sleep(c.delay)
	return c.Conn.Write(b)
}

// TestClientPoolAgainstRedisServer checks the pool model against go-redis and a
// real redis-server: T goroutines ("threads") each run W lanes of sequential
// SETs, across a 2 ms round trip, through one shared client or one client per
// thread, each of pool size P. go-redis's own pool statistics say whether any
// command waited for a connection — the shared pool must, the per-thread ones
// must not, exactly as the replay says — and the measured throughput ratio is
// compared with the replay's. Timing-dependent, so it runs only with
// SPILLWAY_REAL_CLIENTS=1 (and redis-server installed):
//
//	SPILLWAY_REAL_CLIENTS=1 go test -run TestClientPoolAgainstRedisServer -v ./sim
func TestClientPoolAgainstRedisServer(t *testing.T) {
	if os.Getenv("SPILLWAY_REAL_CLIENTS") == "" {
		t.Skip("timing measurement: set SPILLWAY_REAL_CLIENTS=1")
	}
	addr, ok := redistest.Shared(t)
	if !ok {
		t.Skip("no redis-server")
	}
	const (
		threads, lanes, pool = 4, 5, 10
		delay                = 2 * time.Millisecond // the round trip, added on the write
		window               = 3 * time.Second
	)
	newClient := func() *redis.Client {
		return redis.NewClient(&redis.Options{Addr: addr, DisableIdentity: true, MaxRetries: -1, PoolSize: pool,
			MaintNotificationsConfig: redistest.NoMaint, ReadTimeout: 5 * time.Second,
			Dialer: func(ctx context.Context, network, a string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, a)
				if err != nil {
					return nil, err
				}
				return slowConn{Conn: c, delay: delay}, nil
			}})
	}
	measure := func(perThread bool) (opsPerSec float64, waits uint32, rtt time.Duration) {
		clients := []*redis.Client{newClient()}
		if perThread {
			for range threads - 1 {
				clients = append(clients, newClient())
			}
		}
		defer func() {
			for _, c := range clients {
				c.Close()
			}
		}()
		ctx := context.Background()
		for _, c := range clients { // dial the pools, then count only the measured window's waits
			var wg sync.WaitGroup
			for range pool {
				wg.Add(1)
				go func() { defer wg.Done(); c.Ping(ctx) }()
			}
			wg.Wait()
		}
		before := uint32(0)
		for _, c := range clients {
			before += c.PoolStats().WaitCount
		}
		var ops, busy atomic.Int64
		stop := time.Now().Add(window)
		var wg sync.WaitGroup
		for th := range threads {
			c := clients[0]
			if perThread {
				c = clients[th]
			}
			for l := range lanes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; time.Now().Before(stop); i++ {
						start := time.Now()
						if err := c.Set(ctx, fmt.Sprintf("t%d:l%d:%d", th, l, i%1000), "v", 0).Err(); err != nil {
							t.Error(err)
							return
						}
						busy.Add(int64(time.Since(start)))
						ops.Add(1)
					}
				}()
			}
		}
		wg.Wait()
		for _, c := range clients {
			waits += c.PoolStats().WaitCount
		}
		return float64(ops.Load()) / window.Seconds(), waits - before, time.Duration(busy.Load() / max(ops.Load(), 1))
	}
	shared, sharedWaits, sharedCall := measure(false)
	per, perWaits, perCall := measure(true)
	t.Logf("shared: %.0f SET/s, %d waits for a connection, %v per call (with the wait)", shared, sharedWaits, sharedCall)
	t.Logf("per-thread: %.0f SET/s, %d waits, %v per call", per, perWaits, perCall)
	if sharedWaits == 0 || perWaits != 0 {
		t.Fatalf("go-redis waits: shared %d (want > 0), per-thread %d (want 0)", sharedWaits, perWaits)
	}
	// The replay of the same shape: every lane's calls take the uncontended round
	// trip measured per thread.
	n := 200
	traced := make([][]redisnode.TracedCall, lanes)
	for l := range traced {
		traced[l] = calls(threads*n, perCall, 0)
	}
	endShared, st := replay(0, traced, threads, pool, false)
	endPer, stPer := replay(0, traced, threads, pool, true)
	model := float64(endShared) / float64(endPer)
	measured := per / shared
	t.Logf("throughput ratio per-thread/shared: measured %.2f, model %.2f (model waits %d vs %d)", measured, model, st.waits, stPer.waits)
	if stPer.waits != 0 || st.waits == 0 {
		t.Fatalf("model waits: shared %d, per-thread %d", st.waits, stPer.waits)
	}
	if measured < 0.75*model || measured > 1.25*model {
		t.Fatalf("measured ratio %.2f is more than 25 %% from the model's %.2f", measured, model)
	}
}
