package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Progress goes to stderr in one of two forms. On a terminal, a bar redrawn in
// place, shown once a scenario has run for more than showAfter, so quick runs
// stay clean. Elsewhere (a pipe, a file, CI=true), plain lines — but only for
// long work, a repeated (multi-seed) or sharded run, so that logs of ordinary
// runs stay as they were: one line when the first run finishes, then at most
// one every lineEvery, and one when the last finishes. Both give runs done /
// total and an ETA. The CLI may read the wall clock: nothing here reaches a
// simulated path or a result.
const (
	showAfter   = time.Second
	redrawEvery = 200 * time.Millisecond
	lineEvery   = 10 * time.Second
	barWidth    = 30
)

// progressMode is how progress is shown.
type progressMode int

const (
	progressOff   progressMode = iota // nothing
	progressBar                       // a bar redrawn on a terminal
	progressLines                     // plain lines, for logs and CI
)

// progressMode picks the form: none when quiet; the bar on a terminal unless
// CI=true; plain lines elsewhere when the work is long (several seeds or a
// shard), none otherwise.
func (a *app) progressMode(quiet, long bool) progressMode {
	switch {
	case quiet:
		return progressOff
	case a.isTerminal(a.stderr) && a.getenv("CI") != "true":
		return progressBar
	case long:
		return progressLines
	}
	return progressOff
}

// progress counts finished runs of one scenario and shows them.
type progress struct {
	w     io.Writer
	mode  progressMode
	label string
	total int
	start time.Time
	now   func() time.Time // the wall clock; tests replace it

	mu       sync.Mutex
	done     int
	drawn    bool
	lastLine time.Time // when the last plain line was written

	stop chan struct{}
	wg   sync.WaitGroup
}

// startProgress starts showing progress of total runs; with progressOff its
// methods are no-ops.
func startProgress(w io.Writer, mode progressMode, label string, total int) *progress {
	p := &progress{w: w, mode: mode, label: label, total: total, start: time.Now(), now: time.Now}
	if mode != progressBar {
		return p
	}
	p.stop = make(chan struct{})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(redrawEvery)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.redraw()
			}
		}
	}()
	return p
}

// inc records a finished run (and writes a plain line when one is due).
func (p *progress) inc() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if p.mode != progressLines {
		return
	}
	now := p.now()
	if p.done == 1 || p.done == p.total || now.Sub(p.lastLine) >= lineEvery {
		fmt.Fprintln(p.w, renderLine(p.label, p.done, p.total, now.Sub(p.start)))
		p.lastLine = now
	}
}

func (p *progress) redraw() {
	if p.mode != progressBar {
		return
	}
	elapsed := p.now().Sub(p.start)
	if elapsed < showAfter {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, "\r"+renderBar(p.label, p.done, p.total, elapsed)+"\x1b[K")
	p.drawn = true
}

// finish stops the bar and erases it.
func (p *progress) finish() {
	if p.stop == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
	p.stop = nil
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

// eta estimates the time left from the pace so far: elapsed / done per
// remaining run; false before the first run finishes or after the last.
func eta(done, total int, elapsed time.Duration) (time.Duration, bool) {
	if done <= 0 || done >= total {
		return 0, false
	}
	return time.Duration(float64(elapsed) / float64(done) * float64(total-done)), true
}

// roundDuration rounds to whole seconds above a minute, tenths below.
func roundDuration(d time.Duration) time.Duration {
	if d >= time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}

// renderBar is one line: "label [=========>          ] 3/6 runs  12.4s  ETA 24.8s".
func renderBar(label string, done, total int, elapsed time.Duration) string {
	filled := 0
	if total > 0 {
		filled = min(barWidth, done*barWidth/total)
	}
	bar := strings.Repeat("=", filled)
	if filled < barWidth {
		spin := `|/-\`[int(elapsed/redrawEvery)%4]
		bar += string(spin) + strings.Repeat(" ", barWidth-filled-1)
	}
	s := fmt.Sprintf("%s [%s] %d/%d runs  %.1fs", label, bar, done, total, elapsed.Seconds())
	if left, ok := eta(done, total, elapsed); ok {
		s += "  ETA " + roundDuration(left).String()
	}
	return s
}

// renderLine is one plain progress line: "label: 12/36 runs, 1m2s elapsed, ETA 2m4s".
func renderLine(label string, done, total int, elapsed time.Duration) string {
	s := fmt.Sprintf("%s: %d/%d runs, %s elapsed", label, done, total, roundDuration(elapsed))
	if left, ok := eta(done, total, elapsed); ok {
		s += ", ETA " + roundDuration(left).String()
	}
	return s
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
