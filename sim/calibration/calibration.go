package calibration

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
)

//go:embed calibration.json
var shippedJSON []byte

// Calibration is one calibration of the Redis models: the machine it was measured on,
// the constants the models use, and the raw measurements the constants were fitted
// from. Field order is the JSON order; every number carries its unit in its name.
type Calibration struct {
	Machine      Machine      `json:"machine"`
	Memory       Memory       `json:"memory"`
	Latency      Latency      `json:"latency"`
	Fork         Fork         `json:"fork"`
	COW          COW          `json:"cow"`
	Measurements Measurements `json:"measurements"`
}

// Machine records where and how a calibration was measured.
type Machine struct {
	// Date is the day the calibration ran, as written by cmd/calibrate (YYYY-MM-DD).
	Date string `json:"date"`
	// Command is the exact command line that produced the calibration.
	Command string `json:"command"`
	// Quick reports a reduced-size run (cmd/calibrate -quick): not for shipping.
	Quick bool `json:"quick"`
	// RedisVersion is INFO server redis_version.
	RedisVersion string `json:"redis_version"`
	// MemAllocator is INFO memory mem_allocator, e.g. "jemalloc-5.3.0".
	MemAllocator string `json:"mem_allocator"`
	// Kernel is /proc/sys/kernel/osrelease.
	Kernel string `json:"kernel"`
	// OvercommitMemory is /proc/sys/vm/overcommit_memory (0 heuristic, 1 always, 2 never).
	OvercommitMemory int `json:"vm_overcommit_memory"`
	// TransparentHugepage is the selected value of
	// /sys/kernel/mm/transparent_hugepage/enabled (always, madvise or never).
	TransparentHugepage string `json:"transparent_hugepage"`
	// RedisDisableTHP is CONFIG GET disable-thp ("yes": Redis opts out of THP itself).
	RedisDisableTHP string `json:"redis_disable_thp"`
	// CPUModel is the first "model name" of /proc/cpuinfo.
	CPUModel string `json:"cpu_model"`
	// CPUs is the number of logical CPUs the tool saw.
	CPUs int `json:"cpus"`
	// PageSizeBytes is the kernel's base page size.
	PageSizeBytes int64 `json:"page_size_bytes"`
	// Notes are caveats a reader of the numbers must know (noise, sharing, versions).
	Notes []string `json:"notes"`
}

// Memory holds the constants of the used_memory model (see memory.go). The struct
// sizes come from the Redis 7.0 source and are checked, not fitted, by the
// measurements; BaselineUsedBytes and RSSFragmentationRatio are measured.
type Memory struct {
	// BaselineUsedBytes is used_memory of the empty server (after FLUSHALL) with the
	// calibration's clients connected.
	BaselineUsedBytes int64 `json:"baseline_used_bytes"`
	// JemallocQuantumBytes is the spacing of jemalloc's small size classes: 16 for
	// Debian's system jemalloc, 8 for the jemalloc Redis bundles (--with-lg-quantum=3).
	// Read from MEMORY MALLOC-STATS.
	JemallocQuantumBytes int64 `json:"jemalloc_quantum_bytes"`
	// DictEntryBytes is sizeof(dictEntry) (key, value union, next): 24 on 64-bit.
	DictEntryBytes int64 `json:"dict_entry_bytes"`
	// RobjBytes is sizeof(robj) (type, encoding, lru, refcount, ptr): 16.
	RobjBytes int64 `json:"robj_bytes"`
	// DictBucketBytes is one bucket (a pointer) of a dict's table: 8.
	DictBucketBytes int64 `json:"dict_bucket_bytes"`
	// DictInitialBuckets is DICT_HT_INITIAL_SIZE: 4.
	DictInitialBuckets int64 `json:"dict_initial_buckets"`
	// EmbstrMaxBytes is OBJ_ENCODING_EMBSTR_SIZE_LIMIT: strings up to 44 bytes are
	// allocated together with their robj.
	EmbstrMaxBytes int `json:"embstr_max_bytes"`
	// RSSFragmentationRatio is used_memory_rss / used_memory at steady state, taken from
	// the largest loaded dataset.
	RSSFragmentationRatio float64 `json:"rss_fragmentation_ratio"`
}

// Latency holds the round trip and the per-command service-time constants.
type Latency struct {
	// RTTNanos is the median loopback round trip of a non-pipelined PING through go-redis.
	RTTNanos int64 `json:"rtt_ns"`
	// RTTP99Nanos is the 99th percentile of the same samples.
	RTTP99Nanos int64 `json:"rtt_p99_ns"`
	// Get is GET of one key; bytes = value length.
	Get OpCost `json:"get"`
	// SetPX is SET key value PX ms; bytes = value length.
	SetPX OpCost `json:"set_px"`
	// MGet is MGET of n keys; bytes = total value length returned.
	MGet OpCost `json:"mget"`
	// Del is DEL of n keys.
	Del OpCost `json:"del"`
	// EvalSHA is EVALSHA of a script doing SET key value PX ms for each of n keys;
	// bytes = total value length.
	EvalSHA OpCost `json:"evalsha"`
}

// OpCost is a linear service-time model: PerOp + PerKey*keys + PerByte*bytes, in
// nanoseconds of server CPU per command.
type OpCost struct {
	PerOpNanos   float64 `json:"per_op_ns"`
	PerKeyNanos  float64 `json:"per_key_ns"`
	PerByteNanos float64 `json:"per_byte_ns"`
}

// Fork holds the fork stall and snapshot constants.
type Fork struct {
	// BaseNanos + NanosPerGiB*used/GiB is the time the parent is blocked in fork().
	BaseNanos   float64 `json:"fork_base_ns"`
	NanosPerGiB float64 `json:"fork_ns_per_gib"`
	// SnapshotBytesPerSec is used memory serialized per second by BGSAVE with
	// rdbcompression yes and incompressible values (random bytes, like lz4 output).
	SnapshotBytesPerSec float64 `json:"snapshot_bytes_per_sec"`
	// SnapshotCompressibleBytesPerSec is the same for DEBUG POPULATE's zero-padded
	// values, which LZF compresses well.
	SnapshotCompressibleBytesPerSec float64 `json:"snapshot_compressible_bytes_per_sec"`
}

// COW holds the copy-on-write constants (see fork.go).
type COW struct {
	// PageSizeBytes is the page size the constants were measured with (4 KiB without
	// transparent huge pages).
	PageSizeBytes int64 `json:"page_size_bytes"`
	// TouchScale multiplies the pages per write the allocation model predicts
	// (fork.go), fitted from rdb_last_cow_size: 1 means the mechanism alone explains
	// the measurements.
	TouchScale float64 `json:"touch_scale"`
	// BaselineBytes is rdb_last_cow_size of a BGSAVE with no client writes (the child's
	// own buffers and the parent's cron work).
	BaselineBytes int64 `json:"baseline_bytes"`
}

// Measurements are the raw numbers a calibration was fitted from, kept so that tests
// can check the model against them and FromMeasurements can re-derive the constants.
type Measurements struct {
	// JemallocSmallClassesBytes are the bin sizes MEMORY MALLOC-STATS lists.
	JemallocSmallClassesBytes []int64         `json:"jemalloc_small_classes_bytes"`
	UsedMemory                []UsedMemoryRun `json:"used_memory"`
	RTT                       RTTRun          `json:"rtt"`
	Service                   []ServiceRun    `json:"service"`
	Fork                      []ForkRun       `json:"fork"`
	COW                       []COWRun        `json:"cow"`
}

// UsedMemoryRun is one load of Keys string keys into an empty server.
type UsedMemoryRun struct {
	Keys            int64   `json:"keys"`
	KeyBytes        int     `json:"key_bytes"`
	ValueBytes      int     `json:"value_bytes"`
	TTL             bool    `json:"ttl"`
	UsedBeforeBytes int64   `json:"used_before_bytes"`
	UsedAfterBytes  int64   `json:"used_after_bytes"`
	RSSAfterBytes   int64   `json:"rss_after_bytes"`
	PerKeyBytes     float64 `json:"per_key_bytes"`
}

// RTTRun is the loopback PING round trip, in nanoseconds of wall time.
type RTTRun struct {
	Samples   int   `json:"samples"`
	P50Nanos  int64 `json:"p50_ns"`
	P99Nanos  int64 `json:"p99_ns"`
	MeanNanos int64 `json:"mean_ns"`
}

// ServiceRun is one pipelined measurement of one command shape.
type ServiceRun struct {
	Op         OpKind `json:"op"`
	KeysPerCmd int    `json:"keys_per_cmd"`
	ValueBytes int    `json:"value_bytes"`
	// BytesPerCmd is the bytes argument of ServiceTime for this shape.
	BytesPerCmd int   `json:"bytes_per_cmd"`
	Commands    int64 `json:"commands"`
	Pipeline    int   `json:"pipeline"`
	// WallNanosPerCmd is client wall time per command (client and server overlap).
	WallNanosPerCmd float64 `json:"wall_ns_per_cmd"`
	// ServerCPUNanosPerCmd is the server main thread's user+sys CPU per command: the
	// service time the models use.
	ServerCPUNanosPerCmd float64 `json:"server_cpu_ns_per_cmd"`
}

// ForkRun is one BGSAVE of a DEBUG POPULATE dataset.
type ForkRun struct {
	Keys         int64 `json:"keys"`
	ValueBytes   int   `json:"value_bytes"`
	Compressible bool  `json:"compressible"`
	UsedBytes    int64 `json:"used_bytes"`
	RSSBytes     int64 `json:"rss_bytes"`
	ForkUsec     int64 `json:"fork_usec"`
	SaveNanos    int64 `json:"save_ns"`
	RDBBytes     int64 `json:"rdb_bytes"`
	COWBytes     int64 `json:"cow_bytes"`
}

// COWRun is one BGSAVE of a random-value dataset while a client overwrote random keys
// (SET key value, plus PX ms when the keys have a TTL) at a paced rate.
type COWRun struct {
	TargetWritesPerSec int   `json:"target_writes_per_sec"`
	Keys               int64 `json:"keys"`
	KeyBytes           int   `json:"key_bytes"`
	ValueBytes         int   `json:"value_bytes"`
	TTL                bool  `json:"ttl"`
	UsedBytes          int64 `json:"used_bytes"`
	RSSBytes           int64 `json:"rss_bytes"`
	// Writes is the number of writes acknowledged between the end of fork() and the
	// moment the tool saw the child finish.
	Writes    int64 `json:"writes"`
	ForkUsec  int64 `json:"fork_usec"`
	SaveNanos int64 `json:"save_ns"`
	RDBBytes  int64 `json:"rdb_bytes"`
	COWBytes  int64 `json:"cow_bytes"`
}

// ErrInvalid is returned (wrapped) by Validate and Decode for a calibration whose
// constants cannot drive the models.
var ErrInvalid = errors.New("calibration: invalid")

// Default returns the shipped calibration (calibration.json, measured by
// cmd/calibrate). Each call decodes a fresh copy, so callers may modify it.
func Default() Calibration {
	c, err := Decode(bytes.NewReader(shippedJSON))
	if err != nil {
		panic(fmt.Sprintf("calibration: shipped calibration.json is broken: %v", err))
	}
	return c
}

// Decode reads a calibration from JSON, rejecting unknown fields, and validates it.
func Decode(r io.Reader) (Calibration, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var c Calibration
	if err := dec.Decode(&c); err != nil {
		return Calibration{}, fmt.Errorf("calibration: decode: %w", err)
	}
	if dec.More() {
		return Calibration{}, fmt.Errorf("calibration: decode: trailing data after the JSON object")
	}
	if err := c.Validate(); err != nil {
		return Calibration{}, err
	}
	return c, nil
}

// Encode writes c as indented JSON with a trailing newline. Field order is the struct
// order, so the output is stable.
func Encode(w io.Writer, c Calibration) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("calibration: encode: %w", err)
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// Validate reports whether the constants can drive the models.
func (c Calibration) Validate() error {
	m := c.Memory
	checks := []struct {
		ok   bool
		what string
	}{
		{m.BaselineUsedBytes >= 0, "memory.baseline_used_bytes must be >= 0"},
		{m.JemallocQuantumBytes == 8 || m.JemallocQuantumBytes == 16, "memory.jemalloc_quantum_bytes must be 8 or 16"},
		{m.DictEntryBytes > 0, "memory.dict_entry_bytes must be > 0"},
		{m.RobjBytes > 0, "memory.robj_bytes must be > 0"},
		{m.DictBucketBytes > 0, "memory.dict_bucket_bytes must be > 0"},
		{m.DictInitialBuckets > 0 && m.DictInitialBuckets&(m.DictInitialBuckets-1) == 0, "memory.dict_initial_buckets must be a power of two"},
		{m.EmbstrMaxBytes >= 0, "memory.embstr_max_bytes must be >= 0"},
		{m.RSSFragmentationRatio >= 1 && m.RSSFragmentationRatio < 10, "memory.rss_fragmentation_ratio must be in [1, 10)"},
		{c.Latency.RTTNanos > 0, "latency.rtt_ns must be > 0"},
		{validCost(c.Latency.Get) && validCost(c.Latency.SetPX) && validCost(c.Latency.MGet) &&
			validCost(c.Latency.Del) && validCost(c.Latency.EvalSHA), "latency op costs must be finite and >= 0"},
		{finiteNonNeg(c.Fork.BaseNanos) && finiteNonNeg(c.Fork.NanosPerGiB), "fork times must be finite and >= 0"},
		{c.Fork.SnapshotBytesPerSec > 0 && !math.IsInf(c.Fork.SnapshotBytesPerSec, 0), "fork.snapshot_bytes_per_sec must be > 0"},
		{c.COW.PageSizeBytes > 0, "cow.page_size_bytes must be > 0"},
		{finiteNonNeg(c.COW.TouchScale), "cow.touch_scale must be finite and >= 0"},
		{c.COW.BaselineBytes >= 0, "cow.baseline_bytes must be >= 0"},
	}
	for _, ch := range checks {
		if !ch.ok {
			return fmt.Errorf("%w: %s", ErrInvalid, ch.what)
		}
	}
	return nil
}

func validCost(o OpCost) bool {
	return finiteNonNeg(o.PerOpNanos) && finiteNonNeg(o.PerKeyNanos) && finiteNonNeg(o.PerByteNanos)
}

func finiteNonNeg(x float64) bool { return x >= 0 && !math.IsInf(x, 0) && !math.IsNaN(x) }
