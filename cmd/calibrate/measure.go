package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillway-sim/spillway/sim/calibration"
	"github.com/spillway-sim/spillway/sim/workload"
)

// ttlMillis is the TTL of keys written with one: long enough that nothing expires
// during a calibration.
const ttlMillis = 3_600_000

// spillScript SETs every KEYS[i] to ARGV[i] with PX ARGV[#ARGV], like a batch spill.
const spillScript = `local ttl = ARGV[#ARGV]
for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[i], 'PX', ttl) end
return #KEYS`

// key gives the 24-byte keys of the used-memory and COW datasets, shaped like
// the core's spill keys (workload.RedisKey) with 10 digits: "{spill:12}:dp:0000012345".
func key(i int64) string { return workload.RedisKey(12, workload.WideKey(uint64(i), 10)) }

// bench runs the measurements against one server.
type bench struct {
	srv *server
	ctl *redis.Client // control connection: INFO, FLUSHALL, BGSAVE, DEBUG
	rng *rand.Rand    // workload randomness (keys, values), seeded
	log io.Writer
}

func newBench(srv *server, seed uint64, log io.Writer) *bench {
	return &bench{srv: srv, ctl: newClient(srv.addr, 1), rng: rand.New(rand.NewPCG(seed, 0xca11b)), log: log}
}

func (b *bench) close() { b.ctl.Close() }

func (b *bench) logf(format string, args ...any) { fmt.Fprintf(b.log, format+"\n", args...) }

// info fetches and parses one INFO section.
func (b *bench) info(ctx context.Context, section string) (info, error) {
	s, err := b.ctl.Info(ctx, section).Result()
	if err != nil {
		return nil, fmt.Errorf("INFO %s: %w", section, err)
	}
	return parseInfo(s), nil
}

// memory returns used_memory and used_memory_rss.
func (b *bench) memory(ctx context.Context) (used, rss int64, err error) {
	m, err := b.info(ctx, "memory")
	if err != nil {
		return 0, 0, err
	}
	if used, err = m.int("used_memory"); err != nil {
		return 0, 0, err
	}
	rss, err = m.int("used_memory_rss")
	return used, rss, err
}

// settledMemory polls used_memory every 100 ms until three reads in a row agree (dict
// rehashing and client query buffers have settled) or 10 s pass.
func (b *bench) settledMemory(ctx context.Context) (used, rss int64, err error) {
	deadline := time.Now().Add(10 * time.Second)
	same := 0
	var prev int64 = -1
	for {
		used, rss, err = b.memory(ctx)
		if err != nil {
			return 0, 0, err
		}
		if used == prev {
			same++
		} else {
			same = 0
		}
		prev = used
		if same >= 2 || time.Now().After(deadline) {
			return used, rss, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// flush empties the server synchronously.
func (b *bench) flush(ctx context.Context) error {
	return b.ctl.Do(ctx, "FLUSHALL", "SYNC").Err()
}

// serverCPU is the main thread's user+sys CPU time (falls back to the process's).
func (b *bench) serverCPU(ctx context.Context) (time.Duration, error) {
	m, err := b.info(ctx, "cpu")
	if err != nil {
		return 0, err
	}
	sys, err1 := m.float("used_cpu_sys_main_thread")
	usr, err2 := m.float("used_cpu_user_main_thread")
	if err1 != nil || err2 != nil {
		if sys, err = m.float("used_cpu_sys"); err != nil {
			return 0, err
		}
		if usr, err = m.float("used_cpu_user"); err != nil {
			return 0, err
		}
	}
	return time.Duration((sys + usr) * 1e9), nil
}

// randomValues returns n random (incompressible) values of size bytes each.
func (b *bench) randomValues(n, size int) [][]byte {
	src := b.chacha()
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, size)
		_, _ = src.Read(out[i]) // ChaCha8.Read never fails
	}
	return out
}

// chacha draws a ChaCha8 byte source from the bench's seeded generator.
func (b *bench) chacha() *rand.ChaCha8 {
	var seed [32]byte
	for i := 0; i < 32; i += 8 {
		x := b.rng.Uint64()
		for k := range 8 {
			seed[i+k] = byte(x >> (8 * k))
		}
	}
	return rand.NewChaCha8(seed)
}

// load SETs keys [0, n) named by name, each to a fresh random value of valueBytes
// (with PX ttlMillis when ttl), through two pipelining connections.
func (b *bench) load(ctx context.Context, name func(int64) string, n int64, valueBytes int, ttl bool) error {
	const batch = 1000
	const workers = 2
	c := newClient(b.srv.addr, workers)
	defer c.Close()
	srcs := [workers]*rand.ChaCha8{b.chacha(), b.chacha()}
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, batch*valueBytes)
			for start := int64(w) * batch; start < n; start += workers * batch {
				end := min(start+batch, n)
				_, _ = srcs[w].Read(buf) // ChaCha8.Read never fails
				pipe := c.Pipeline()
				for i := start; i < end; i++ {
					off := int(i-start) * valueBytes
					v := buf[off : off+valueBytes]
					if ttl {
						pipe.Do(ctx, "SET", name(i), v, "PX", ttlMillis)
					} else {
						pipe.Do(ctx, "SET", name(i), v)
					}
				}
				if _, err := pipe.Exec(ctx); err != nil {
					errs[w] = fmt.Errorf("load keys %d..%d: %w", start, end, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// usedMemoryRun loads n keys into an empty server and reports the used_memory delta.
func (b *bench) usedMemoryRun(ctx context.Context, n int64, valueBytes int, ttl bool) (calibration.UsedMemoryRun, error) {
	r := calibration.UsedMemoryRun{Keys: n, KeyBytes: len(key(0)), ValueBytes: valueBytes, TTL: ttl}
	if err := b.flush(ctx); err != nil {
		return r, err
	}
	var err error
	if r.UsedBeforeBytes, _, err = b.settledMemory(ctx); err != nil {
		return r, err
	}
	if err := b.load(ctx, key, n, valueBytes, ttl); err != nil {
		return r, err
	}
	if r.UsedAfterBytes, r.RSSAfterBytes, err = b.settledMemory(ctx); err != nil {
		return r, err
	}
	if got, err := b.ctl.DBSize(ctx).Result(); err != nil || got != n {
		return r, fmt.Errorf("after loading %d keys DBSIZE = %d (%v)", n, got, err)
	}
	r.PerKeyBytes = math.Round(float64(r.UsedAfterBytes-r.UsedBeforeBytes)/float64(n)*1e3) / 1e3
	return r, nil
}

// rttRun times samples non-pipelined PINGs after a warm-up.
func (b *bench) rttRun(ctx context.Context, samples int) (calibration.RTTRun, error) {
	c := newClient(b.srv.addr, 1)
	defer c.Close()
	for range 100 {
		if err := c.Ping(ctx).Err(); err != nil {
			return calibration.RTTRun{}, err
		}
	}
	d := make([]int64, samples)
	var sum int64
	for i := range d {
		t0 := time.Now()
		if err := c.Ping(ctx).Err(); err != nil {
			return calibration.RTTRun{}, err
		}
		d[i] = int64(time.Since(t0))
		sum += d[i]
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return calibration.RTTRun{
		Samples:   samples,
		P50Nanos:  d[samples/2],
		P99Nanos:  d[min(samples-1, samples*99/100)],
		MeanNanos: sum / int64(samples),
	}, nil
}

// serviceShape is one command shape to time.
type serviceShape struct {
	op         calibration.OpKind
	keys       int
	valueBytes int
}

// serviceShapes lists the shapes cmd/calibrate times, in order.
func serviceShapes() []serviceShape {
	var s []serviceShape
	for _, v := range []int{16, 256, 1024, 4096} {
		s = append(s, serviceShape{calibration.OpGet, 1, v})
	}
	for _, v := range []int{16, 256, 1024, 4096} {
		s = append(s, serviceShape{calibration.OpSetPX, 1, v})
	}
	for _, k := range []int{1, 10, 100} {
		for _, v := range []int{64, 1024} {
			s = append(s, serviceShape{calibration.OpMGet, k, v})
		}
	}
	for _, k := range []int{1, 10, 100} {
		s = append(s, serviceShape{calibration.OpDel, k, 64})
	}
	for _, k := range []int{1, 10, 100} {
		for _, v := range []int{64, 1024} {
			s = append(s, serviceShape{calibration.OpEvalSHA, k, v})
		}
	}
	return s
}

// serviceRun times one shape: about keyOps keys' worth of commands, pipelined, on a
// pool of poolKeys keys (DEL deletes a freshly loaded set instead).
func (b *bench) serviceRun(ctx context.Context, sh serviceShape, keyOps int64, poolKeys int64) (calibration.ServiceRun, error) {
	cmds := max(keyOps/int64(sh.keys), 200)
	pipeline := min(max(1000/sh.keys, 10), 100)
	r := calibration.ServiceRun{Op: sh.op, KeysPerCmd: sh.keys, ValueBytes: sh.valueBytes,
		BytesPerCmd: sh.keys * sh.valueBytes, Commands: cmds, Pipeline: pipeline}
	if err := b.flush(ctx); err != nil {
		return r, err
	}
	poolName := func(i int64) string { return fmt.Sprintf("svc:%010d", i) }
	if sh.op == calibration.OpDel {
		poolKeys = cmds * int64(sh.keys)
	}
	if err := b.load(ctx, poolName, poolKeys, sh.valueBytes, false); err != nil {
		return r, err
	}
	c := newClient(b.srv.addr, 1)
	defer c.Close()
	var sha string
	if sh.op == calibration.OpEvalSHA {
		var err error
		if sha, err = c.ScriptLoad(ctx, spillScript).Result(); err != nil {
			return r, fmt.Errorf("SCRIPT LOAD: %w", err)
		}
	}
	vals := b.randomValues(64, sh.valueBytes)
	rng := rand.New(rand.NewPCG(b.rng.Uint64(), 2))
	var delNext int64
	queue := func(pipe redis.Pipeliner) {
		switch sh.op {
		case calibration.OpGet:
			pipe.Get(ctx, poolName(rng.Int64N(poolKeys)))
		case calibration.OpSetPX:
			pipe.Do(ctx, "SET", poolName(rng.Int64N(poolKeys)), vals[rng.IntN(len(vals))], "PX", ttlMillis)
		case calibration.OpMGet:
			ks := make([]string, sh.keys)
			for i := range ks {
				ks[i] = poolName(rng.Int64N(poolKeys))
			}
			pipe.MGet(ctx, ks...)
		case calibration.OpDel:
			ks := make([]string, sh.keys)
			for i := range ks {
				ks[i] = poolName(delNext)
				delNext++
			}
			pipe.Del(ctx, ks...)
		case calibration.OpEvalSHA:
			ks := make([]string, sh.keys)
			args := make([]any, sh.keys+1)
			for i := range ks {
				ks[i] = poolName(rng.Int64N(poolKeys))
				args[i] = vals[rng.IntN(len(vals))]
			}
			args[sh.keys] = ttlMillis
			pipe.EvalSha(ctx, sha, ks, args...)
		}
	}
	// Warm up the connection and the server's caches (not for DEL: it would eat keys).
	if sh.op != calibration.OpDel {
		pipe := c.Pipeline()
		for range pipeline {
			queue(pipe)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return r, fmt.Errorf("%s warm-up: %w", sh.op, err)
		}
	}
	cpu0, err := b.serverCPU(ctx)
	if err != nil {
		return r, err
	}
	t0 := time.Now()
	for done := int64(0); done < cmds; {
		n := min(int64(pipeline), cmds-done)
		pipe := c.Pipeline()
		for range n {
			queue(pipe)
		}
		cmdsOut, err := pipe.Exec(ctx)
		if err != nil && !errors.Is(err, redis.Nil) {
			return r, fmt.Errorf("%s: %w", sh.op, err)
		}
		for _, cmd := range cmdsOut {
			if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) {
				return r, fmt.Errorf("%s: %w", sh.op, err)
			}
		}
		done += n
	}
	wall := time.Since(t0)
	cpu1, err := b.serverCPU(ctx)
	if err != nil {
		return r, err
	}
	r.WallNanosPerCmd = math.Round(float64(wall)/float64(cmds)*10) / 10
	r.ServerCPUNanosPerCmd = math.Round(float64(cpu1-cpu0)/float64(cmds)*10) / 10
	return r, nil
}

// saveResult is what one BGSAVE reports.
type saveResult struct {
	forkUsec  int64
	saveNanos int64
	cowBytes  int64
	rdbBytes  int64
}

// bgsave runs one BGSAVE and waits for the child, polling INFO persistence every
// 10 ms. afterFork, if set, runs as soon as BGSAVE has replied (fork done); beforeEnd
// runs right after the child is seen finished.
func (b *bench) bgsave(ctx context.Context, afterFork, beforeEnd func()) (saveResult, error) {
	var res saveResult
	if err := b.srv.removeRDB(); err != nil {
		return res, err
	}
	p0, err := b.info(ctx, "persistence")
	if err != nil {
		return res, err
	}
	saves0, _ := p0.int("rdb_saves")
	if err := b.ctl.BgSave(ctx).Err(); err != nil {
		return res, fmt.Errorf("BGSAVE: %w", err)
	}
	t0 := time.Now()
	if afterFork != nil {
		afterFork()
	}
	var p info
	for {
		if p, err = b.info(ctx, "persistence"); err != nil {
			return res, err
		}
		if p["rdb_bgsave_in_progress"] == "0" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	res.saveNanos = int64(time.Since(t0))
	if beforeEnd != nil {
		beforeEnd()
	}
	if p["rdb_last_bgsave_status"] != "ok" {
		return res, fmt.Errorf("BGSAVE failed: rdb_last_bgsave_status=%s (see %s)", p["rdb_last_bgsave_status"], b.srv.dir)
	}
	if saves, _ := p.int("rdb_saves"); saves != saves0+1 {
		return res, fmt.Errorf("BGSAVE: rdb_saves went %d -> %d", saves0, saves)
	}
	if res.cowBytes, err = p.int("rdb_last_cow_size"); err != nil {
		return res, err
	}
	st, err := b.info(ctx, "stats")
	if err != nil {
		return res, err
	}
	if res.forkUsec, err = st.int("latest_fork_usec"); err != nil {
		return res, err
	}
	if fi, err := os.Stat(b.srv.rdbPath()); err == nil {
		res.rdbBytes = fi.Size()
	}
	return res, b.srv.removeRDB()
}

// forkRuns grows a DEBUG POPULATE dataset (zero-padded values of valueBytes, which
// LZF compresses well) through the target used-memory sizes and BGSAVEs it repeats
// times at each.
func (b *bench) forkRuns(ctx context.Context, c calibration.Calibration, sizes []int64, valueBytes, repeats int) ([]calibration.ForkRun, error) {
	if err := b.flush(ctx); err != nil {
		return nil, err
	}
	var out []calibration.ForkRun
	chunk := 0
	for _, target := range sizes {
		used, _, err := b.memory(ctx)
		if err != nil {
			return nil, err
		}
		perKey := c.UsedMemoryPerKey(len("f000:0000000"), valueBytes, false) + 8
		need := max((target-used)/perKey, 0)
		for need > 0 {
			n := min(need, 500_000)
			if err := b.ctl.Do(ctx, "DEBUG", "POPULATE", n, fmt.Sprintf("f%03d", chunk), valueBytes).Err(); err != nil {
				return nil, fmt.Errorf("DEBUG POPULATE: %w", err)
			}
			chunk++
			need -= n
		}
		used, rss, err := b.settledMemory(ctx)
		if err != nil {
			return nil, err
		}
		keys, err := b.ctl.DBSize(ctx).Result()
		if err != nil {
			return nil, err
		}
		for range repeats {
			s, err := b.bgsave(ctx, nil, nil)
			if err != nil {
				return nil, err
			}
			out = append(out, calibration.ForkRun{Keys: keys, ValueBytes: valueBytes, Compressible: true,
				UsedBytes: used, RSSBytes: rss, ForkUsec: s.forkUsec, SaveNanos: s.saveNanos,
				RDBBytes: s.rdbBytes, COWBytes: s.cowBytes})
			b.logf("  fork: used %7.1f MiB  fork %6.2f ms  save %6.2f s  cow %6.1f MiB",
				mib(used), float64(s.forkUsec)/1e3, float64(s.saveNanos)/1e9, mib(s.cowBytes))
		}
	}
	return out, b.flush(ctx)
}

// writer overwrites random keys of [0, keys) at a paced rate until stopped.
type writer struct {
	acked atomic.Int64
	stop  chan struct{}
	done  chan error
}

// startWriter starts a client that overwrites random keys of the dataset with random
// values of valueBytes (SET, with PX when ttl) at rate writes per second, in small
// pipelines every 5 ms.
func (b *bench) startWriter(ctx context.Context, rate int, keys int64, valueBytes int, ttl bool) *writer {
	w := &writer{stop: make(chan struct{}), done: make(chan error, 1)}
	vals := b.randomValues(256, valueBytes)
	rng := rand.New(rand.NewPCG(b.rng.Uint64(), 3))
	c := newClient(b.srv.addr, 1)
	go func() {
		defer c.Close()
		t0 := time.Now()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var sent int64
		for {
			select {
			case <-w.stop:
				w.done <- nil
				return
			case <-tick.C:
			}
			due := int64(float64(rate)*time.Since(t0).Seconds()) - sent
			due = min(due, 5000)
			if due <= 0 {
				continue
			}
			pipe := c.Pipeline()
			for range due {
				k, v := key(rng.Int64N(keys)), vals[rng.IntN(len(vals))]
				if ttl {
					pipe.Do(ctx, "SET", k, v, "PX", ttlMillis)
				} else {
					pipe.Do(ctx, "SET", k, v)
				}
			}
			if _, err := pipe.Exec(ctx); err != nil {
				w.done <- fmt.Errorf("writer: %w", err)
				return
			}
			sent += due
			w.acked.Add(due)
		}
	}()
	return w
}

// finish stops the writer and returns its error.
func (w *writer) finish() error {
	close(w.stop)
	return <-w.done
}

// cowShape is one COW dataset: value size and whether keys have a TTL.
type cowShape struct {
	valueBytes int
	ttl        bool
}

// cowRuns loads a dataset of about datasetBytes used memory (24-byte keys, random
// values of sh.valueBytes, a TTL each if sh.ttl) and BGSAVEs it once per write rate,
// with a writer overwriting random keys during each save.
func (b *bench) cowRuns(ctx context.Context, c calibration.Calibration, datasetBytes int64, sh cowShape, rates []int) ([]calibration.COWRun, error) {
	valueBytes := sh.valueBytes
	if err := b.flush(ctx); err != nil {
		return nil, err
	}
	base, _, err := b.memory(ctx)
	if err != nil {
		return nil, err
	}
	keyLen := len(key(0))
	// Per key plus about 12 bytes of dict table (the table is a power of two >= keys).
	perKey := c.UsedMemoryPerKey(keyLen, valueBytes, sh.ttl) + 12
	if sh.ttl {
		perKey += 12
	}
	keys := max((datasetBytes-base)/perKey, 1)
	b.logf("  cow: loading %d keys of %d-byte random values (ttl %v)", keys, valueBytes, sh.ttl)
	if err := b.load(ctx, key, keys, valueBytes, sh.ttl); err != nil {
		return nil, err
	}
	if _, _, err := b.settledMemory(ctx); err != nil {
		return nil, err
	}
	var out []calibration.COWRun
	for _, rate := range rates {
		used, rss, err := b.memory(ctx)
		if err != nil {
			return nil, err
		}
		run := calibration.COWRun{TargetWritesPerSec: rate, Keys: keys, KeyBytes: keyLen, ValueBytes: valueBytes,
			TTL: sh.ttl, UsedBytes: used, RSSBytes: rss}
		var w *writer
		var a0, a1 int64
		if rate > 0 {
			w = b.startWriter(ctx, rate, keys, valueBytes, sh.ttl)
			time.Sleep(200 * time.Millisecond) // reach the paced rate before the fork
		}
		s, err := b.bgsave(ctx,
			func() {
				if w != nil {
					a0 = w.acked.Load()
				}
			},
			func() {
				if w != nil {
					a1 = w.acked.Load()
				}
			})
		var werr error
		if w != nil {
			werr = w.finish()
		}
		if err := errors.Join(err, werr); err != nil {
			return nil, err
		}
		run.Writes = a1 - a0
		run.ForkUsec, run.SaveNanos, run.RDBBytes, run.COWBytes = s.forkUsec, s.saveNanos, s.rdbBytes, s.cowBytes
		out = append(out, run)
		b.logf("  cow: rate %6d/s  writes %8d  fork %6.2f ms  save %6.2f s  cow %7.1f MiB", rate, run.Writes,
			float64(run.ForkUsec)/1e3, float64(run.SaveNanos)/1e9, mib(run.COWBytes))
	}
	return out, b.flush(ctx)
}

// machineFromServer fills the machine fields that come from Redis.
func (b *bench) machineFromServer(ctx context.Context, m *calibration.Machine) error {
	srv, err := b.info(ctx, "server")
	if err != nil {
		return err
	}
	mem, err := b.info(ctx, "memory")
	if err != nil {
		return err
	}
	m.RedisVersion = srv["redis_version"]
	m.MemAllocator = mem["mem_allocator"]
	v, err := b.ctl.ConfigGet(ctx, "disable-thp").Result()
	if err == nil {
		m.RedisDisableTHP = v["disable-thp"]
	}
	if m.RedisDisableTHP == "" {
		m.RedisDisableTHP = "unknown"
	}
	return nil
}

// sizeClasses reads jemalloc's small size classes from MEMORY MALLOC-STATS.
func (b *bench) sizeClasses(ctx context.Context) ([]int64, error) {
	s, err := b.ctl.Do(ctx, "MEMORY", "MALLOC-STATS").Text()
	if err != nil {
		return nil, fmt.Errorf("MEMORY MALLOC-STATS: %w", err)
	}
	return mallocClasses(s), nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
