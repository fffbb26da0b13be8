package workload

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spillway-sim/spillway/core"
)

// Key identity: the one place that knows how the simulator's keys look.
//
// A datapoint's record key (and its store key in core) is "dp:" and its id in
// 8 zero-padded digits; a churned series (workload.lifetime) adds ".<epoch>".
// The core writes a store key to Redis under its namespace and the key's
// partition — core.RedisKey: "{<namespace>:<partition>}:<key>", with the
// namespace "spill" the simulated pods use — and keeps per-partition metadata at
// "{<namespace>:<partition>}#<kind>" (core/keys.go owns that format). Everything outside core that makes,
// parses or measures a key (the runner's accounting, the Redis fleet, the
// capacity recommendations, cmd/calibrate) goes through this file, so a change
// of the core's key format is one edit here.

// keyPrefix and keyDigits make every key the same length: "dp:" + 8 decimal digits.
const (
	keyPrefix = "dp:"
	keyDigits = 8
)

// KeyLen is the length in bytes of every key Key returns.
const KeyLen = len(keyPrefix) + keyDigits

// SpillNamespace is the namespace (core.Namespace) the simulated pods spill under.
const SpillNamespace = "spill"

// Key is the Kafka record key of datapoint k: "dp:" and k in 8 zero-padded digits.
// k must be below Datapoints.
func (w *Workload) Key(k uint32) string {
	var buf [KeyLen]byte
	return string(w.AppendKey(buf[:0], k))
}

// AppendKey appends Key(k) to dst without allocating (when dst has room).
func (w *Workload) AppendKey(dst []byte, k uint32) []byte {
	if int64(k) >= int64(len(w.keys)) {
		panic(fmt.Sprintf("workload: key %d out of range [0, %d)", k, len(w.keys)))
	}
	return appendKey(dst, w.ID(k))
}

// appendKey formats key k, which must be below 10^8.
func appendKey(dst []byte, k uint32) []byte {
	dst = append(dst, keyPrefix...)
	n := len(dst)
	dst = append(dst, "00000000"...)
	for i := n + keyDigits - 1; k > 0; i-- {
		dst[i] = byte('0' + k%10)
		k /= 10
	}
	return dst
}

// SeriesKey is the store key of series epoch of a datapoint whose key is key
// (workload.lifetime): "dp:00012345.4".
func SeriesKey(key string, epoch uint32) string {
	return key + "." + strconv.FormatUint(uint64(epoch), 10)
}

// ParseKey returns the datapoint id in a record key, a series' store key or a
// Redis key the core wrote for one: the digits after its last "dp:"
// ("dp:00012345", "dp:00012345.4", "{spill:3}:dp:00012345"). False when there
// is none, or something other than a series suffix follows the digits.
func ParseKey(key string) (uint32, bool) {
	i := strings.LastIndex(key, keyPrefix)
	if i < 0 {
		return 0, false
	}
	start := i + len(keyPrefix)
	j := start
	for j < len(key) && key[j] >= '0' && key[j] <= '9' {
		j++
	}
	if j == start || (j < len(key) && key[j] != '.') {
		return 0, false
	}
	v, err := strconv.ParseUint(key[start:j], 10, 32)
	return uint32(v), err == nil
}

// IsRedisDataKey reports whether a Redis key holds a datapoint's context (and
// not one of the core's per-partition metadata keys).
func IsRedisDataKey(key string) bool {
	kp, ok := core.ParseRedisKey(key)
	return ok && kp.Meta == "" && strings.HasPrefix(kp.Key, keyPrefix)
}

// RedisKey is the Redis key the core writes for store key key of partition p,
// under the pods' namespace: "{spill:<p>}:<key>".
func RedisKey(p int32, key string) string { return core.RedisKey(SpillNamespace, p, key) }

// RedisKeyLen is the length of the longest Redis key the core writes for a
// datapoint's key (no series suffix) with partitions partitions: that of the
// widest partition number.
func RedisKeyLen(partitions int) int {
	return len(RedisKey(int32(max(0, partitions-1)), "")) + KeyLen
}

// WideKey is a key shaped like a datapoint's with digits digits instead of 8
// ("dp:0000012345" for 10), for measuring keys of other lengths (cmd/calibrate).
func WideKey(id uint64, digits int) string {
	return fmt.Sprintf("%s%0*d", keyPrefix, digits, id)
}
