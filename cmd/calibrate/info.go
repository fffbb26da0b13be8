package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/spillway-sim/spillway/sim/calibration"
)

// info is one parsed INFO reply: field name -> value.
type info map[string]string

// parseInfo parses the text of an INFO reply ("# Section" headers, "name:value" lines,
// CRLF or LF line ends).
func parseInfo(text string) info {
	m := info{}
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		m[k] = v
	}
	return m
}

// int returns field k as an integer, or an error naming the field.
func (m info) int(k string) (int64, error) {
	v, ok := m[k]
	if !ok {
		return 0, fmt.Errorf("INFO has no field %q", k)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("INFO field %s=%q: %w", k, v, err)
	}
	return n, nil
}

// float returns field k as a float, or an error naming the field.
func (m info) float(k string) (float64, error) {
	v, ok := m[k]
	if !ok {
		return 0, fmt.Errorf("INFO has no field %q", k)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("INFO field %s=%q: %w", k, v, err)
	}
	return f, nil
}

// mallocClasses extracts the small size classes (the "size" column of the "bins:"
// table) from MEMORY MALLOC-STATS output, sorted ascending.
func mallocClasses(stats string) []int64 {
	var out []int64
	in := false
	for line := range strings.SplitSeq(stats, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] == "bins:" {
			in = true
			continue
		}
		if !in {
			continue
		}
		if strings.HasSuffix(f[0], ":") { // "large:" ends the bins table
			break
		}
		if f[0] == "---" {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			break
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// selectedOption returns the bracketed choice of a sysfs option list such as
// "always [madvise] never", or the trimmed text if none is bracketed.
func selectedOption(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '['); i >= 0 {
		if j := strings.IndexByte(s[i:], ']'); j > 0 {
			return s[i+1 : i+j]
		}
	}
	return s
}

// cpuModel returns the first "model name" of a /proc/cpuinfo text.
func cpuModel(cpuinfo string) string {
	sc := bufio.NewScanner(strings.NewReader(cpuinfo))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// readTrim reads a small file and trims it; a missing file gives "unknown".
func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// hostFacts fills the machine fields that come from the host, not from Redis.
func hostFacts(m *calibration.Machine) {
	m.Kernel = readTrim("/proc/sys/kernel/osrelease")
	if n, err := strconv.Atoi(readTrim("/proc/sys/vm/overcommit_memory")); err == nil {
		m.OvercommitMemory = n
	} else {
		m.OvercommitMemory = -1
	}
	m.TransparentHugepage = selectedOption(readTrim("/sys/kernel/mm/transparent_hugepage/enabled"))
	m.CPUModel = cpuModel(readTrim("/proc/cpuinfo"))
	m.CPUs = runtime.NumCPU()
	m.PageSizeBytes = int64(os.Getpagesize())
}
