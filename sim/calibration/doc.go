// Package calibration holds the constants the simulator's Redis models are built on,
// measured against a real redis-server, and the pure model functions that predict
// from them: used_memory per key (Redis 7 allocations rounded to jemalloc size
// classes), RSS through a fragmentation ratio, per-command service time, fork time,
// snapshot (BGSAVE) duration and fork copy-on-write.
//
// It owns the shipped calibration.json (written by cmd/calibrate, embedded here) and
// the fitting functions that turn raw measurements into constants, so that the
// constants in the file can always be re-derived from the measurements beside them.
//
// It must not do I/O beyond decoding the embedded file, read the wall clock, or use
// randomness: every function is deterministic. It imports only the standard library.
// The measuring itself lives in cmd/calibrate (a tool, free to use wall time).
//
//	c := calibration.Default()
//	used := c.UsedMemory(100_000, 24, 96, true)         // bytes of used_memory
//	rss := c.RSSBytes(used)                              // bytes resident
//	svc := c.ServiceTime(calibration.OpMGet, 100, 9600)  // one MGET of 100 keys
//	stall := c.ForkTime(used)                            // parent blocked in fork()
//	shape := calibration.KeyShape{KeyBytes: 24, ValueBytes: 96, TTL: true}
//	cow := c.ExpectedCOW(shape, 100_000, 20_000, c.COW.PageSizeBytes) // 20k writes during the save
//	_ = c.SnapshotDuration(used)                         // how long the child lives
package calibration
