package redisnode

import (
	"io"
	"net"
	"sync"
	"time"
)

// Behavior: an in-memory, buffered, full-duplex connection between a go-redis
// client and miniredis's server (Server.ServeConn).
//
// net.Pipe (and miniredis's m.Dial, which uses it) is synchronous: a writer blocks
// until the reader takes the bytes, so a go-redis pipeline that writes more than
// the peer reads at once deadlocks. Here each direction is an unbounded byte
// queue: writes never block, reads block until bytes arrive or the conn closes.
// Deadlines are accepted and ignored: the simulator never waits on wall time, and
// miniredis always answers.
type memConn struct {
	in    *pipeBuf // what this side reads
	out   *pipeBuf // what the peer reads
	local net.Addr
	peer  net.Addr
}

type pipeBuf struct {
	mu     sync.Mutex
	cond   *sync.Cond
	buf    []byte
	off    int
	closed bool
}

func newPipeBuf() *pipeBuf {
	p := &pipeBuf{}
	p.cond = sync.NewCond(&p.mu)
	return p
}

type memAddr string

func (a memAddr) Network() string { return "mem" }
func (a memAddr) String() string  { return string(a) }

// memPipe returns the two ends of a buffered in-memory connection.
func memPipe(name string) (client, server net.Conn) {
	a, b := newPipeBuf(), newPipeBuf()
	ca, sa := memAddr(name+"-client"), memAddr(name)
	return &memConn{in: a, out: b, local: ca, peer: sa}, &memConn{in: b, out: a, local: sa, peer: ca}
}

func (c *memConn) Read(p []byte) (int, error) {
	b := c.in
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.off == len(b.buf) && !b.closed {
		b.cond.Wait()
	}
	if b.off == len(b.buf) {
		return 0, io.EOF
	}
	n := copy(p, b.buf[b.off:])
	b.off += n
	if b.off == len(b.buf) { // drained: reuse the buffer from the start
		b.buf, b.off = b.buf[:0], 0
	}
	return n, nil
}

func (c *memConn) Write(p []byte) (int, error) {
	b := c.out
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, io.ErrClosedPipe
	}
	b.buf = append(b.buf, p...)
	b.cond.Broadcast()
	return len(p), nil
}

// Close closes both directions: the peer's reads return EOF once drained.
func (c *memConn) Close() error {
	for _, b := range []*pipeBuf{c.in, c.out} {
		b.mu.Lock()
		b.closed = true
		b.cond.Broadcast()
		b.mu.Unlock()
	}
	return nil
}

func (c *memConn) LocalAddr() net.Addr                { return c.local }
func (c *memConn) RemoteAddr() net.Addr               { return c.peer }
func (c *memConn) SetDeadline(t time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(t time.Time) error { return nil }
