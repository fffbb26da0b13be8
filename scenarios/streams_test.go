package scenarios

import (
	"strings"
	"testing"
)

// TestStreamFieldsBelongToTheirLog: stream settings on a Kafka log, and Kafka
// group settings on a Redis Streams log, are refused with file:line: field.
func TestStreamFieldsBelongToTheirLog(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error, in order
	}{
		{"claim_min_idle on kafka", "version: 1\nworkload: {datapoints: 10}\nlog:\n  claim_min_idle: 30s\n",
			[]string{"x.yaml:4: log.claim_min_idle: is a Redis Streams setting"}},
		{"producers on kafka", "version: 1\nworkload: {datapoints: 10}\nproducers: {replicas: 2}\n",
			[]string{"x.yaml:3: producers: is a Redis Streams setting"}},
		{"assignor on streams", "version: 1\nworkload: {datapoints: 10}\nlog:\n  kind: redis-streams\n  assignor: sticky\n",
			[]string{"x.yaml:5: log.assignor: is a Kafka consumer-group setting"}},
		{"session_timeout on streams", "version: 1\nworkload: {datapoints: 10}\nlog: {kind: redis-streams, session_timeout: 10s}\n",
			[]string{"x.yaml:3: log.session_timeout: is a Kafka consumer-group setting"}},
		{"bad assignment", "version: 1\nworkload: {datapoints: 10}\nlog: {kind: redis-streams, stream_assignment: sticky}\n",
			[]string{"log.stream_assignment: \"sticky\" is not one of shared, leased"}},
		{"restart without producers", "version: 1\nworkload: {datapoints: 10}\nlog: {kind: redis-streams}\ntimeline:\n  - {at: 1m, producer_restart: {for: 30s}}\n",
			[]string{"x.yaml:5: timeline[0].producer_restart: needs a producers block"}},
		{"restart of a replica that does not exist", "version: 1\nworkload: {datapoints: 10}\nlog: {kind: redis-streams}\n" +
			"producers: {replicas: 2}\ntimeline:\n  - {at: 1m, producer_restart: {replica: 2, for: 30s}}\n",
			[]string{"timeline[0].producer_restart.replica: 2 is out of range"}},
		{"bad scheduling", "version: 1\nworkload: {datapoints: 10}\nlog: {kind: redis-streams}\n" +
			"producers: {scheduling: cron}\n",
			[]string{"x.yaml:4: producers.scheduling: \"cron\" is not one of ticker, tick-table, leased"}},
		{"variant turns a kafka file with an assignor into streams", "version: 1\nworkload: {datapoints: 10}\nlog: {assignor: sticky}\n" +
			"variants:\n  - {name: s, set: {log.kind: redis-streams}}\n",
			[]string{"log.assignor: is a Kafka consumer-group setting"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain %q", err, w)
				}
			}
		})
	}
	ok := "version: 1\nworkload: {datapoints: 10}\nlog: {kind: redis-streams, stream_assignment: leased, claim_min_idle: 20s, " +
		"lease_ttl: 6s, maxlen: 1000}\nproducers: {replicas: 3, scheduling: tick-table, poll_every: 5s}\n" +
		"timeline:\n  - {at: 1m, producer_restart: {replica: 1, for: 30s}}\n"
	s, err := Parse("ok.yaml", []byte(ok))
	if err != nil {
		t.Fatalf("a valid streams scenario: %v", err)
	}
	if s.Log.Kind != LogRedisStreams || s.Producers.Replicas != 3 || s.Log.LeaseTTL.Std().Seconds() != 6 {
		t.Fatalf("decoded %+v %+v", s.Log, s.Producers)
	}
	// Defaults of a streams log.
	s, err = Parse("d.yaml", []byte("version: 1\nworkload: {datapoints: 10}\nlog: {kind: redis-streams}\nproducers: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Log.StreamAssignment != StreamsShared || s.Log.ClaimMinIdle.Std().Seconds() != 30 || s.Producers.Scheduling != SchedulingTicker ||
		s.Producers.Replicas != 1 {
		t.Fatalf("defaults: %+v %+v", s.Log, s.Producers)
	}
}
