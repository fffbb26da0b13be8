package pool

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Pool runs jobs on n goroutines: n-1 helpers and the caller of Run.
type Pool struct {
	n      int
	offer  atomic.Pointer[job] // the latest job
	parked atomic.Int32        // helpers parked on wake
	wake   chan struct{}
	quit   atomic.Bool
	helped atomic.Int64   // items worked on by helpers (not Run's caller), for tests
	wg     sync.WaitGroup // the helpers, for Close
}

// An idle helper checks for the next job spinChecks times before it parks — at
// a few ns per check, somewhat longer than a tick's serial part — and yields
// the processor every yieldEvery checks. (Yielding on every check costs more:
// each yield takes the scheduler's global lock.)
const (
	spinChecks = 1 << 17
	yieldEvery = 256
)

// job is one Run: items taken in turn by whoever is free.
type job struct {
	items      int
	work       func(i int)
	next       atomic.Int32 // the next item to take
	active     atomic.Int32 // goroutines working on the job's items
	extra      func()       // a task for whoever comes first
	extraTaken atomic.Bool
	mu         sync.Mutex
	panic      any // the first panic of a helper, re-raised on Run's goroutine
}

// New starts n-1 helper goroutines (n ≤ 1: none; Run works alone).
func New(n int) *Pool {
	p := &Pool{n: n}
	if n <= 1 {
		return p
	}
	p.wake = make(chan struct{}, n-1)
	p.wg.Add(n - 1)
	for range n - 1 {
		go p.loop()
	}
	return p
}

// Size is the number of goroutines a job runs on, the caller's included.
func (p *Pool) Size() int { return p.n }

// Helped is how many items helpers (not Run's caller) have worked on.
func (p *Pool) Helped() int64 { return p.helped.Load() }

func (p *Pool) loop() {
	defer p.wg.Done()
	var last *job
	for {
		j := p.await(last)
		if j == nil {
			return
		}
		last = j
		j.runExtra()
		p.helped.Add(int64(j.take()))
	}
}

// await returns the job on offer once it is not last; nil when closing.
func (p *Pool) await(last *job) *job {
	for i := 0; ; i++ {
		if p.quit.Load() {
			return nil
		}
		if j := p.offer.Load(); j != nil && j != last {
			return j
		}
		if i < spinChecks {
			if i%yieldEvery == yieldEvery-1 {
				runtime.Gosched() // let the caller's other goroutines or the GC have the processor
			}
			continue
		}
		// Park. The offer is checked again after announcing it, so an offer
		// made in between either is seen here or sees this helper parked.
		p.parked.Add(1)
		if j := p.offer.Load(); (j == nil || j == last) && !p.quit.Load() {
			<-p.wake
		}
		p.parked.Add(-1)
		i = 0
	}
}

// Run calls work(i) for every i in [0, items), in parallel, and has extra (when
// not nil) run once by a helper — or by the caller, at the end, if no helper
// came. It returns when every item is done; a helper may still be running
// extra. A panic of work on a helper is raised again here, and the remaining
// items are skipped.
func (p *Pool) Run(items int, work func(i int), extra func()) {
	j := &job{items: items, work: work, extra: extra}
	p.offer.Store(j)
	for range p.parked.Load() {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	j.take()
	j.runExtra()
	for i := 1; j.active.Load() > 0; i++ { // a helper is finishing its last item
		if i%yieldEvery == 0 {
			runtime.Gosched()
		}
	}
	p.offer.Store(nil) // let the job and its items go
	if j.panic != nil {
		panic(j.panic)
	}
}

// runExtra runs the job's extra task unless someone has.
func (j *job) runExtra() {
	if j.extra != nil && j.extraTaken.CompareAndSwap(false, true) {
		j.extra()
	}
}

// take works on items until none is left and returns how many it took; run by
// every goroutine taking part, Run's caller included. A helper that comes late
// finds none: the job is done.
func (j *job) take() (took int) {
	j.active.Add(1) // before taking an item, so Run waits for it
	defer j.active.Add(-1)
	defer func() {
		if v := recover(); v != nil {
			j.mu.Lock()
			if j.panic == nil {
				j.panic = v
			}
			j.mu.Unlock()
			j.next.Store(int32(j.items)) // the others stop too
		}
	}()
	for {
		i := int(j.next.Add(1)) - 1
		if i >= j.items {
			return
		}
		j.work(i)
		took++
	}
}

// Close stops the helpers and waits for them; it may be called more than once.
func (p *Pool) Close() {
	if p.n > 1 && !p.quit.Swap(true) {
		close(p.wake)
		p.wg.Wait()
	}
}
