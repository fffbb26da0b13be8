package core

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestClocks(t *testing.T) {
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	if got := ClockFunc(func() time.Time { return at }).Now(); !got.Equal(at) {
		t.Fatalf("ClockFunc.Now = %v", got)
	}
	var c Clock = SystemClock{}
	if _, ok := c.(Sleeper); !ok {
		t.Fatal("SystemClock does not implement Sleeper")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (SystemClock{}).Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on a canceled context = %v", err)
	}
	if err := (SystemClock{}).Sleep(context.Background(), time.Microsecond); err != nil {
		t.Fatalf("short Sleep = %v", err)
	}
}
