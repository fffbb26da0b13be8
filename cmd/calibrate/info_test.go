package main

import (
	"reflect"
	"testing"
)

func TestParseInfo(t *testing.T) {
	m := parseInfo("# Memory\r\nused_memory:939488\r\nused_memory_human:917.47K\r\nmem_fragmentation_ratio:7.15\r\n\r\n# CPU\r\nused_cpu_sys:0.003413\r\nnot a field\r\n")
	tests := []struct {
		name    string
		field   string
		isFloat bool
		want    float64
		wantErr bool
	}{
		{name: "int", field: "used_memory", want: 939488},
		{name: "float", field: "mem_fragmentation_ratio", isFloat: true, want: 7.15},
		{name: "cpu seconds", field: "used_cpu_sys", isFloat: true, want: 0.003413},
		{name: "missing", field: "used_memory_rss", wantErr: true},
		{name: "not an int", field: "used_memory_human", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got float64
			var err error
			if tc.isFloat {
				got, err = m.float(tc.field)
			} else {
				var n int64
				n, err = m.int(tc.field)
				got = float64(n)
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Fatalf("%s = %v, want %v", tc.field, got, tc.want)
			}
		})
	}
	if len(m) != 4 {
		t.Fatalf("parsed %d fields, want 4 (headers and junk skipped): %v", len(m), m)
	}
}

// An excerpt of MEMORY MALLOC-STATS from redis 7.0.15 with Debian's jemalloc 5.3.0.
const mallocStatsSample = `___ Begin jemalloc statistics ___
Allocated: 1690848, active: 1826816
bins:           size ind    allocated      nmalloc (#/sec)
                   8   0         5600          700     700
                  16   1       190400        11900   11900
                  32   2       160000         5300    5300
                  48   3        33600          700     700
                     ---
                1024  20        10240           10      10
large:          size ind    allocated      nmalloc (#/sec)
               16384  36        49152            3       3
`

func TestMallocClasses(t *testing.T) {
	got := mallocClasses(mallocStatsSample)
	want := []int64{8, 16, 32, 48, 1024}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("mallocClasses = %v, want %v (large classes excluded)", got, want)
	}
	if got := mallocClasses("no stats here"); got != nil {
		t.Fatalf("mallocClasses of junk = %v, want nil", got)
	}
}

func TestSelectedOption(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "madvise", in: "always [madvise] never\n", want: "madvise"},
		{name: "never", in: "always madvise [never]", want: "never"},
		{name: "no brackets", in: " unknown ", want: "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := selectedOption(tc.in); got != tc.want {
				t.Fatalf("selectedOption(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestCPUModel(t *testing.T) {
	in := "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\nprocessor\t: 1\nmodel name\t: other\n"
	if got := cpuModel(in); got != "Intel(R) Xeon(R) Processor" {
		t.Fatalf("cpuModel = %q", got)
	}
	if got := cpuModel(""); got != "unknown" {
		t.Fatalf("cpuModel(empty) = %q, want unknown", got)
	}
}
