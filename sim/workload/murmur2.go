// Behavior: Kafka's default partitioning of keyed records. A record with a non-null key
// goes to toPositive(murmur2(keyBytes)) % numPartitions, where murmur2 is
// org.apache.kafka.common.utils.Utils.murmur2 (seed 0x9747b28c, m 0x5bd1e995, r 24,
// little-endian 4-byte blocks, Java's fall-through tail) and toPositive masks the sign
// bit (number & 0x7fffffff). This holds for the Java producer's DefaultPartitioner
// (before 3.3) and BuiltInPartitioner.partitionForKey (3.3+): KIP-480 and KIP-794 made
// only records WITHOUT a key sticky/uniform, keyed records still hash. franz-go's
// kgo.StickyKeyPartitioner(nil) (KafkaHasher(murmur2)) computes the same function and
// is the oracle in the tests.
//
// Not modelled: custom partitioners, explicit record partitions, null keys, and
// partition-count changes after start (keys would then move, as in real Kafka).

package workload

import "encoding/binary"

// Murmur2 is Kafka's Utils.murmur2 of b, returned as the Java int it produces.
func Murmur2(b []byte) int32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	h := seed ^ uint32(len(b))
	for len(b) >= 4 {
		k := binary.LittleEndian.Uint32(b)
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
		b = b[4:]
	}
	switch len(b) {
	case 3:
		h ^= uint32(b[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(b[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(b[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// KafkaPartition is the partition Kafka's default partitioner picks for a record with
// key among partitions partitions: (murmur2(key) & 0x7fffffff) % partitions.
// partitions must be positive; a non-positive count is a caller bug and panics.
func KafkaPartition(key []byte, partitions int) int32 {
	if partitions <= 0 {
		panic("workload: KafkaPartition with non-positive partition count")
	}
	return int32(int64(Murmur2(key)&0x7fffffff) % int64(partitions))
}
