package core

import (
	"strconv"
	"strings"
)

// Behavior: the Redis key format, in one place.
//
//	data:  "{<ns>:<p>}:<key>"   value = envelope (envelope.go)
//	meta:  "{<ns>:<p>}#fence"   the partition's generation fence (fence.go)
//	       "{<ns>:<p>}#keys"    the partition's manifest (Manifest option)
//
// The braces are a Redis Cluster hash tag around namespace and partition: one
// partition's keys share a slot (a batch is one transaction, one MGET), partitions
// spread over slots, and partition 0 of two namespaces (two groups or topics on one
// Redis) lands on different slots. '#' after '}' keeps meta keys apart from data
// keys, which have ':' there. A namespace holds no braces, so the first '}' ends
// the tag; the partition is the digits after the tag's last ':'.

// RedisKey returns the Redis key of key in partition p of namespace ns.
func RedisKey(ns string, p int32, key string) string {
	return string(appendPartPrefix(nil, ns, p)) + key
}

// MetaKey returns the Redis key of partition p's metadata of the given kind
// ("fence" or "keys").
func MetaKey(ns string, p int32, kind string) string {
	b := appendPartTag(make([]byte, 0, len(ns)+len(kind)+16), ns, p)
	b = append(b, '#')
	return string(append(b, kind...))
}

// KeyParts is a Redis key of the store, split.
type KeyParts struct {
	Namespace string
	Partition int32
	Key       string // the store's key (data keys)
	Meta      string // "fence" or "keys" for a meta key, "" for a data key
}

// ParseRedisKey splits a Redis key the store writes. ok is false for any other key.
func ParseRedisKey(rkey string) (kp KeyParts, ok bool) {
	if len(rkey) < 5 || rkey[0] != '{' {
		return kp, false
	}
	end := strings.IndexByte(rkey, '}')
	if end < 0 || end+1 >= len(rkey) {
		return kp, false
	}
	tag := rkey[1:end]
	colon := strings.LastIndexByte(tag, ':')
	if colon <= 0 {
		return kp, false
	}
	p, err := strconv.ParseInt(tag[colon+1:], 10, 32)
	if err != nil || p < 0 {
		return kp, false
	}
	kp.Namespace, kp.Partition = tag[:colon], int32(p)
	switch rkey[end+1] {
	case ':':
		kp.Key = rkey[end+2:]
	case '#':
		kp.Meta = rkey[end+2:]
	default:
		return kp, false
	}
	return kp, true
}

// KeyPrefixLen is the length of the prefix "{<ns>:<p>}:" that RedisKey puts before
// a key of partition p.
func KeyPrefixLen(ns string, p int32) int {
	return len(ns) + len(strconv.Itoa(int(p))) + 4
}

func appendPartTag(dst []byte, ns string, p int32) []byte {
	dst = append(dst, '{')
	dst = append(dst, ns...)
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, int64(p), 10)
	return append(dst, '}')
}

func appendPartPrefix(dst []byte, ns string, p int32) []byte {
	return append(appendPartTag(dst, ns, p), ':')
}
