// Package bench holds Spillway's benchmarks (go test -bench): the core store
// against miniredis and a real redis-server, and (later) the simulator. Benchmark
// names and reported units are a contract relied on by CI and the README; extend,
// never rename. Benchmarks that need redis-server start their own on a free
// loopback port and are skipped with a message when it is not installed.
//
//	make bench                          # every benchmark once
//	go test -run '^$' -bench 'BenchmarkSpill' -benchtime 3x ./bench/
package bench
