package redisnode

import (
	"bytes"
	"io"
	"testing"
)

func TestMemPipeBuffersLargeWrites(t *testing.T) {
	c, s := memPipe("t")
	big := bytes.Repeat([]byte("x"), 1<<20)
	// A synchronous pipe would block here: nobody reads yet.
	if n, err := c.Write(big); err != nil || n != len(big) {
		t.Fatalf("write: %d %v", n, err)
	}
	got := make([]byte, 0, len(big))
	buf := make([]byte, 4096)
	for len(got) < len(big) {
		n, err := s.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.Equal(got, big) {
		t.Fatal("bytes differ")
	}
	s.Write([]byte("pong"))
	n, _ := c.Read(buf)
	if string(buf[:n]) != "pong" {
		t.Fatalf("reply %q", buf[:n])
	}
	c.Close()
	if _, err := s.Read(buf); err != io.EOF {
		t.Fatalf("read after close: %v", err)
	}
	if _, err := s.Write([]byte("x")); err == nil {
		t.Fatal("write after close succeeded")
	}
}
