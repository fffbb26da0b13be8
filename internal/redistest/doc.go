// Package redistest starts real redis-server processes for tests and benchmarks:
// a shared single node on a free loopback port, and Redis Clusters. Callers skip
// (with a message saying so) when the binaries are not on PATH; CI installs them.
//
//	func TestMain(m *testing.M) { code := m.Run(); redistest.Shutdown(); os.Exit(code) }
//	addr, ok := redistest.Shared(t) // ok false: redis-server missing, already logged
package redistest
