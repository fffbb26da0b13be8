package reports

import (
	"bytes"
	"fmt"

	"github.com/spillway-sim/spillway/scenarios"
)

// goRedisPoolTimeout is go-redis's default PoolTimeout (ReadTimeout 3 s + 1 s):
// a command that waits longer for a connection fails.
const goRedisPoolTimeout = 4.0

// writeClients adds the report's client and value-format sections when a run
// sets them: per run, the threads and clients with the throughput, lag and
// pool waits they gave (sim/clientpool.go); and the Redis memory of one stored
// context by component with the nodes the run's peak needs (sim/valueformat.go).
func (v *view) writeClients(b *bytes.Buffer) {
	threads, format := false, false
	for _, r := range v.runs {
		cs, vf := r.sc.Consumers, r.sc.Workload.ValueFormat
		threads = threads || cs.Threads > 1 || cs.RedisClient == scenarios.RedisClientPerThread
		format = format || vf.Encoding == scenarios.EncodingJSON || vf.RedundantBytes > 0
	}
	if threads {
		b.WriteString("## Consumer threads and Redis clients\n\n")
		b.WriteString("| run | threads and clients | messages/s | lag max | latency p99 | round trips that waited for a connection | longest wait |\n")
		b.WriteString("|---|---|---:|---:|---:|---:|---:|\n")
		for _, r := range v.runs {
			cs := r.sc.Consumers
			wait := r.metricOr("redis_pool_wait_max", 0)
			waitText := FormatSeconds(wait)
			if wait > goRedisPoolTimeout {
				waitText += " (**over go-redis's 4 s PoolTimeout: these calls would fail**)"
			}
			clients := fmt.Sprintf("%d threads, one shared client of %d connections", cs.Threads, cs.RedisPoolSize)
			if cs.RedisClient == scenarios.RedisClientPerThread {
				clients = fmt.Sprintf("%d threads, a client of %d connections each", cs.Threads, cs.RedisPoolSize)
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", cell(r.Label), clients,
				FormatCount(r.metricOr("messages_per_second", 0)),
				FormatCount(r.metricOr("consumer_lag_max", 0)), FormatSeconds(r.metricOr("latency_p99", 0)),
				FormatCount(r.metricOr("redis_pool_waits", 0)), waitText)
		}
		b.WriteString("\nWith one shared client every thread's round trips queue for the same pool; with one client per " +
			"thread each waits only for its own (sim/clientpool.go).\n\n")
	}
	if format {
		b.WriteString("## Memory per key and nodes needed\n\n")
		b.WriteString("| run | format | key name | envelope | payload | compression | Redis overhead | **per key** | peak used memory | nodes needed |\n")
		b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, r := range v.runs {
			vf := r.sc.Workload.ValueFormat
			name := string(vf.Encoding)
			if vf.RedundantBytes > 0 {
				name += fmt.Sprintf(" + %s redundant", FormatBytes(float64(vf.RedundantBytes)))
			}
			name += ", " + string(r.sc.State.Compression)
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | **%s** | %s | %s |\n", cell(r.Label), cell(name),
				byteCell(r.metricOr("redis_bytes_per_key.key_name", 0)), byteCell(r.metricOr("redis_bytes_per_key.envelope", 0)),
				byteCell(r.metricOr("redis_bytes_per_key.payload", 0)), byteCell(r.metricOr("redis_bytes_per_key.compression", 0)),
				byteCell(r.metricOr("redis_bytes_per_key.redis_overhead", 0)), byteCell(r.metricOr("redis_bytes_per_key", 0)),
				FormatBytes(r.metricOr("redis_used_memory_peak_bytes", 0)), FormatCount(r.metricOr("redis_nodes_needed", 0)))
		}
		b.WriteString("\nPer key: the value the core writes (core.EncodeEnvelope) under its Redis key, costed by the " +
			"memory model; nodes needed: the peak used memory over redis.maxmemory, or over half of " +
			"redis.system_memory without one (sim/valueformat.go).\n\n")
	}
}

// byteCell is a per-key byte count with one decimal when it has one ("21.6 B").
func byteCell(v float64) string {
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d B", int64(v))
	}
	return fmt.Sprintf("%.1f B", v)
}
