//go:build unix

package workload

import "syscall"

// cpuTime is the user+system CPU time of the process in ns (benchmarks only: on a
// shared machine wall time overstates the cost of a message).
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
