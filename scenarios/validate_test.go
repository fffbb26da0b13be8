package scenarios

import (
	"strings"
	"testing"
)

func TestValidationErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string // after head (lines 1-2)
		bare bool   // use "version: 1" and a comment as the head: the case writes its own workload
		want []string
	}{
		{name: "version", src: "seed: 1\n", want: nil}, // control: head alone is valid
		{name: "version 2", src: "", want: []string{"t.yaml:1: version: 2 is not supported (this build reads schema version 1)"}},
		{name: "name with space", src: "name: my run\n", want: []string{
			`t.yaml:3: name: "my run" must be letters, digits, '.', '-' or '_' (it names the output directory)`}},
		{name: "negative duration", src: "duration: -5m\n", want: []string{
			"t.yaml:3: duration: -5m must not be negative (write e.g. 60m)"}},
		{name: "sample_every longer than run", src: "duration: 1m\nsample_every: 2m\n", want: []string{
			"t.yaml:4: sample_every: 2m is longer than the run (duration 1m)"}},
		{name: "fraction above 1", bare: true, src: "workload:\n  datapoints: 1\n  counter_fraction: 1.5\n", want: []string{
			"t.yaml:5: workload.counter_fraction: 1.5 is outside [0, 1]"}},
		{name: "intervals do not sum to 1", bare: true, src: "workload:\n  datapoints: 1\n  intervals:\n    - {fraction: 0.5, interval: 10s}\n    - {fraction: 0.4, interval: 1m}\n",
			want: []string{"t.yaml:5: workload.intervals: fractions sum to 0.9, not 1"}},
		{name: "interval fraction zero", bare: true, src: "workload:\n  datapoints: 1\n  intervals: [{fraction: 0, interval: 10s}, {fraction: 1, interval: 1m}]\n",
			want: []string{"t.yaml:5: workload.intervals[0].fraction: 0 is outside (0, 1]"}},
		{name: "interval and intervals", bare: true, src: "workload:\n  datapoints: 1\n  interval: 1m\n  intervals: [{fraction: 1, interval: 1m}]\n",
			want: []string{"t.yaml:5: workload.interval: set either workload.interval or workload.intervals, not both"}},
		{name: "jitter half the interval", bare: true, src: "workload: {datapoints: 1, interval: 10s, jitter: 5s}\n", want: []string{
			"t.yaml:3: workload.jitter: 5s must be under half the shortest interval (10s), or a key's messages could swap order"}},
		{name: "huge context", bare: true, src: "workload: {datapoints: 1, context_bytes: 1GiB}\n", want: []string{
			"t.yaml:3: workload.context_bytes: 1GiB is above Redis's 512MiB value limit"}},
		{name: "assignor", src: "log:\n  assignor: roundrobin\n", want: []string{
			`t.yaml:4: log.assignor: "roundrobin" is not one of range, round-robin, sticky, cooperative-sticky (did you mean round-robin?)`}},
		{name: "session timeout below broker minimum", src: "log: {session_timeout: 1s}\n", want: []string{
			"t.yaml:3: log.session_timeout: 1s is outside 6s..30m (the broker's group.min/max.session.timeout.ms)"}},
		{name: "zero partitions", src: "log: {partitions: 0}\n", want: []string{"t.yaml:3: log.partitions: must be at least 1, got 0"}},
		{name: "replicas above autoscaler max", src: "consumers:\n  replicas: 20\n  autoscaler: {min: 2, max: 12}\n", want: []string{
			"t.yaml:4: consumers.replicas: 20 is above consumers.autoscaler.max (12)"}},
		{name: "autoscaler min above max", src: "consumers:\n  autoscaler:\n    min: 5\n    max: 3\n", want: []string{
			"t.yaml:5: consumers.autoscaler.min: 5 is above consumers.autoscaler.max (3)"}},
		{name: "autoscaler without max", src: "consumers:\n  autoscaler: {min: 2}\n", want: []string{
			"t.yaml:4: consumers.autoscaler.max: required: the most replicas the autoscaler may run (at least 1)"}},
		{name: "target cpu as percent", src: "consumers:\n  autoscaler: {max: 3, target_cpu: 80}\n", want: []string{
			"t.yaml:4: consumers.autoscaler.target_cpu: 80 is outside (0, 1] (write e.g. 0.8 for 80 %)"}},
		{name: "strategy", src: "state: {strategy: spill}\n", want: []string{
			`t.yaml:3: state.strategy: "spill" is not one of memory-only, spill-on-revoke, write-through, checkpoint (did you mean spill-on-revoke?)`}},
		{name: "ttl and ttl_intervals", src: "state:\n  ttl: 3m\n  ttl_intervals: 3\n", want: []string{
			"t.yaml:4: state.ttl: set either state.ttl or state.ttl_intervals, not both"}},
		{name: "ttl zero", src: "state:\n  ttl: 0s\n", want: []string{
			"t.yaml:4: state.ttl: must be positive (or remove it to use ttl_intervals: 3)"}},
		{name: "compression", src: "state: {compression: gzip}\n", want: []string{
			`t.yaml:3: state.compression: "gzip" is not one of none, lz4, s2, zstd`}},
		{name: "maxmemory above system memory", src: "redis:\n  system_memory: 8GiB\n  maxmemory: 12GiB\n", want: []string{
			"t.yaml:5: redis.maxmemory: 12GiB is above redis.system_memory (8GiB)"}},
		{name: "policy", src: "redis: {maxmemory_policy: allkeys-lru2}\n", want: []string{
			`t.yaml:3: redis.maxmemory_policy: "allkeys-lru2" is not one of noeviction, allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, volatile-random, volatile-ttl (did you mean allkeys-lru?)`}},
		{name: "overcommit", src: "redis: {overcommit_memory: 3}\n", want: []string{
			"t.yaml:3: redis.overcommit_memory: 3 is not 0 (heuristic), 1 (always) or 2 (never)"}},
		{name: "overcommit heuristic", src: "redis: {overcommit_heuristic: linux-4}\n", want: []string{
			`t.yaml:3: redis.overcommit_heuristic: "linux-4" is not one of current, pre-5.2`}},
		{name: "negative fork base", src: "redis: {model: {fork_time_base: -1ms}}\n", want: []string{
			"t.yaml:3: redis.model.fork_time_base: -1ms must not be negative"}},
		{name: "negative snapshot rate", src: "redis: {persistence: {snapshot_rate: -1}}\n", want: []string{
			`t.yaml:3: redis.persistence.snapshot_rate: "-1": sizes cannot be negative`}},
		{name: "samples", src: "redis: {maxmemory_samples: 0}\n", want: []string{
			"t.yaml:3: redis.maxmemory_samples: 0 is outside 1..64 (redis.conf maxmemory-samples)"}},
		{name: "rdb save", src: "redis:\n  persistence:\n    rdb_save: [\"900 1\", \"60\"]\n", want: []string{
			`t.yaml:5: redis.persistence.rdb_save[1]: "60" is not "<seconds> <changes>" (write e.g. "900 1")`}},
		{name: "page size", src: "redis: {model: {page_size: 3000}}\n", want: []string{
			"t.yaml:3: redis.model.page_size: 3KB is not a positive power of two (write 4KiB, or 2MiB for huge pages)"}},
		{name: "at beyond duration", src: "duration: 30m\ntimeline:\n  - {at: 45m, scale: 2}\n", want: []string{
			"t.yaml:5: timeline[0].at: 45m is not before the end of the run (duration 30m)"}},
		{name: "two actions", src: "timeline:\n  - {at: 1m, scale: 2, crash: 1}\n", want: []string{
			"t.yaml:4: timeline[0]: has 2 actions (scale, crash); write one event per action, at the same time if need be"}},
		{name: "no action", src: "timeline:\n  - {at: 1m, bgsave: false}\n", want: []string{
			"t.yaml:4: timeline[0]: has no action (write exactly one of " + actionList + ")"}},
		{name: "pause pod out of range", src: "consumers: {replicas: 6}\ntimeline:\n  - {at: 1m, scale: 3}\n  - {at: 2m, pause: {pod: 3, for: 1m}}\n",
			want: []string{"t.yaml:6: timeline[1].pause.pod: 3 is out of range: at most 3 pods run at 2m (indexes 0..2)"}},
		{name: "pause pod before a later scale", src: "consumers: {replicas: 6}\ntimeline:\n  - {at: 5m, scale: 3}\n  - {at: 2m, pause: {pod: 5, for: 1m}}\n",
			want: nil},
		{name: "pause pod within autoscaler max", src: "consumers: {replicas: 2, autoscaler: {max: 8}}\ntimeline:\n  - {at: 2m, pause: {pod: 7, for: 1m}}\n",
			want: nil},
		{name: "crash more pods than run", src: "consumers: {replicas: 2}\ntimeline:\n  - {at: 1m, crash: 3}\n", want: []string{
			"t.yaml:5: timeline[0].crash: 3 is more than the 2 pods that can run at 1m"}},
		{name: "event parameters", src: "timeline:\n  - {at: 1m, redis_down: {for: 0s}}\n  - {at: 1m, latency: {add: 1ms}}\n  - {at: 1m, corrupt: 0}\n  - {at: 1m, redis_nodes: 0}\n",
			want: []string{
				"t.yaml:4: timeline[0].redis_down.for: must be positive (write e.g. 30s)",
				"t.yaml:5: timeline[1].latency.for: must be positive (write e.g. 60s)",
				"t.yaml:6: timeline[2].corrupt: must be at least 1, got 0",
				"t.yaml:7: timeline[3].redis_nodes: must be at least 1, got 0",
			}},
		{name: "replication fields", src: "redis: {replicas: -1, repl_backlog_size: 1KiB, failover_time: -1s}\n", want: []string{
			"t.yaml:3: redis.replicas: -1 is outside 0..16 (replicas per master; 0 = none)",
			"t.yaml:3: redis.repl_backlog_size: 1KiB is below Redis's minimum 16KiB (redis.conf repl-backlog-size; write e.g. 1MiB)",
			"t.yaml:3: redis.failover_time: -1s must not be negative",
		}},
		{name: "wait replicas", src: "state:\n  wait_replicas: {replicas: 0, timeout: 0s}\n", want: []string{
			"t.yaml:4: state.wait_replicas.replicas: must be at least 1, got 0",
			"t.yaml:4: state.wait_replicas.timeout: must be positive (write e.g. 100ms)",
		}},
		{name: "wait replicas defaults", src: "redis: {replicas: 1}\nstate:\n  wait_replicas: {}\n", want: nil},
		{name: "wait with memory-only", src: "state:\n  strategy: memory-only\n  wait_replicas: {replicas: 1}\n", want: []string{
			"t.yaml:5: state.wait_replicas: memory-only writes nothing to Redis: there is nothing to wait for"}},
		{name: "failover node out of range", src: "redis: {nodes: 2}\ntimeline:\n  - {at: 1m, failover: {node: 2}}\n", want: []string{
			"t.yaml:5: timeline[0].failover.node: 2 is out of range: the run has 2 Redis node(s) (indexes 0..1)"}},
		{name: "failover node added by resharding", src: "redis: {nodes: 2}\ntimeline:\n  - {at: 1m, redis_nodes: 3}\n  - {at: 2m, failover: {node: 2}}\n", want: nil},
		{name: "unknown metric", src: "expect:\n  - {metric: context_loss_ration, max: 0.1}\n", want: []string{
			`t.yaml:4: expect[0].metric: unknown metric "context_loss_ration" (did you mean context_loss_ratio?)`}},
		{name: "unknown variant", src: "variants:\n  - {name: spill, set: {}}\nexpect:\n  - {variant: spil, metric: messages, min: 1}\n", want: []string{
			`t.yaml:6: expect[0].variant: unknown variant "spil" (did you mean spill?) (the variants are spill)`}},
		{name: "default variant is known without variants", src: "expect:\n  - {variant: default, metric: messages, min: 1}\n", want: nil},
		{name: "expectation without bounds", src: "expect:\n  - {metric: messages}\n", want: []string{"t.yaml:4: expect[0]: needs min, max or both"}},
		{name: "min above max", src: "expect:\n  - {metric: messages, min: 5, max: 1}\n", want: []string{"t.yaml:4: expect[0].min: 5 is above max 1"}},
		{name: "size bound on a ratio", src: "expect:\n  - {metric: context_loss_ratio, max: 7GiB}\n", want: []string{
			"t.yaml:4: expect[0].max: 7GiB is a size but context_loss_ratio is a ratio"}},
		{name: "duration bound on bytes", src: "expect:\n  - {metric: redis_rss_peak_bytes, max: 5s}\n", want: []string{
			"t.yaml:4: expect[0].max: 5s is a duration but redis_rss_peak_bytes is a size"}},
		{name: "lost_by_cause", src: "expect:\n  - {metric: lost_by_cause.crash, max: 0}\n  - {metric: lost_by_cause.oops, max: 0}\n", want: []string{
			`t.yaml:5: expect[1].metric: unknown metric "lost_by_cause.oops" (did you mean lost_by_cause.crash?)`}},
		{name: "unknown set path", src: "variants:\n  - name: a\n    set:\n      state.strategie: memory-only\n", want: []string{
			"t.yaml:6: variants[0].set.state.strategie: unknown field path (did you mean state.strategy?)"}},
		{name: "set a forbidden path", src: "variants:\n  - {name: a, set: {name: b}}\n", want: []string{
			"t.yaml:4: variants[0].set.name: cannot be overridden (a variant or sweep changes how a run behaves, not the scenario's identity or its runs)"}},
		{name: "duplicate variant", src: "variants:\n  - {name: a}\n  - {name: a}\n", want: []string{
			`t.yaml:5: variants[1].name: "a" is used twice (also variants[0])`}},
		{name: "variant without name", src: "variants:\n  - {set: {seed: 2}}\n", want: []string{"t.yaml:4: variants[0].name: required"}},
		{name: "unknown sweep path", src: "sweep: {field: redis.max_memory, values: [1GiB]}\n", want: []string{
			"t.yaml:3: sweep.field: unknown field path (did you mean redis.maxmemory?)"}},
		{name: "empty sweep", src: "sweep:\n  field: seed\n", want: []string{"t.yaml:3: sweep.values: required: at least one value"}},
		{name: "swept and set", src: "variants:\n  - {name: a, set: {redis.maxmemory: 1GiB}}\nsweep:\n  field: redis.maxmemory\n  values: [2GiB]\n",
			want: []string{"t.yaml:6: sweep.field: variant a also sets redis.maxmemory: a field is either swept or set by variants"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := head + tt.src
			if tt.bare {
				src = "version: 1\n# the case writes the workload\n" + tt.src
			}
			if tt.name == "version 2" {
				src = strings.Replace(head, "version: 1", "version: 2", 1)
			}
			if tt.want == nil {
				if _, err := Parse("t.yaml", []byte(src)); err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			checkErrors(t, src, tt.want)
		})
	}
}

func TestValidateWithoutMeta(t *testing.T) {
	s := New("go")
	s.Workload.Datapoints = 10
	s.Redis.MaxMemory = 16 * GiB
	err := s.Validate()
	if err == nil || err.Error() != "redis.maxmemory: 16GiB is above redis.system_memory (8GiB)" {
		t.Fatalf("Validate() = %v", err)
	}
	s.Redis.MaxMemory = 0
	s.Timeline = []Event{{At: Duration(60e9)}}
	if err := s.Validate(); err == nil || !strings.HasPrefix(err.Error(), "timeline[0]: has no action") {
		t.Fatalf("Validate() = %v", err)
	}
}
