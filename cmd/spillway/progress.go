package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// The progress bar is drawn on stderr only when stderr is a terminal, and only
// once a scenario has run for more than showAfter, so quick runs and piped
// output stay clean. The CLI may read the wall clock: nothing here reaches a
// simulated path or a result.
const (
	showAfter   = time.Second
	redrawEvery = 200 * time.Millisecond
	barWidth    = 30
)

// progress counts finished runs of one scenario and draws a bar.
type progress struct {
	w     io.Writer
	label string
	total int
	start time.Time

	mu    sync.Mutex
	done  int
	drawn bool

	stop chan struct{}
	wg   sync.WaitGroup
}

// startProgress starts a bar for total runs; when enabled is false it draws
// nothing and its methods are no-ops.
func startProgress(w io.Writer, enabled bool, label string, total int) *progress {
	p := &progress{w: w, label: label, total: total, start: time.Now()}
	if !enabled {
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

// inc records a finished run.
func (p *progress) inc() {
	p.mu.Lock()
	p.done++
	p.mu.Unlock()
}

func (p *progress) redraw() {
	elapsed := time.Since(p.start)
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

// renderBar is one line: "label [=========>          ] 3/6 runs  12.4s".
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
	return fmt.Sprintf("%s [%s] %d/%d runs  %.1fs", label, bar, done, total, elapsed.Seconds())
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
