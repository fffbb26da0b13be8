package redisnode

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/spillway-sim/spillway/sim/calibration"
)

// Config is one node's model parameters. Every field is plain data (the simulator
// maps the scenario's redis section onto it); zero values take the documented
// default, which is Redis 7's own default or the shipped calibration's constant.
type Config struct {
	Name string // shown in errors and series; also the node's address in a Ring

	// Weight, above 1, makes the node a sampled run's (weight.go): every key for
	// which Weighted reports true stands for Weight keys of the same size, in
	// memory, copy-on-write, eviction, expiry, the AOF and the counters, and the
	// calls that carry them stand for the real calls (Meter.Batch). 0 or 1: none.
	Weight int64
	// Weighted picks the keys that stand for Weight keys (a sampled datapoint's
	// context); nil means every key.
	Weighted func(key string) bool

	// RTT is the network round trip between a pod and the node. Zero: the calibrated
	// loopback round trip (calibration Latency.RTTNanos).
	RTT time.Duration

	// OpTime, ByteTime and ScriptTime, when any is non-zero, replace the calibrated
	// service-time model with a flat one: OpTime per command (and per script key),
	// ByteTime per argument byte, ScriptTime per EVAL/EVALSHA. Zero (the default)
	// uses the calibration's per-command fits (latency.go).
	OpTime, ByteTime, ScriptTime time.Duration

	// Calibration holds the measured constants; nil means calibration.Default().
	Calibration *calibration.Calibration
	// RunLua makes miniredis interpret the core's scripts in Lua instead of the
	// node executing them natively (scripts.go); only tests need it.
	RunLua bool

	// Rand drives every random choice of the models (eviction sampling, LFU's
	// logarithmic counter, the random policies). Draw it from the engine in the
	// simulator's fixed order. Nil: a generator seeded from Name, which draws
	// nothing from the engine (for tests and tools).
	Rand *rand.Rand

	// MaxMemory is maxmemory in bytes; 0 means unlimited.
	MaxMemory int64
	// Policy is maxmemory-policy; "" means noeviction (the Redis default).
	Policy Policy
	// Samples is maxmemory-samples; 0 means 5 (the Redis default).
	Samples int
	// LFULogFactor is lfu-log-factor; 0 means 10 (the Redis default).
	LFULogFactor int
	// LFUDecayTime is lfu-decay-time (Redis counts it in minutes); 0 means 1 min.
	LFUDecayTime time.Duration

	// SystemMemory is the memory of the node's machine or container: past it the
	// OOM killer ends the server. 0 means unlimited (no OOM kill, no fork failure).
	SystemMemory int64
	// OvercommitMemory is vm.overcommit_memory: 0 heuristic, 1 always, 2 never.
	// The zero value is the Linux default 0 (the scenario default is 1).
	OvercommitMemory int
	// OvercommitPre52 makes OvercommitMemory 0 follow the heuristic of Linux before
	// 5.2 (a fork fails when the child's private mappings exceed the free memory)
	// instead of the current one (a fork fails only when one mapping exceeds RAM +
	// swap); see forkAllowed in fork.go.
	OvercommitPre52 bool
	// BaselineUsed is used memory of data already on the node that the simulation
	// does not write (added to the empty server's measured baseline).
	BaselineUsed int64

	// RDBSave lists redis.conf "save" points, "seconds changes" each ("900 1").
	RDBSave []string
	// AllowWritesOnBGSaveError turns stop-writes-on-bgsave-error off (Redis default:
	// on, so a failed BGSAVE with save points configured makes writes fail with MISCONF).
	AllowWritesOnBGSaveError bool
	// AOF turns appendonly on.
	AOF bool
	// AOFRewritePercentage is auto-aof-rewrite-percentage; 0 disables automatic
	// rewrites, as in Redis (the scenario default is 100).
	AOFRewritePercentage int
	// AOFRewriteMinSize is auto-aof-rewrite-min-size in bytes; 0 means 64 MiB.
	AOFRewriteMinSize int64

	// SnapshotRate is used memory the fork child serializes per second; 0 means the
	// calibrated rate for incompressible values.
	SnapshotRate float64
	// PageSize is the page size copy-on-write copies (4 KiB; 2 MiB with transparent
	// huge pages); 0 means the calibration's page size.
	PageSize int64
	// ForkTimeBase and ForkTimePerGiB are the fork stall's line: the parent is
	// blocked ForkTimeBase + ForkTimePerGiB × used / GiB in fork(). Each zero part
	// takes the calibration's (calibration Fork.BaseNanos, Fork.NanosPerGiB).
	ForkTimeBase, ForkTimePerGiB time.Duration

	// RestartDelay is how long an OOM-killed server stays down before it starts
	// loading again; 0 means 10 s (the kubelet's first crash-restart back-off).
	RestartDelay time.Duration
	// LoadRate is used memory loaded per second when the server restarts from an RDB
	// or AOF; 0 means SnapshotRate (an assumption: loading is not calibrated).
	LoadRate float64

	// Replicas is the number of replicas of this master (replica.go); 0: none.
	Replicas int
	// ReplBacklogSize is repl-backlog-size; 0 means 1 MiB (the Redis default).
	ReplBacklogSize int64
	// FailoverTime is how long clients find no master after it failed before a
	// replica is promoted (0: at once).
	FailoverTime time.Duration
}

// Policy is a Redis maxmemory-policy.
type Policy string

// The Redis 7 eviction policies (evict.c).
const (
	NoEviction     Policy = "noeviction"
	AllKeysLRU     Policy = "allkeys-lru"
	AllKeysLFU     Policy = "allkeys-lfu"
	AllKeysRandom  Policy = "allkeys-random"
	VolatileLRU    Policy = "volatile-lru"
	VolatileLFU    Policy = "volatile-lfu"
	VolatileRandom Policy = "volatile-random"
	VolatileTTL    Policy = "volatile-ttl"
)

// Policies lists every policy in a fixed order.
var Policies = []Policy{NoEviction, AllKeysLRU, AllKeysLFU, AllKeysRandom, VolatileLRU, VolatileLFU, VolatileRandom, VolatileTTL}

func (p Policy) valid() bool {
	for _, q := range Policies {
		if p == q {
			return true
		}
	}
	return false
}

func (p Policy) allKeys() bool { return strings.HasPrefix(string(p), "allkeys-") }
func (p Policy) lru() bool     { return p == AllKeysLRU || p == VolatileLRU }
func (p Policy) lfu() bool     { return p == AllKeysLFU || p == VolatileLFU }
func (p Policy) random() bool  { return p == AllKeysRandom || p == VolatileRandom }

// SavePoint is one parsed "save seconds changes" rule.
type SavePoint struct {
	After   time.Duration
	Changes int64
}

// ParseSavePoint parses a redis.conf save point such as "900 1".
func ParseSavePoint(s string) (SavePoint, error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return SavePoint{}, fmt.Errorf("save point %q: want \"seconds changes\"", s)
	}
	sec, err1 := strconv.ParseInt(f[0], 10, 64)
	ch, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil || sec < 1 || ch < 1 {
		return SavePoint{}, fmt.Errorf("save point %q: seconds and changes must be positive integers", s)
	}
	return SavePoint{After: time.Duration(sec) * time.Second, Changes: ch}, nil
}

// Defaults of Redis 7 and of this model that Config's zero values stand for.
const (
	DefaultSamples           = 5                // maxmemory-samples
	DefaultLFULogFactor      = 10               // lfu-log-factor
	DefaultLFUDecayTime      = time.Minute      // lfu-decay-time 1
	DefaultAOFRewriteMinSize = 64 << 20         // auto-aof-rewrite-min-size 64mb
	DefaultRestartDelay      = 10 * time.Second // kubelet CrashLoopBackOff starts at 10 s
	DefaultReplBacklogSize   = 1 << 20          // repl-backlog-size 1mb
	bgsaveRetryDelay         = 5 * time.Second  // CONFIG_BGSAVE_RETRY_DELAY (server.h)
	cronPeriod               = 100 * time.Millisecond
)

// settings is a validated Config with every default filled in.
type settings struct {
	Config
	cal        calibration.Calibration
	savePoints []SavePoint
	flat       bool // OpTime/ByteTime/ScriptTime model
}

func (c Config) resolve() (*settings, error) {
	s := &settings{Config: c}
	if c.Calibration != nil {
		s.cal = *c.Calibration
	} else {
		s.cal = calibration.Default()
	}
	if err := s.cal.Validate(); err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) (*settings, error) {
		return nil, fmt.Errorf("redisnode %s: "+format, append([]any{c.Name}, args...)...)
	}
	if c.RTT < 0 || c.OpTime < 0 || c.ByteTime < 0 || c.ScriptTime < 0 {
		return bad("negative latency parameter (rtt %v, op %v, byte %v, script %v)", c.RTT, c.OpTime, c.ByteTime, c.ScriptTime)
	}
	if c.MaxMemory < 0 || c.SystemMemory < 0 || c.BaselineUsed < 0 || c.AOFRewriteMinSize < 0 {
		return bad("negative memory size (maxmemory %d, system %d, baseline %d, aof min %d)",
			c.MaxMemory, c.SystemMemory, c.BaselineUsed, c.AOFRewriteMinSize)
	}
	if c.Samples < 0 || c.LFULogFactor < 0 || c.LFUDecayTime < 0 || c.AOFRewritePercentage < 0 {
		return bad("negative eviction or AOF parameter")
	}
	if c.SnapshotRate < 0 || c.LoadRate < 0 || c.PageSize < 0 || c.ForkTimeBase < 0 || c.ForkTimePerGiB < 0 ||
		c.RestartDelay < 0 {
		return bad("negative fork or restart parameter")
	}
	if c.Weight < 0 {
		return bad("negative weight %d", c.Weight)
	}
	if c.Replicas < 0 || c.ReplBacklogSize < 0 || c.FailoverTime < 0 {
		return bad("negative replication parameter (replicas %d, backlog %d, failover time %v)",
			c.Replicas, c.ReplBacklogSize, c.FailoverTime)
	}
	if c.OvercommitMemory < 0 || c.OvercommitMemory > 2 {
		return bad("overcommit_memory %d: want 0, 1 or 2", c.OvercommitMemory)
	}
	if s.Policy == "" {
		s.Policy = NoEviction
	}
	if !s.Policy.valid() {
		return bad("unknown maxmemory-policy %q", c.Policy)
	}
	if s.RTT == 0 {
		s.RTT = s.cal.RTT()
	}
	s.flat = c.OpTime > 0 || c.ByteTime > 0 || c.ScriptTime > 0
	if s.Samples == 0 {
		s.Samples = DefaultSamples
	}
	if s.LFULogFactor == 0 {
		s.LFULogFactor = DefaultLFULogFactor
	}
	if s.LFUDecayTime == 0 {
		s.LFUDecayTime = DefaultLFUDecayTime
	}
	if s.AOFRewriteMinSize == 0 {
		s.AOFRewriteMinSize = DefaultAOFRewriteMinSize
	}
	if s.SnapshotRate == 0 {
		s.SnapshotRate = s.cal.Fork.SnapshotBytesPerSec
	}
	if s.ForkTimeBase == 0 {
		s.ForkTimeBase = time.Duration(math.Round(s.cal.Fork.BaseNanos))
	}
	if s.ForkTimePerGiB == 0 {
		s.ForkTimePerGiB = time.Duration(math.Round(s.cal.Fork.NanosPerGiB))
	}
	if s.LoadRate == 0 {
		s.LoadRate = s.SnapshotRate
	}
	if s.PageSize == 0 {
		s.PageSize = s.cal.COW.PageSizeBytes
	}
	if s.RestartDelay == 0 {
		s.RestartDelay = DefaultRestartDelay
	}
	if s.ReplBacklogSize == 0 {
		s.ReplBacklogSize = DefaultReplBacklogSize
	}
	for _, sp := range c.RDBSave {
		p, err := ParseSavePoint(sp)
		if err != nil {
			return bad("%v", err)
		}
		s.savePoints = append(s.savePoints, p)
	}
	if s.Rand == nil {
		h := fnv64(c.Name)
		s.Rand = rand.New(rand.NewPCG(h, h^0x9e3779b97f4a7c15))
	}
	return s, nil
}

// forkStall is the time the parent is blocked in fork() with used bytes.
func (s *settings) forkStall(used int64) time.Duration {
	return s.ForkTimeBase + time.Duration(math.Round(float64(s.ForkTimePerGiB)*float64(used)/calibration.GiB))
}

// snapshotDuration is how long the fork child runs for used bytes.
func (s *settings) snapshotDuration(used int64) time.Duration {
	return time.Duration(float64(used) / s.SnapshotRate * float64(time.Second))
}

// loadDuration is how long a restart loads used bytes.
func (s *settings) loadDuration(used int64) time.Duration {
	return time.Duration(float64(used) / s.LoadRate * float64(time.Second))
}

// fnv64 is FNV-1a of s: a fixed, platform-independent hash (hash/maphash is
// seeded per process and would break reproducibility).
func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// mix64 is SplitMix64's finalizer: spreads the bits of x.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
