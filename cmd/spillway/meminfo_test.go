package main

import (
	"bytes"
	"sync"
	"testing"
)

func TestParseMemAvailable(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int64
		ok   bool
	}{
		{name: "linux", in: "MemTotal:       24681636 kB\nMemFree:        22851004 kB\nMemAvailable:   24145352 kB\n",
			want: 24145352 * 1024, ok: true},
		{name: "missing", in: "MemTotal: 1 kB\n", ok: false},
		{name: "bad unit", in: "MemAvailable: 5 MB\n", ok: false},
		{name: "bad number", in: "MemAvailable: x kB\n", ok: false},
		{name: "empty", in: "", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseMemAvailable([]byte(tt.in))
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %d %v, want %d %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the progress goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
