package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spillway-sim/spillway/sim/calibration"
	"github.com/spillway-sim/spillway/sim/workload"
)

// The fidelity suite (-fidelity FILE): BGSAVEs and AOF rewrites of datasets shaped
// like the simulator's write-through keys while paced writers overwrite them, so
// that the simulator can replay each case and be compared with the server (sim's
// TestFidelity, docs/fidelity.md).
const (
	// fidelityPartitions is the partition count of the replayed scenarios: key id k
	// is named as the core names a datapoint of partition k mod fidelityPartitions.
	fidelityPartitions = 24
	// fidelityContextBytes is the replayed scenarios' context; with compression none
	// the core's envelope adds 13 bytes (version, flags, a 1-byte generation, a
	// 4-byte as-of time, a 2-byte length and the CRC: core/envelope.go).
	fidelityContextBytes = 256
	envelopeOverhead     = 13
	// The hot pattern: 90 % of the writes go to 1 % of the keys.
	hotKeyFraction   = 0.01
	hotWriteFraction = 0.9
	// fidelityWriters is the number of pipelining connections the writes are spread
	// over (one cannot sustain 50 k/s while a child competes for the CPUs).
	fidelityWriters = 4
)

// fidelityKey is key id's name: the core's Redis key of datapoint id in partition
// id mod fidelityPartitions ("{spill:7}:dp:00000031").
func fidelityKey(id int64) string {
	return workload.RedisKey(int32(id%fidelityPartitions), workload.WideKey(uint64(id), 8))
}

// bigDataset is the used memory from which a dataset's cases run at the big-dataset
// rates only: on the shared 2-CPU VM a 2 GiB child lives minutes.
const bigDataset = 1 << 30

// fidelityRuns measures every (dataset, kind, pattern, rate) case: one load per
// dataset size, then for each kind and pattern one fork per rate (bigRates for
// datasets of bigDataset and more). It calls done with the cases so far after each
// one, so an interrupted run keeps what it measured.
func (b *bench) fidelityRuns(ctx context.Context, c calibration.Calibration, sizes []int64, rates, bigRates []int,
	done func([]calibration.FidelityCase) error) ([]calibration.FidelityCase, error) {
	var out []calibration.FidelityCase
	valueBytes := fidelityContextBytes + envelopeOverhead
	for _, size := range sizes {
		rates := rates
		if size >= bigDataset {
			rates = bigRates
		}
		if err := b.flush(ctx); err != nil {
			return nil, err
		}
		base, _, err := b.memory(ctx)
		if err != nil {
			return nil, err
		}
		keyLen := len(fidelityKey(fidelityPartitions - 1))
		perKey := c.UsedMemoryPerKey(keyLen, valueBytes, true) + 24 // + both dict tables
		keys := max((size-base)/perKey, 1)
		b.logf("fidelity: dataset %s: loading %d keys of %d-byte values with a TTL", joinSizes([]int64{size}), keys, valueBytes)
		if err := b.load(ctx, fidelityKey, keys, valueBytes, true); err != nil {
			return nil, err
		}
		for _, kind := range []string{calibration.KindBGSave, calibration.KindAOFRewrite} {
			if kind == calibration.KindAOFRewrite {
				if err := b.enableAOF(ctx); err != nil {
					return nil, err
				}
			}
			for _, pattern := range []string{calibration.PatternUniform, calibration.PatternHot} {
				for _, rate := range rates {
					fc := calibration.FidelityCase{
						Name: fmt.Sprintf("%s/%s/%s/%d", kind, joinSizes([]int64{size}), pattern, rate),
						Kind: kind, Pattern: pattern, Keys: keys, Partitions: fidelityPartitions,
						ContextBytes: fidelityContextBytes, ValueBytes: valueBytes, TargetWritesPerSec: rate,
					}
					if pattern == calibration.PatternHot {
						fc.HotKeyFraction, fc.HotWriteFraction = hotKeyFraction, hotWriteFraction
					}
					if err := b.fidelityCase(ctx, &fc); err != nil {
						return nil, fmt.Errorf("%s: %w", fc.Name, err)
					}
					out = append(out, fc)
					if err := done(out); err != nil {
						return nil, err
					}
					b.logf("  %-28s writes %8d (%6.0f/s)  used %7.1f MiB  fork %6.2f ms  child %6.2f s  cow %7.1f MiB",
						fc.Name, fc.Writes, fc.WritesPerSec(), mib(fc.UsedBytes), float64(fc.ForkUsec)/1e3,
						float64(fc.ChildNanos)/1e9, mib(fc.COWBytes))
				}
			}
			if kind == calibration.KindAOFRewrite {
				if err := b.ctl.ConfigSet(ctx, "appendonly", "no").Err(); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, b.flush(ctx)
}

// enableAOF turns appendonly on with automatic rewrites off and waits for the
// rewrite that turning it on starts.
func (b *bench) enableAOF(ctx context.Context) error {
	if err := b.ctl.ConfigSet(ctx, "auto-aof-rewrite-percentage", "0").Err(); err != nil {
		return err
	}
	if err := b.ctl.ConfigSet(ctx, "appendonly", "yes").Err(); err != nil {
		return err
	}
	_, err := b.waitChild(ctx, "aof_rewrite_in_progress", "aof_rewrite_scheduled")
	return err
}

// waitChild polls INFO persistence every 10 ms until every flag field is 0, and
// returns the last INFO.
func (b *bench) waitChild(ctx context.Context, flags ...string) (info, error) {
	for {
		p, err := b.info(ctx, "persistence")
		if err != nil {
			return nil, err
		}
		busy := false
		for _, f := range flags {
			busy = busy || p[f] != "0"
		}
		if !busy {
			return p, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fidelityCase forks once (BGSAVE or BGREWRITEAOF) with the case's writers running
// and fills in what the server reported.
func (b *bench) fidelityCase(ctx context.Context, fc *calibration.FidelityCase) error {
	used, rss, err := b.settledMemory(ctx)
	if err != nil {
		return err
	}
	fc.UsedBytes, fc.RSSBytes = used, rss
	if err := b.srv.removeRDB(); err != nil {
		return err
	}
	w := b.startPatternWriter(ctx, *fc)
	time.Sleep(300 * time.Millisecond) // reach the paced rate before the fork
	var fork error
	if fc.Kind == calibration.KindBGSave {
		fork = b.ctl.BgSave(ctx).Err()
	} else {
		fork = b.ctl.BgRewriteAOF(ctx).Err()
	}
	t0 := time.Now()
	a0 := w.acked.Load()
	var p info
	if fork == nil {
		p, fork = b.waitChild(ctx, "rdb_bgsave_in_progress", "aof_rewrite_in_progress")
	}
	fc.ChildNanos = int64(time.Since(t0))
	fc.Writes = w.acked.Load() - a0
	if err := errors.Join(fork, w.finish()); err != nil {
		return err
	}
	status, cow := "rdb_last_bgsave_status", "rdb_last_cow_size"
	if fc.Kind == calibration.KindAOFRewrite {
		status, cow = "aof_last_bgrewrite_status", "aof_last_cow_size"
	}
	if p[status] != "ok" {
		return fmt.Errorf("%s=%s (see %s)", status, p[status], b.srv.dir)
	}
	if fc.COWBytes, err = p.int(cow); err != nil {
		return err
	}
	st, err := b.info(ctx, "stats")
	if err != nil {
		return err
	}
	if fc.ForkUsec, err = st.int("latest_fork_usec"); err != nil {
		return err
	}
	return b.srv.removeRDB()
}

// patternWriter is fidelityWriters paced connections overwriting keys of a case's
// pattern until stopped.
type patternWriter struct {
	acked atomic.Int64
	stop  chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	err   error
}

// pickKey draws a key id of the case's pattern.
func pickKey(fc calibration.FidelityCase, rng *rand.Rand) int64 {
	if fc.Pattern != calibration.PatternHot {
		return rng.Int64N(fc.Keys)
	}
	stride := calibration.HotStride(fc.HotKeyFraction)
	hot := (fc.Keys + stride - 1) / stride
	if rng.Float64() < fc.HotWriteFraction {
		return rng.Int64N(hot) * stride
	}
	for {
		if id := rng.Int64N(fc.Keys); id%stride != 0 {
			return id
		}
	}
}

// startPatternWriter starts the writers: each SETs key ids drawn by pickKey to
// random values of the case's length with PX ttlMillis, in pipelines every 5 ms,
// at TargetWritesPerSec / fidelityWriters.
func (b *bench) startPatternWriter(ctx context.Context, fc calibration.FidelityCase) *patternWriter {
	w := &patternWriter{stop: make(chan struct{})}
	vals := b.randomValues(256, fc.ValueBytes)
	c := newClient(b.srv.addr, fidelityWriters)
	rate := float64(fc.TargetWritesPerSec) / fidelityWriters
	for range fidelityWriters {
		rng := rand.New(rand.NewPCG(b.rng.Uint64(), 5))
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			t0 := time.Now()
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			var sent int64
			for {
				select {
				case <-w.stop:
					return
				case <-tick.C:
				}
				due := min(int64(rate*time.Since(t0).Seconds())-sent, 5000)
				if due <= 0 {
					continue
				}
				pipe := c.Pipeline()
				for range due {
					pipe.Do(ctx, "SET", fidelityKey(pickKey(fc, rng)), vals[rng.IntN(len(vals))], "PX", ttlMillis)
				}
				if _, err := pipe.Exec(ctx); err != nil {
					w.mu.Lock()
					w.err = errors.Join(w.err, fmt.Errorf("writer: %w", err))
					w.mu.Unlock()
					return
				}
				sent += due
				w.acked.Add(due)
			}
		}()
	}
	go func() { w.wg.Wait(); c.Close() }()
	return w
}

// finish stops the writers and returns their errors.
func (w *patternWriter) finish() error {
	close(w.stop)
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
