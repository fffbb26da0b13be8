// Package bench holds Spillway's benchmarks (go test -bench). Benchmark names and
// reported units are a contract relied on by CI and the README; extend, never
// rename. Benchmarks that need redis-server start their own on a free loopback
// port and are skipped with a message when it is not installed.
//
//	core:      BenchmarkStoreGetHit, BenchmarkStorePut (ns/op), BenchmarkStoreMemory (bytes/entry),
//	           BenchmarkSpill/{miniredis,redis-server} (keys/s; against redis-server also bare-keys/s and
//	           bare_ratio: bare go-redis pipelined SETs of the same data in the same run, and
//	           redis-benchmark-keys/s and ratio), BenchmarkSpillFencing (keys/s, fenced vs plain),
//	           BenchmarkRestoreBatch/<target>/{keep,take} (keys/s, round-trips/op)
//	simulator: BenchmarkSimScaleIn (msgs/s, speedup, peak_heap_bytes),
//	           BenchmarkSimLarge (msgs/s, wall_s, peak_rss_bytes; ~10 minutes: run it alone),
//	           BenchmarkSweep (speedup of 2 workers over 1, wall1_s, wall2_s, cpu1_s, cpu2_s),
//	           BenchmarkEngine (events/s of an M/M/1 model on the bare event queue)
//	memory:    BenchmarkFootprint/{core-store,core-store-sim,miniredis,redisnode,workload} (bytes/key)
//
//	make bench                          # every benchmark but BenchmarkSimLarge, once
//	make bench BENCH=SimLarge           # the 10 M-key run
//	go test -run '^$' -bench 'BenchmarkSpill' -benchtime 3x ./bench/
package bench
