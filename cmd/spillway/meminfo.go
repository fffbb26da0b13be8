package main

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// memAvailable reads MemAvailable from /proc/meminfo: the kernel's estimate of
// memory a new workload can use without swapping. It reports false where the
// file or the line does not exist (not Linux, a kernel before 3.14).
func memAvailable() (int64, bool) {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	return parseMemAvailable(data)
}

// parseMemAvailable finds "MemAvailable: <n> kB" and returns n in bytes.
func parseMemAvailable(data []byte) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, false
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 {
			return 0, false
		}
		return kb * 1024, true
	}
	return 0, false
}
