package streams

import (
	"testing"
	"time"
)

func emitAll(t *testing.T, cfg ProducerConfig, keys int, iv, end time.Duration) (*Producers, []Emission) {
	t.Helper()
	p, err := NewProducers(cfg, keys)
	if err != nil {
		t.Fatal(err)
	}
	for k := range keys {
		phase := time.Duration(k) * iv / time.Duration(keys)
		for due := phase; due < end; due += iv {
			p.Schedule(uint32(k), due, iv)
		}
	}
	return p, p.Pop(end+2*iv, nil)
}

func TestProducers(t *testing.T) {
	const keys, iv, end = 10, time.Minute, 10 * time.Minute
	tests := []struct {
		name                   string
		cfg                    ProducerConfig
		dups, missed           int64
		emitted                int
		maxDelay               time.Duration
		firstSeqs, lastSeqOfK0 uint32
	}{
		{name: "one ticker", cfg: ProducerConfig{Replicas: 1}, emitted: 100, maxDelay: 0, lastSeqOfK0: 10},
		{name: "three tickers duplicate every tick", cfg: ProducerConfig{Replicas: 3}, dups: 200, emitted: 300, lastSeqOfK0: 10},
		// Down from 2m to 2m30s (phases 0, 6s, ..., 54s): the 5 ticks due in the
		// downtime are missed, and so is the one due at 2m30s (the new ticker's
		// first fire is at 3m30s); the ticks after it are late by
		// (2m30s − phase) mod 1m, at most 54s.
		{name: "ticker restart", cfg: ProducerConfig{Replicas: 1, Down: []Downtime{{0, 2 * time.Minute, 150 * time.Second}}},
			missed: 6, emitted: 94, maxDelay: 54 * time.Second, lastSeqOfK0: 9},
		{name: "tick table", cfg: ProducerConfig{Replicas: 1, Scheduling: TickTable, PollEvery: 10 * time.Second},
			emitted: 100, maxDelay: 10 * time.Second, lastSeqOfK0: 10},
		{name: "tick table, 2 replicas stagger their polls", cfg: ProducerConfig{Replicas: 2, Scheduling: TickTable, PollEvery: 10 * time.Second},
			emitted: 100, maxDelay: 5 * time.Second, lastSeqOfK0: 10},
		{name: "leased schedules, a restart with a survivor", cfg: ProducerConfig{Replicas: 2, Scheduling: LeasedSchedules,
			LeaseTTL: 9 * time.Second, Down: []Downtime{{0, 2 * time.Minute, 150 * time.Second}}},
			emitted: 100, maxDelay: 3 * time.Second, lastSeqOfK0: 10},
		{name: "leased schedules, a restart of the only one", cfg: ProducerConfig{Replicas: 1, Scheduling: LeasedSchedules,
			LeaseTTL: 9 * time.Second, Down: []Downtime{{0, 2 * time.Minute, 150 * time.Second}}},
			emitted: 100, maxDelay: 30 * time.Second, lastSeqOfK0: 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, out := emitAll(t, tc.cfg, keys, iv, end)
			if p.Duplicates() != tc.dups || p.Missed() != tc.missed || len(out) != tc.emitted {
				t.Fatalf("duplicates %d, missed %d, emitted %d; want %d, %d, %d", p.Duplicates(), p.Missed(), len(out), tc.dups, tc.missed, tc.emitted)
			}
			var maxDelay time.Duration
			var lastSeq uint32
			last := time.Duration(-1)
			for _, e := range out {
				if e.At < last {
					t.Fatalf("emissions out of order: %v after %v", e.At, last)
				}
				last = e.At
				if !e.Dup {
					maxDelay = max(maxDelay, e.At-e.Due)
				}
				if e.Key == 0 {
					lastSeq = max(lastSeq, e.Seq)
				}
			}
			if maxDelay > tc.maxDelay || (tc.maxDelay > 0 && maxDelay == 0) {
				t.Fatalf("max delay %v, want at most %v (and some)", maxDelay, tc.maxDelay)
			}
			if lastSeq != tc.lastSeqOfK0 {
				t.Fatalf("key 0's last seq %d, want %d (emitted ticks are numbered without gaps)", lastSeq, tc.lastSeqOfK0)
			}
		})
	}
}

func TestProducersTickTablePolls(t *testing.T) {
	p, err := NewProducers(ProducerConfig{Replicas: 2, Scheduling: TickTable, PollEvery: 10 * time.Second,
		Down: []Downtime{{1, 0, 60 * time.Second}}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Replica 0 polls at 0, 10s, ... 110s (12); replica 1 from its start at 60s: 60s..110s (6).
	if got := p.Polls(2 * time.Minute); got != 18 {
		t.Fatalf("Polls = %d, want 18", got)
	}
}
