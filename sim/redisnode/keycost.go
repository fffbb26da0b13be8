package redisnode

// Behavior: what one string key costs the node's used_memory by the memory
// model (memory.go): its dictEntry, the key's SDS, the value (EMBSTR up to 44
// bytes, else a robj and a RAW SDS) and, with a TTL, its entry in the expires
// dict, each rounded to its jemalloc size class. The dict bucket tables (8 bytes
// per key per dict at a load factor of 1, up to twice that just after a
// resize) are not included. For the value-format breakdown (sim/valueformat.go).

// KeyBytes is the used memory of one string key named key holding valueLen
// bytes, with a TTL when volatile; one key, whatever the sampling weight.
func (n *Node) KeyBytes(key string, valueLen int, volatile bool) int64 {
	m := newMemModel(n.mem.cal, 0)
	e := entry{key: key, kind: kindString, valueLen: int32(valueLen), volPos: -1}
	if volatile {
		e.volPos = 0
	}
	return m.bytesOf(&e)
}
