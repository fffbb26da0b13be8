// Package workload is the simulator's data sources: N datapoints (keys, ids 0..N-1)
// that each emit one message per collection interval into a Kafka-partitioned topic,
// and the ground truth the context accounting is judged against.
//
// It owns:
//   - the key set: fixed-length keys ("dp:00012345"), Kafka's default partition of each
//     (murmur2, exactly as the Java client), the interval class of each (one interval or
//     an exact-proportion mix) and whether it is a counter (needs the previous value as
//     context) or a gauge;
//   - the schedule: a per-key phase and per-emission jitter, drawn from the seed as pure
//     functions of (key, seq), emitted window by window in (at, key) order from a timing
//     wheel, so the message sequence does not depend on the window sizes;
//   - the ground truth: every key's messages carry seq 1, 2, ...; the context message s
//     needs is the one left by message s-1 (s = 1 needs none), and Due(k, s) says when
//     any message is due;
//   - the context payload: deterministic, semi-compressible bytes that encode (key, seq)
//     and can be checked byte for byte (AppendContext, ContextSeq).
//
// It must not import anything but the standard library; it takes its randomness as a
// *rand.Rand drawn from the engine and keeps none of it; it has no clock (the caller
// passes windows of virtual time) and does not start goroutines or schedule events.
//
//	w, err := workload.New(workload.Config{
//		Datapoints: 100_000, Interval: time.Minute, Jitter: 5 * time.Second,
//		CounterFraction: 0.7, ContextBytes: 64, Partitions: 24,
//	}, eng.NewRand())
//	// every 100 ms of virtual time:
//	w.Emit(from, from+100*time.Millisecond, func(p int32, k, seq uint32, at time.Duration) {
//		// append (k, seq) to partition p's log at virtual time at
//	})
//	// a consumer stores w.AppendContext(buf, k, seq) after processing (k, seq); a counter
//	// message seq needs a context whose ContextSeq is seq-1.
//
// Memory: 8 bytes of state per key (seq, partition, class, counter flag) and an 8-byte
// entry in the timing wheel, whose chunked slot lists add ~1-3 bytes per key: ~18 B/key
// measured at 100k-10M keys, plus sort buffers for the busiest 134 ms bucket.
package workload
