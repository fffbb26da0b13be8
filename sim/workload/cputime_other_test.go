//go:build !unix

package workload

// cpuTime is not measured off unix; the cpu-ns/msg metric then reads 0.
func cpuTime() int64 { return 0 }
