package main

import (
	"bytes"
	"context"
	"io"
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
			want: "s [" + strings.Repeat("=", 15) + "-" + strings.Repeat(" ", 14) + "] 2/4 runs  2.0s  ETA 2s"},
		{name: "eta", done: 3, total: 36, elapsed: 90 * time.Second,
			want: "s [" + strings.Repeat("=", 2) + "-" + strings.Repeat(" ", 27) + "] 3/36 runs  90.0s  ETA 16m30s"},
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
	p := startProgress(&b, progressOff, "x", 3)
	p.inc()
	p.redraw() // even a forced redraw is silent before showAfter
	p.finish()
	if b.Len() != 0 {
		t.Errorf("wrote %q", b.String())
	}
}

func TestProgressDrawsAfterASecond(t *testing.T) {
	var b syncBuffer
	p := startProgress(&b, progressBar, "x", 2)
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

func TestRenderLine(t *testing.T) {
	tests := []struct {
		name        string
		done, total int
		elapsed     time.Duration
		want        string
	}{
		{name: "first", done: 1, total: 36, elapsed: 12300 * time.Millisecond,
			want: "x: 1/36 runs, 12.3s elapsed, ETA 7m11s"},
		{name: "half", done: 18, total: 36, elapsed: 3*time.Minute + 400*time.Millisecond,
			want: "x: 18/36 runs, 3m0s elapsed, ETA 3m0s"},
		{name: "last", done: 36, total: 36, elapsed: 6 * time.Minute, want: "x: 36/36 runs, 6m0s elapsed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := renderLine("x", tt.done, tt.total, tt.elapsed); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestProgressLines: off a terminal, progress is plain lines: at the first
// run, then at most one per lineEvery, and at the last; no escape codes.
func TestProgressLines(t *testing.T) {
	var b bytes.Buffer
	p := startProgress(&b, progressLines, "x", 5)
	now := p.start
	p.now = func() time.Time { return now }
	for _, step := range []time.Duration{2 * time.Second, 3 * time.Second, 9 * time.Second, time.Second, time.Second} {
		now = now.Add(step)
		p.inc()
	}
	p.redraw() // the bar's redraw writes nothing in line mode
	p.finish()
	want := "x: 1/5 runs, 2s elapsed, ETA 8s\n" + // the first run
		"x: 3/5 runs, 14s elapsed, ETA 9.3s\n" + // 12 s after the first line
		"x: 5/5 runs, 16s elapsed\n" // the last
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestProgressMode: the bar on a terminal, lines for long work elsewhere or
// under CI=true, nothing for a quiet run or short work off a terminal.
func TestProgressMode(t *testing.T) {
	tests := []struct {
		name             string
		quiet, tty, long bool
		ci               string
		want             progressMode
	}{
		{name: "terminal", tty: true, want: progressBar},
		{name: "terminal, long", tty: true, long: true, want: progressBar},
		{name: "terminal under CI", tty: true, long: true, ci: "true", want: progressLines},
		{name: "pipe, long", long: true, want: progressLines},
		{name: "pipe, short", want: progressOff},
		{name: "quiet", quiet: true, tty: true, long: true, want: progressOff},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newApp(context.Background(), io.Discard, io.Discard)
			a.isTerminal = func(io.Writer) bool { return tt.tty }
			a.getenv = func(k string) string {
				if k == "CI" {
					return tt.ci
				}
				return ""
			}
			if got := a.progressMode(tt.quiet, tt.long); got != tt.want {
				t.Errorf("progressMode = %d, want %d", got, tt.want)
			}
		})
	}
}
