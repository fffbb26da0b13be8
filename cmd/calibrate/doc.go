// Command calibrate measures a real redis-server and writes the constants the
// simulator's Redis models use (package sim/calibration).
//
// It starts its own redis-server (persistence off, debug commands on) on a free
// loopback port in a temporary directory, and measures, in this order:
//   - used_memory per key: 24-byte keys like {spill:12}:dp:0000012345 at several value
//     sizes, with and without a TTL, one FLUSHALL'ed load of -keys keys each;
//   - the loopback round trip of PING and the server CPU per pipelined command of GET,
//     SET .. PX, MGET, DEL and EVALSHA of a multi-key SET script;
//   - latest_fork_usec and the BGSAVE duration of DEBUG POPULATE datasets of -fork-sizes;
//   - rdb_last_cow_size of BGSAVEs of a random-value dataset of -cow-dataset while a
//     client overwrites random keys at each of -cow-rates writes per second.
//   - with -fidelity FILE, the fidelity suite (fidelity.go): for each of
//     -fidelity-sizes, a dataset shaped like the simulator's write-through keys
//     (269-byte values, a TTL each), then per kind (BGSAVE; BGREWRITEAOF with
//     appendonly yes), key pattern (uniform; hot: 90 % of the writes to 1 % of the
//     keys) and rate of -fidelity-rates one fork with four paced pipelining writers,
//     recording the writes acknowledged while the child lived, its lifetime,
//     latest_fork_usec and rdb_last_cow_size / aof_last_cow_size. sim's TestFidelity
//     replays each case and compares (docs/fidelity.md). -fidelity-only skips the rest.
//
// It then fits the constants (calibration.FromMeasurements), prints measured vs model
// with the error in percent, and writes the JSON with -out. Timing numbers depend on
// the machine and its load; memory numbers are exact. The server and its files are
// removed at the end. It must not touch any server it did not start.
//
//	go run ./cmd/calibrate -out sim/calibration/calibration.json   # full: several minutes
//	go run ./cmd/calibrate -fidelity-only -fidelity sim/calibration/fidelity.json  # the fidelity suite: 15-60 minutes
//	go run ./cmd/calibrate -quick                                  # smoke test, about a minute
package main
