package scenarios

// Client contention and value format: the consumers' threads and Redis clients
// (consumers.threads, consumers.redis_client, consumers.redis_pool_size) and
// how a context is laid out in its Redis value (workload.value_format). The
// simulator's models are sim/clientpool.go and sim/valueformat.go.

// RedisClient is how a pod's consumer threads reach Redis.
type RedisClient string

// The consumers.redis_client values.
const (
	// RedisClientShared: one client, one connection pool, for every thread of
	// the pod (what go-redis and Lettuce recommend).
	RedisClientShared RedisClient = "shared"
	// RedisClientPerThread: each thread its own client and pool.
	RedisClientPerThread RedisClient = "per-thread"
)

// RedisClients lists the consumers.redis_client values.
var RedisClients = []string{string(RedisClientShared), string(RedisClientPerThread)}

// Encoding is how a context's fields are written in its Redis value.
type Encoding string

// The workload.value_format.encoding values.
const (
	// EncodingBinary: the context's own bytes (a hand-written core.Codec).
	EncodingBinary Encoding = "binary"
	// EncodingJSON: core.JSONCodec of an object {key, seq, state}: field names,
	// quotes, and the state's bytes in base64 (encoding/json's []byte).
	EncodingJSON Encoding = "json"
)

// Encodings lists the workload.value_format.encoding values.
var Encodings = []string{string(EncodingBinary), string(EncodingJSON)}

// ValueFormat is how a context is encoded in the value the core stores.
type ValueFormat struct {
	// Encoding is binary (the context's bytes) or json.
	Encoding Encoding `yaml:"encoding"`
	// RedundantBytes is what each value repeats that its key (or a default)
	// already says: Instaclustr's legacy format copied the key name into every
	// value. 0 = none.
	RedundantBytes Size `yaml:"redundant_bytes"`
}

// Limits of the client fields: far above any pod, low enough to catch a typo.
const (
	maxThreads  = 1024
	maxPoolSize = 100000
	// maxRedundantBytes keeps a value under Redis's 512 MiB bulk limit with room
	// for the context itself.
	maxRedundantBytes = 256 * MiB
)

// clients checks the client-contention and value-format fields.
func (c *checker) clients() {
	cs := c.s.Consumers
	switch {
	case cs.Threads < 1:
		c.add("consumers.threads", "must be at least 1 (consumer threads per pod), got %d", cs.Threads)
	case cs.Threads > maxThreads:
		c.add("consumers.threads", "%d threads per pod: at most %d", cs.Threads, maxThreads)
	}
	c.oneOf("consumers.redis_client", string(cs.RedisClient), RedisClients)
	switch {
	case cs.RedisPoolSize < 1:
		c.add("consumers.redis_pool_size", "must be at least 1 connection (go-redis PoolSize; its default is 10 per CPU), got %d",
			cs.RedisPoolSize)
	case cs.RedisPoolSize > maxPoolSize:
		c.add("consumers.redis_pool_size", "%d connections per client: at most %d", cs.RedisPoolSize, maxPoolSize)
	}
	vf := c.s.Workload.ValueFormat
	c.oneOf("workload.value_format.encoding", string(vf.Encoding), Encodings)
	switch {
	case vf.RedundantBytes < 0:
		c.add("workload.value_format.redundant_bytes", "%s must not be negative (0 = no redundant fields)", vf.RedundantBytes)
	case vf.RedundantBytes > maxRedundantBytes:
		c.add("workload.value_format.redundant_bytes", "%s is above %s (Redis values stop at 512MiB)", vf.RedundantBytes,
			Size(maxRedundantBytes))
	}
}
