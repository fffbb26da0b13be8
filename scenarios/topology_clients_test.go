package scenarios

import "testing"

// TestClientFieldErrors: bad consumers.threads, redis_client, redis_pool_size
// and workload.value_format are reported with file:line: field and a sentence.
func TestClientFieldErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string // after head (lines 1-2)
		bare bool   // the case writes its own workload (from line 3)
		want []string
	}{
		{name: "defaults are valid", src: "consumers: {threads: 8, redis_client: per-thread, redis_pool_size: 1}\n"},
		{name: "zero threads", src: "consumers:\n  threads: 0\n", want: []string{
			"t.yaml:4: consumers.threads: must be at least 1 (consumer threads per pod), got 0"}},
		{name: "too many threads", src: "consumers: {threads: 5000}\n", want: []string{
			"t.yaml:3: consumers.threads: 5000 threads per pod: at most 1024"}},
		{name: "client", src: "consumers:\n  redis_client: per_thread\n", want: []string{
			`t.yaml:4: consumers.redis_client: "per_thread" is not one of shared, per-thread (did you mean per-thread?)`}},
		{name: "pool size zero", src: "consumers:\n  redis_pool_size: 0\n", want: []string{
			"t.yaml:4: consumers.redis_pool_size: must be at least 1 connection (go-redis PoolSize; its default is 10 per CPU), got 0"}},
		{name: "encoding", bare: true, src: "workload:\n  datapoints: 1\n  value_format: {encoding: protobuf}\n", want: []string{
			`t.yaml:5: workload.value_format.encoding: "protobuf" is not one of binary, json`}},
		{name: "negative redundant bytes", bare: true, src: "workload:\n  datapoints: 1\n  value_format:\n    redundant_bytes: -4\n",
			want: []string{`t.yaml:6: workload.value_format.redundant_bytes: "-4": sizes cannot be negative`}},
		{name: "huge redundant bytes", bare: true, src: "workload:\n  datapoints: 1\n  value_format: {redundant_bytes: 300MiB}\n",
			want: []string{"t.yaml:5: workload.value_format.redundant_bytes: 300MiB is above 256MiB (Redis values stop at 512MiB)"}},
		{name: "unknown value_format field", bare: true, src: "workload:\n  datapoints: 1\n  value_format: {compresion: lz4}\n",
			want: []string{"t.yaml:5: workload.value_format.compresion: unknown field (workload.value_format takes encoding, redundant_bytes)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := head + tt.src
			if tt.bare {
				src = "version: 1\n# the case writes the workload\n" + tt.src
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

// TestClientDefaults: a scenario that says nothing runs one thread on one
// shared client of go-redis's default pool for a 2-CPU pod, with the binary
// value format and no redundant bytes: the simulator's behaviour before these
// fields existed.
func TestClientDefaults(t *testing.T) {
	s := New("d")
	cs, vf := s.Consumers, s.Workload.ValueFormat
	if cs.Threads != 1 || cs.RedisClient != RedisClientShared || cs.RedisPoolSize != 20 {
		t.Fatalf("consumers: threads %d, client %q, pool %d", cs.Threads, cs.RedisClient, cs.RedisPoolSize)
	}
	if vf.Encoding != EncodingBinary || vf.RedundantBytes != 0 {
		t.Fatalf("value_format: %+v", vf)
	}
	s.Workload.Datapoints = 10
	s.Workload.ValueFormat.RedundantBytes = -1 // from Go, where the YAML decoder cannot refuse it
	if err := s.Validate(); err == nil || err.Error() != "workload.value_format.redundant_bytes: -1 must not be negative (0 = no redundant fields)" {
		t.Fatalf("Validate() = %v", err)
	}
	var empty Scenario
	empty.EnsureDefaults()
	if empty.Consumers.Threads != 1 || empty.Consumers.RedisPoolSize != 20 || empty.Workload.ValueFormat.Encoding != EncodingBinary {
		t.Fatalf("EnsureDefaults left %+v %+v", empty.Consumers, empty.Workload.ValueFormat)
	}
}
