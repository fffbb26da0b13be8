package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/spillway-sim/spillway/scenarios"
)

const streamsBase = `
log: {kind: redis-streams, partitions: 6, stream_assignment: leased, claim_min_idle: 20s}
consumers: {replicas: 3}
timeline:
  - {at: 3m, scale: 2}
  - {at: 6m, crash: 1}
`

// TestStreamsSharedVsLeased: with shared streams a consumer finds a key's
// context in memory only when it read the key's previous message, so most
// contexts are lost to another consumer; leased streams keep key affinity and
// lose context only to the crash. The crash leaves entries pending until
// XAUTOCLAIM redelivers them.
func TestStreamsSharedVsLeased(t *testing.T) {
	for _, tc := range []struct {
		assignment string
		otherMin   float64 // lost_by_cause.other_consumer, at least
		otherMax   float64
		handoffs   float64 // at least
	}{
		{"shared", 3000, 1e9, 0},
		{"leased", 0, 0, 2},
	} {
		t.Run(tc.assignment, func(t *testing.T) {
			sc := scenario(t, streamsBase)
			sc.Log.StreamAssignment = scenariosAssignment(tc.assignment)
			r, rr := run(t, sc, nil)
			other := metric(t, rr, "lost_by_cause.other_consumer")
			if other < tc.otherMin || other > tc.otherMax {
				t.Errorf("lost_by_cause.other_consumer = %v, want %v..%v", other, tc.otherMin, tc.otherMax)
			}
			if v := metric(t, rr, "lost_by_cause.unknown"); v != 0 {
				t.Errorf("lost_by_cause.unknown = %v", v)
			}
			if v := metric(t, rr, "messages_redelivered"); v == 0 {
				t.Error("the crash left no pending entries to redeliver")
			}
			if v := metric(t, rr, "lease_handoffs"); v < tc.handoffs {
				t.Errorf("lease_handoffs = %v, want at least %v", v, tc.handoffs)
			}
			if r.audit.ownership != 0 || r.audit.unackedDrops != 0 {
				t.Errorf("audit: %+v", r.audit)
			}
			// Every entry delivered is processed once, and again when redelivered.
			var delivered int64
			for _, n := range r.streams.next {
				delivered += n
			}
			if first := int64(metric(t, rr, "messages") - metric(t, rr, "messages_redelivered")); first != delivered {
				t.Errorf("messages - redelivered = %d, entries delivered = %d", first, delivered)
			}
		})
	}
}

// TestStreamsDeterministic: a Redis Streams run with producers, a restart and
// the consumer cleanup gives the same bytes twice.
func TestStreamsDeterministic(t *testing.T) {
	sc := scenario(t, `
log: {kind: redis-streams, partitions: 4, stream_assignment: shared, delete_idle_consumers: true, maxlen: 2000, poll_batch: 10}
producers: {replicas: 2, scheduling: ticker}
consumers: {replicas: 2}
timeline:
  - {at: 2m, producer_restart: {replica: 1, for: 40s}}
  - {at: 5m, crash: 1}
`)
	var out [2][]byte
	for i := range out {
		res, err := runAll(t, context.Background(), sc, Options{})
		if err != nil {
			t.Fatal(err)
		}
		out[i], _ = json.Marshal(res)
		if i == 0 {
			rr := res.Runs[0]
			if metric(t, rr, "duplicate_events") == 0 || metric(t, rr, "missed_ticks") != 0 {
				t.Errorf("two tickers: duplicates %v, missed %v (the other replica covers the restart)",
					metric(t, rr, "duplicate_events"), metric(t, rr, "missed_ticks"))
			}
			if metric(t, rr, "messages_unclaimable") == 0 {
				t.Error("the cleanup deleted no consumer with pending entries")
			}
		}
	}
	if !bytes.Equal(out[0], out[1]) {
		t.Fatal("two runs of one streams scenario differ")
	}
}

func scenariosAssignment(s string) scenarios.StreamAssignment { return scenarios.StreamAssignment(s) }
