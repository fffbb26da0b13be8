package bench

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/spillway-sim/spillway/core"
	"github.com/spillway-sim/spillway/sim/engine"
	"github.com/spillway-sim/spillway/sim/redisnode"
	"github.com/spillway-sim/spillway/sim/workload"
)

// footprintKeys is how many keys each BenchmarkFootprint part holds.
const footprintKeys = 200_000

// heapGrowth returns the live heap added by fill, per key, after a full GC.
func heapGrowth(keys int, fill func() any) float64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	keep := fill()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(keep)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(keys)
}

// spilledValue is what a 64-byte context becomes in Redis: the lz4 envelope
// (76-77 bytes, BenchmarkSpill's B/key).
var spilledValue = string(make([]byte, 77))

// simCtx is the simulator's context value: which key and message it is as of
// (sim's ctxVal); its bytes are generated on encode.
type simCtx struct{ Key, Seq uint32 }

type simCtxCodec struct{}

func (simCtxCodec) Append(dst []byte, v simCtx) ([]byte, error) {
	return append(dst, byte(v.Key), byte(v.Seq)), nil
}
func (simCtxCodec) Decode(b []byte) (simCtx, error) { return simCtx{}, nil }

// BenchmarkFootprint says where the simulator's memory goes, per key, in bytes
// of live Go heap (bytes/key): a pod's core.Store entry (64-byte context; and
// the simulator's 8-byte value with its key name counted once), a
// spilled key in miniredis (77-byte value with a TTL), the same key through the
// Redis node model (miniredis plus the model's accounting), and the workload's
// per-key state. BenchmarkSimLarge's peak RSS is about the sum of these times the
// keys each holds at the peak, plus the Go runtime's headroom (GOGC).
func BenchmarkFootprint(b *testing.B) {
	parts := []struct {
		name string
		fill func() any
	}{
		{"core-store", func() any {
			s, err := core.New[[]byte](nil, core.BytesCodec{}, core.Namespace("spill"), core.WithStrategy(core.MemoryOnly))
			if err != nil {
				b.Fatal(err)
			}
			for j := range footprintKeys {
				s.Put(int32(j%24), fmt.Sprintf("dp:%08d", j), context64(j))
			}
			return s
		}},
		{"core-store-sim", func() any {
			s, err := core.New[simCtx](nil, simCtxCodec{}, core.Namespace("spill"), core.WithStrategy(core.MemoryOnly))
			if err != nil {
				b.Fatal(err)
			}
			names := make([]string, footprintKeys) // the simulator names its keys once
			for j := range names {
				names[j] = fmt.Sprintf("dp:%08d", j)
			}
			for j, k := range names {
				s.Put(int32(j%24), k, simCtx{Key: uint32(j), Seq: 1})
			}
			return []any{s, names}
		}},
		{"miniredis", func() any {
			mr := miniredis.NewMiniRedis()
			for j := range footprintKeys {
				k := fmt.Sprintf("{spillway:%d}dp:%08d", j%24, j)
				mr.Set(k, spilledValue)
				mr.SetTTL(k, 10*time.Minute)
			}
			return mr
		}},
		{"redisnode", func() any {
			n, err := redisnode.New(engine.New(1), redisnode.Config{Name: "footprint"})
			if err != nil {
				b.Fatal(err)
			}
			c := n.NewClient(1)
			ctx := context.Background()
			for j := 0; j < footprintKeys; j += 1000 {
				_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
					for i := j; i < j+1000; i++ {
						p.Set(ctx, fmt.Sprintf("{spillway:%d}dp:%08d", i%24, i), spilledValue, 10*time.Minute)
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			return []any{n, c}
		}},
		{"workload", func() any {
			w, err := workload.New(workload.Config{Datapoints: footprintKeys, Interval: time.Minute,
				Jitter: 5 * time.Second, CounterFraction: 0.7, ContextBytes: 64, Partitions: 24},
				engine.New(1).NewRand())
			if err != nil {
				b.Fatal(err)
			}
			return w
		}},
	}
	for _, p := range parts {
		b.Run(p.name, func(b *testing.B) {
			var per float64
			for i := 0; i < b.N; i++ {
				per = heapGrowth(footprintKeys, p.fill)
			}
			b.ReportMetric(per, "bytes/key")
		})
	}
}
