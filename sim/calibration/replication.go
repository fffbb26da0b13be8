package calibration

import "time"

// Replication holds the constants of the replication model
// (sim/redisnode/replica.go), measured on a master + replica pair of redis-server
// 7.0.15 on loopback (sim/redisnode/replica_redis_test.go,
// TestReplicationAgainstRedis, prints these numbers: go
// test -run TestReplicationAgainstRedis -v ./sim/redisnode/, which runs whenever
// redis-server is installed and -short is not set). They are not part of
// calibration.json: cmd/calibrate does not measure replication.
//
// Measured 2026-12-07 on a 2-CPU machine shared with other jobs (loopback; the
// first run below fixed the constants, the test's later runs show the spread):
//
//   - WAIT 1 after a pipeline of N SET (100-byte values), extra time over the
//     same pipeline without WAIT, mean of 200: N=1 58 µs, N=100 152 µs, N=1000
//     231 µs. The extra is one master↔replica round trip (GETACK, ACK: ~58 µs
//     here) plus the replica's replay of the tail of the batch (173 µs for 1000
//     SET, against ~1.37 ms the master spent serving them: a fraction 0.13).
//     Four later runs of the test (medians of 201 alternating pairs): extra
//     after 1000 SET 331, 199, 999 µs against the model's 179, 238, 790 µs
//     (the model scales with the measured pipeline time, 1.19–5.5 ms as the
//     machine's load varied), i.e. within a factor 2.
//   - Replication offset lag under a pipelined write load of 43.4 MB/s of
//     replication stream: mean ~0 bytes, max 91 080 bytes (2.1 ms of stream):
//     the replica keeps up; the lag is the replay of the batch in flight.
//   - Full sync (REPLICAOF, diskless with repl-diskless-sync-delay 0, until
//     master_link_status:up and master_sync_in_progress:0): used_memory 19.6 MB
//     0.46 s, 77.2 MB 1.85 s, 304 MB 6.00 s, i.e. ~50 MB/s of used memory for
//     fork + serialize + transfer + load. The model's serialize at the calibrated
//     snapshot rate (79.2 MB/s) followed by a load at the same rate gives 0.50 s,
//     1.95 s and 7.7 s. Later runs: 19.6 MB 0.32–0.66 s (model 0.53 s with the
//     fork), 77–88 MB 2.2–4.2 s (model 2.0–2.3 s).
//   - INFO memory with a replica online and repl-backlog-size 1mb:
//     mem_replication_backlog 1 048 580 to 1 048 592 bytes once the stream
//     passed 1 MiB (the size + 4 to 16), mem_clients_slaves 17 632 bytes idle and 38 136 bytes under
//     the load above.
type Replication struct {
	// ApplyFraction is the replica's replay time of a batch as a fraction of the
	// master's service time for it (173 µs / 1.37 ms for 1000 SET).
	ApplyFraction float64
	// ReplicaClientBytes is mem_clients_slaves per idle replica (its client
	// struct and buffers).
	ReplicaClientBytes int64
	// BacklogOverheadBytes is what mem_replication_backlog reports beyond
	// repl-backlog-size once full.
	BacklogOverheadBytes int64
	// DisklessSyncDelay is repl-diskless-sync-delay: Redis 7.0 syncs diskless by
	// default and waits this long before forking, for more replicas to attach.
	DisklessSyncDelay time.Duration
}

// DefaultReplication returns the measured replication constants.
func DefaultReplication() Replication {
	return Replication{
		ApplyFraction:        0.13,
		ReplicaClientBytes:   17632,
		BacklogOverheadBytes: 16,
		DisklessSyncDelay:    5 * time.Second, // redis.conf 7.0 repl-diskless-sync-delay 5
	}
}
