// Behavior: one topic of a Kafka log, reduced to what a consumer group needs:
// per-partition append-only sequences of records with absolute offsets, a high
// watermark (the offset the next append gets), and time/size retention as an
// explicit Trim that advances the log start offset. Offsets stay absolute after
// a trim, as in Kafka ("log start offset" vs "high watermark", Kafka docs,
// "Log Compaction"/"Retention"). Fetch returns a view, like a fetch response
// that may stop short of max.poll.records at a segment boundary.
//
// Not modelled: replication, ISR, leader epochs, the last stable offset of
// transactions (there are no transactions), segment files and their sizes,
// record batches, compression, and log compaction. Retention happens only when
// the caller calls Trim. Fetching out of range is an invariant violation here
// (the simulated consumer always knows its position), not an
// OFFSET_OUT_OF_RANGE reply followed by auto.offset.reset.

package broker

import (
	"fmt"
	"time"
)

// Record is one message of the log: the broker stores it and never interprets
// it. It is 16 bytes, so a partition of n records costs 16·n bytes of memory.
type Record struct {
	// Key identifies the datapoint (the workload's key index).
	Key uint32
	// Seq is the key's own sequence number (its n-th emission).
	Seq uint32
	// At is the virtual time the record was produced.
	At time.Duration
}

// chunkRecords is the number of records per storage chunk: 4096 records of 16
// bytes, 64 KiB. Chunks make appends amortized O(1) without the doubling copy
// of one big slice, and let Trim free memory a chunk at a time.
const chunkRecords = 1 << 12

type chunk [chunkRecords]Record

// partitionLog holds the records of one partition. chunks[i][j] is the record at
// offset base + i·chunkRecords + j; offsets below start were trimmed (the chunk
// holding start may still keep a few of them in memory until the whole chunk
// falls below start).
type partitionLog struct {
	chunks []*chunk
	base   int64 // offset of chunks[0][0]
	start  int64 // log start offset: the first fetchable offset
	hwm    int64 // high watermark: the offset of the next append
}

// Log is a topic: a fixed number of partitions, each an append-only sequence
// of Records addressed by absolute offsets. It is not safe for concurrent use
// (the simulator is single-threaded).
type Log struct {
	parts []partitionLog
}

// NewLog returns an empty log with the given number of partitions. A count
// below 1 or above 1<<20 is an error.
func NewLog(partitions int) (*Log, error) {
	if partitions < 1 || partitions > 1<<20 {
		return nil, fmt.Errorf("broker: a log needs between 1 and %d partitions, got %d", 1<<20, partitions)
	}
	return &Log{parts: make([]partitionLog, partitions)}, nil
}

// Partitions is the number of partitions.
func (l *Log) Partitions() int { return len(l.parts) }

func (l *Log) part(p int32, op string) *partitionLog {
	if p < 0 || int(p) >= len(l.parts) {
		panic(fmt.Sprintf("broker: %s on partition %d of a %d-partition log", op, p, len(l.parts)))
	}
	return &l.parts[p]
}

// Append adds r at the end of partition p and returns its offset (the high
// watermark before the append). Memory grows one 64 KiB chunk at a time.
func (l *Log) Append(p int32, r Record) (offset int64) {
	pl := l.part(p, "Append")
	idx := pl.hwm - pl.base
	ci := int(idx / chunkRecords)
	if ci == len(pl.chunks) {
		pl.chunks = append(pl.chunks, new(chunk))
	}
	pl.chunks[ci][idx%chunkRecords] = r
	offset = pl.hwm
	pl.hwm++
	return offset
}

// HighWatermark is the offset the next record appended to p will get (0 for an
// empty partition); a consumer that has processed everything is positioned here.
func (l *Log) HighWatermark(p int32) int64 { return l.part(p, "HighWatermark").hwm }

// StartOffset is the first offset of p that can still be fetched (the log start
// offset; 0 until the first Trim).
func (l *Log) StartOffset(p int32) int64 { return l.part(p, "StartOffset").start }

// Retained is the number of records of p between StartOffset and
// HighWatermark. The memory they cost is at most 16 bytes each plus one
// partly trimmed chunk.
func (l *Log) Retained(p int32) int64 {
	pl := l.part(p, "Retained")
	return pl.hwm - pl.start
}

// Fetch returns up to max records of p starting at offset from: the records at
// offsets [from, from+n). n is smaller than max at the high watermark (n = 0
// when from == HighWatermark) and at an internal 4096-record chunk boundary, so
// a caller that wants max records loops until it has them or reaches the high
// watermark.
//
// The result is a view into the log, not a copy: it must not be modified, and
// it stays valid (and keeps its chunk alive) after a Trim. Fetching below
// StartOffset or above HighWatermark, or a negative max, is an invariant
// violation and panics: the simulated consumer always knows its position.
func (l *Log) Fetch(p int32, from int64, max int) []Record {
	pl := l.part(p, "Fetch")
	if from < pl.start || from > pl.hwm || max < 0 {
		panic(fmt.Sprintf("broker: Fetch(partition %d, from %d, max %d) outside the log [start %d, high watermark %d]",
			p, from, max, pl.start, pl.hwm))
	}
	n := pl.hwm - from
	if int64(max) < n {
		n = int64(max)
	}
	if n == 0 {
		return nil
	}
	idx := from - pl.base
	ci, off := idx/chunkRecords, idx%chunkRecords
	if rest := chunkRecords - off; rest < n {
		n = rest
	}
	return pl.chunks[ci][off : off+n : off+n]
}

// Trim drops the records of p below offset before (retention): StartOffset
// becomes before, offsets of the remaining records do not change, and every
// chunk that lies wholly below before is released to the garbage collector.
// A before at or below StartOffset does nothing; a before above HighWatermark
// is an invariant violation and panics.
func (l *Log) Trim(p int32, before int64) {
	pl := l.part(p, "Trim")
	if before > pl.hwm {
		panic(fmt.Sprintf("broker: Trim(partition %d, before %d) beyond the high watermark %d", p, before, pl.hwm))
	}
	if before <= pl.start {
		return
	}
	pl.start = before
	drop := int((before - pl.base) / chunkRecords)
	if drop == 0 {
		return
	}
	n := copy(pl.chunks, pl.chunks[drop:])
	clear(pl.chunks[n:])
	pl.chunks = pl.chunks[:n]
	pl.base += int64(drop) * chunkRecords
}
