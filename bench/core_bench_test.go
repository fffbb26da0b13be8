package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/spillway-sim/spillway/core"
	"github.com/spillway-sim/spillway/internal/redistest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	redistest.Shutdown()
	os.Exit(code)
}

const spillKeys = 100_000

// context64 is a 64-byte counter context: previous raw value, timestamps, ids.
func context64(i int) []byte {
	return []byte(fmt.Sprintf("prev=%016d|ts=1767225600|dp=%08d|host=w%03d|region=eu-1|", i*7919, i, i%512)[:64])
}

type target struct {
	name   string
	client func(b *testing.B) redis.UniversalClient
}

func targets(b *testing.B) []target {
	return []target{
		{"miniredis", func(b *testing.B) redis.UniversalClient {
			mr := miniredis.RunT(b)
			c := redis.NewClient(&redis.Options{Addr: mr.Addr(), DisableIdentity: true, MaintNotificationsConfig: redistest.NoMaint})
			b.Cleanup(func() { c.Close() })
			return c
		}},
		{"redis-server", func(b *testing.B) redis.UniversalClient {
			addr, ok := redistest.Shared(b)
			if !ok {
				b.Skip("redis-server not on PATH")
			}
			c := redistest.Client(addr)
			c.FlushAll(context.Background())
			b.Cleanup(func() { c.Close() })
			return c
		}},
	}
}

func newStore(b *testing.B, rdb redis.UniversalClient, opts ...core.Opt) *core.Store[[]byte] {
	b.Helper()
	s, err := core.New[[]byte](rdb, core.BytesCodec{}, append([]core.Opt{core.Namespace("spill")}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkStoreGetHit(b *testing.B) {
	s := newStore(b, nil, core.WithStrategy(core.MemoryOnly))
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = fmt.Sprintf("dp:%08d", i)
		s.Put(int32(i%24), keys[i], context64(i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i & 4095
		if _, ok := s.Get(int32(j%24), keys[j]); !ok {
			b.Fatal("miss")
		}
	}
}

func BenchmarkStorePut(b *testing.B) {
	s := newStore(b, nil, core.WithStrategy(core.MemoryOnly))
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = fmt.Sprintf("dp:%08d", i)
	}
	v := context64(1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i & 4095
		s.Put(int32(j%24), keys[j], v)
	}
}

// spillOnce fills the store with spillKeys entries over 24 partitions (untimed) and spills them (timed).
func spillOnce(b *testing.B, rdb redis.UniversalClient, s *core.Store[[]byte], keys []string) *core.SpillReport {
	b.StopTimer()
	rdb.FlushAll(context.Background())
	for i, k := range keys {
		s.Put(int32(i%24), k, context64(i))
	}
	b.StartTimer()
	rep, err := s.SpillAll(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	if rep.Written != len(keys) {
		b.Fatalf("wrote %d of %d", rep.Written, len(keys))
	}
	return rep
}

func spillKeyNames() []string {
	keys := make([]string, spillKeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("dp:%08d", i)
	}
	return keys
}

// BenchmarkSpill: 100,000 entries of 64-byte context, lz4, fenced (the defaults).
// Against redis-server it also measures, in the same run and alternating with the
// spill, bare go-redis pipelined SETs of the same keys, values and TTL over the
// same connections and pipeline size (bare-keys/s; bare_ratio = keys/s ÷ that),
// and runs redis-benchmark with the same value size (redis-benchmark-keys/s and
// ratio).
func BenchmarkSpill(b *testing.B) {
	keys := spillKeyNames()
	for _, tg := range targets(b) {
		b.Run(tg.name, func(b *testing.B) {
			rdb := tg.client(b)
			s := newStore(b, rdb, core.TTL(10*time.Minute))
			var rep *core.SpillReport
			var spillTime, bareTime time.Duration
			for i := 0; i < b.N; i++ {
				start := b.Elapsed()
				rep = spillOnce(b, rdb, s, keys)
				spillTime += b.Elapsed() - start
				if tg.name == "redis-server" {
					b.StopTimer()
					bareTime += bareSpill(b, rdb, keys, 8, 1000, 10*time.Minute)
					b.StartTimer()
				}
			}
			b.StopTimer()
			rate := float64(spillKeys*b.N) / spillTime.Seconds() // before redis-benchmark runs: Elapsed would include it
			b.ReportMetric(rate, "keys/s")
			b.ReportMetric(float64(rep.WireBytes)/float64(rep.Written), "B/key")
			if tg.name == "redis-server" {
				bare := float64(spillKeys*b.N) / bareTime.Seconds()
				b.ReportMetric(bare, "bare-keys/s")
				b.ReportMetric(rate/bare, "bare_ratio")
				rb := redisBenchmark(b, rdb, int(rep.WireBytes)/rep.Written)
				if rb > 0 {
					b.ReportMetric(rb, "redis-benchmark-keys/s")
					b.ReportMetric(rate/rb, "ratio")
				}
			}
		})
	}
}

// bareSpill reads back the envelopes the last spill wrote, flushes, and times
// writing them again as a store without fencing would in the best case: plain
// pipelined SETs with PX, batches of batch keys of one partition dealt to
// workers goroutines (batch k to worker k mod workers), as the store deals them.
func bareSpill(b *testing.B, rdb redis.UniversalClient, keys []string, workers, batch int, ttl time.Duration) time.Duration {
	ctx := context.Background()
	type kv struct {
		key string
		val []byte
	}
	var batches [][]kv
	for p := int32(0); p < 24; p++ {
		var part []kv
		for i := int(p); i < len(keys); i += 24 {
			rk := core.RedisKey("spill", p, keys[i])
			v, err := rdb.Get(ctx, rk).Bytes()
			if err != nil {
				b.Fatalf("reading back %s: %v", rk, err)
			}
			part = append(part, kv{rk, v})
		}
		for lo := 0; lo < len(part); lo += batch {
			batches = append(batches, part[lo:min(lo+batch, len(part))])
		}
	}
	rdb.FlushAll(ctx)
	start := time.Now() // wallclock-ok: a benchmark's own timer
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := w; k < len(batches); k += workers {
				_, err := rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
					for _, e := range batches[k] {
						pipe.Set(ctx, e.key, e.val, ttl)
					}
					return nil
				})
				if err != nil {
					b.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start) // wallclock-ok: a benchmark's own timer
}

// BenchmarkSpillFencing measures what fencing costs: a WATCH/MULTI/EXEC
// transaction per batch versus plain pipelined SETs, same data.
func BenchmarkSpillFencing(b *testing.B) {
	keys := spillKeyNames()
	for _, tg := range targets(b) {
		for _, fenced := range []bool{true, false} {
			name := tg.name + "/plain"
			if fenced {
				name = tg.name + "/fenced"
			}
			b.Run(name, func(b *testing.B) {
				rdb := tg.client(b)
				s := newStore(b, rdb, core.Fencing(fenced))
				for i := 0; i < b.N; i++ {
					spillOnce(b, rdb, s, keys)
				}
				b.ReportMetric(float64(spillKeys*b.N)/b.Elapsed().Seconds(), "keys/s")
			})
		}
	}
}

var (
	rbOnce sync.Map // value size → keys/s
	rbRate = regexp.MustCompile(`SET: ([0-9.]+) requests per second`)
)

// redisBenchmark runs `redis-benchmark -t set -P 64 -r 100000 -d size -q` against
// the same server and returns its SET rate (0 when redis-benchmark is missing).
func redisBenchmark(b *testing.B, rdb redis.UniversalClient, size int) float64 {
	if v, ok := rbOnce.Load(size); ok {
		return v.(float64)
	}
	if _, err := exec.LookPath("redis-benchmark"); err != nil {
		b.Log("redis-benchmark not on PATH: no comparison")
		return 0
	}
	addr := rdb.(*redis.Client).Options().Addr
	host, port := addr[:len(addr)-len(portOf(addr))-1], portOf(addr)
	args := []string{"-h", host, "-p", port, "-t", "set", "-P", "64", "-r", "100000", "-d", strconv.Itoa(size), "-n", "1000000", "-q"}
	out, err := exec.Command("redis-benchmark", args...).CombinedOutput()
	if err != nil {
		b.Logf("redis-benchmark: %v: %s", err, out)
		return 0
	}
	m := rbRate.FindSubmatch(out)
	if m == nil {
		b.Logf("redis-benchmark output not understood: %s", out)
		return 0
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	b.Logf("redis-benchmark %v: %.0f SET/s", args, v)
	rbOnce.Store(size, v)
	return v
}

func portOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[i+1:]
		}
	}
	return addr
}

// BenchmarkRestoreBatch: a poll batch of 500 missing keys over 5 partitions,
// restored with KeepOnRestore (keep: one MGET per partition, one round trip) and
// in take mode, the default (take: the MGETs, then one UNLINK per partition of
// the keys read, two round trips). Reports round-trips/op of the Restore alone,
// counted by a hook (take mode re-spills the batch between iterations, off the
// clock and off the count).
func BenchmarkRestoreBatch(b *testing.B) {
	for _, tg := range targets(b) {
		for _, mode := range []struct {
			name  string
			keep  bool
			trips int // round trips per Restore
		}{{name: "keep", keep: true, trips: 1}, {name: "take", trips: 2}} {
			b.Run(tg.name+"/"+mode.name, func(b *testing.B) {
				ctx := context.Background()
				rdb := tg.client(b)
				var trips int
				rdb.AddHook(countHook{&trips})
				s := newStore(b, rdb, core.KeepOnRestore(mode.keep))
				refs := make([]core.KeyRef, 500)
				for i := range refs {
					refs[i] = core.KeyRef{Partition: int32(i % 5), Key: fmt.Sprintf("dp:%08d", i)}
					s.Put(refs[i].Partition, refs[i].Key, context64(i))
				}
				if _, err := s.SpillAll(ctx); err != nil {
					b.Fatal(err)
				}
				restoreTrips := 0
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					before := trips
					rep, err := s.Restore(ctx, refs)
					restoreTrips += trips - before
					if err != nil || rep.Restored != 500 {
						b.Fatalf("restored %d: %v", rep.Restored, err)
					}
					b.StopTimer()
					if mode.keep {
						s.Drop(0, 1, 2, 3, 4)
					} else if rep, err := s.SpillAll(ctx); err != nil || rep.Written != 500 {
						b.Fatalf("re-spill: %+v, %v", rep, err)
					}
					b.StartTimer()
				}
				if restoreTrips != mode.trips*b.N {
					b.Fatalf("%d round trips for %d restores, want %d each", restoreTrips, b.N, mode.trips)
				}
				b.ReportMetric(float64(restoreTrips)/float64(b.N), "round-trips/op")
				b.ReportMetric(500*float64(b.N)/b.Elapsed().Seconds(), "keys/s")
			})
		}
	}
}

type countHook struct{ n *int }

func (h countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if n := cmd.Name(); n != "hello" && n != "client" {
			*h.n++
		}
		return next(ctx, cmd)
	}
}
func (h countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { *h.n++; return next(ctx, cmds) }
}

// BenchmarkStoreMemory reports the local heap cost of 1,000,000 entries of 64-byte
// context with 11-byte keys (bytes/entry: map, key string, value slice, metadata).
func BenchmarkStoreMemory(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s := newStore(b, nil, core.WithStrategy(core.MemoryOnly))
		for j := 0; j < 1_000_000; j++ {
			s.Put(int32(j%24), fmt.Sprintf("dp:%08d", j), context64(j))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1e6, "bytes/entry")
		runtime.KeepAlive(s)
	}
}
