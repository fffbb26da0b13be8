package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

func TestRenderBar(t *testing.T) {
	tests := []struct {
		name    string
		done    int
		total   int
		elapsed time.Duration
		want    string
	}{
		{name: "start", done: 0, total: 4, elapsed: 1200 * time.Millisecond,
			want: "s [" + "-" + strings.Repeat(" ", 29) + "] 0/4 runs  1.2s"},
		{name: "half", done: 2, total: 4, elapsed: 2 * time.Second,
			want: "s [" + strings.Repeat("=", 15) + "-" + strings.Repeat(" ", 14) + "] 2/4 runs  2.0s"},
		{name: "done", done: 4, total: 4, elapsed: 3 * time.Second,
			want: "s [" + strings.Repeat("=", 30) + "] 4/4 runs  3.0s"},
		{name: "no runs", done: 0, total: 0, elapsed: time.Second,
			want: "s [" + "/" + strings.Repeat(" ", 29) + "] 0/0 runs  1.0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := renderBar("s", tt.done, tt.total, tt.elapsed); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestProgressDisabledWritesNothing(t *testing.T) {
	var b bytes.Buffer
	p := startProgress(&b, false, "x", 3)
	p.inc()
	p.redraw() // even a forced redraw is silent before showAfter
	p.finish()
	if b.Len() != 0 {
		t.Errorf("wrote %q", b.String())
	}
}

func TestProgressDrawsAfterASecond(t *testing.T) {
	var b syncBuffer
	p := startProgress(&b, true, "x", 2)
	p.start = p.start.Add(-2 * showAfter) // as if it had run for two seconds
	p.inc()
	p.redraw()
	p.finish()
	got := b.String()
	if !strings.Contains(got, "x [") || !strings.Contains(got, "1/2 runs") || !strings.HasSuffix(got, "\r\x1b[K") {
		t.Errorf("progress output %q", got)
	}
}

func TestIsTerminal(t *testing.T) {
	if isTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("a regular file is a terminal")
	}
}
