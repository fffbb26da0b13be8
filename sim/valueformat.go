package sim

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/spillway-sim/spillway/core"
	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim/workload"
	"github.com/spillway-sim/spillway/summary"
)

// Behavior: the value format of a stored context (workload.value_format) and the
// breakdown of what one stored context costs Redis.
//
// Encoding. binary: the codec writes the context's context_bytes as they are
// (ctxCodec, a hand-written binary core.Codec). json: core.JSONCodec — the
// core's own JSON codec, encoding/json — of an object {"seq": …, "state": …}
// whose state is the same context_bytes, which encoding/json writes in base64
// (4/3 of the bytes) between the field names and quotes. Redundant bytes: what
// each value repeats that its key already says — Instaclustr's legacy format
// duplicated the key name in every value ("Upgrades to Our Internal Monitoring
// Pipeline: Using Redis as a Cassandra Cache", Problem 3c,
// https://www.instaclustr.com/blog/upgrades-to-our-internal-monitoring-pipeline-using-redis-as-a-cassandra-cache/:
// "the key name started accounting for about half of the memory usage", and
// removing it and default values cut memory by about half). Here they are the
// datapoint's key name repeated to redundant_bytes: appended to the binary
// payload, or a "key" field of the JSON object. Every decode checks the whole
// value (the context's bytes and the redundant ones), so a wrong value is a
// decode error, as with the plain codec.
//
// Breakdown (redis_bytes_per_key.*): for the first 256 datapoints, the value the
// core writes is built with the core's own envelope function
// (core.EncodeEnvelope: the spill's appendEnvelope, compression kept only when
// it shrinks the payload), with the run's last group generation and its end time
// as the as-of time, under the Redis key the core uses ("{spill:<p>}:<key>");
// its used memory comes from the node's memory model (redisnode.Node.KeyBytes,
// with a TTL unless the store writes without one). Per key, on average: the key
// name, the envelope's framing (version, flags, varints, CRC), the payload before
// compression, what compression changed, and Redis's overhead (the rest).
// redis_nodes_needed divides the run's peak used memory (every active node's,
// taken as the fullest one's) by what one node may hold: redis.maxmemory, or half
// of redis.system_memory without one (the fork-safe advice for write-heavy
// nodes, docs/design.md).
//
// Not modelled: other fields a real format carries (timestamps, labels, default
// values written out), Redis hash or sorted-set encodings (the core writes
// strings), and the dict bucket tables in the per-key figure (they are in the
// run's used memory).

// jsonContext is the JSON object of a context: json.Marshal writes State in base64.
type jsonContext struct {
	Key   string `json:"key,omitempty"` // the redundant copy of the key name (redundant_bytes)
	Seq   uint32 `json:"seq"`
	State []byte `json:"state"`
}

// formatCodec is the pods' codec for a value format other than the plain binary one.
type formatCodec struct {
	size      int  // context_bytes
	json      bool // encoding: json
	redundant int  // redundant_bytes
}

// errRedundant is a value whose redundant bytes are not the key name's.
var errRedundant = errors.New("sim: redundant bytes do not repeat the key name")

// newCodec is the pods' codec for the scenario's value format; the plain binary
// format without redundant bytes is ctxCodec itself.
func newCodec(vf scenarios.ValueFormat, size int) core.Codec[ctxVal] {
	if vf.Encoding != scenarios.EncodingJSON && vf.RedundantBytes == 0 {
		return ctxCodec{size: size}
	}
	return formatCodec{size: size, json: vf.Encoding == scenarios.EncodingJSON, redundant: int(vf.RedundantBytes)}
}

// appendRedundant appends n bytes of datapoint k's key name, repeated.
func appendRedundant(dst []byte, k uint32, n int) []byte {
	var buf [32]byte
	name := strconv.AppendUint(append(buf[:0], "dp:"...), uint64(k), 10)
	name = append(name, ',')
	for n > 0 {
		m := min(n, len(name))
		dst = append(dst, name[:m]...)
		n -= m
	}
	return dst
}

// Append implements core.Codec.
func (c formatCodec) Append(dst []byte, v ctxVal) ([]byte, error) {
	state := workload.AppendContext(nil, v.Key, v.Seq, c.size)
	if !c.json {
		return appendRedundant(append(dst, state...), v.Key, c.redundant), nil
	}
	obj := jsonContext{Seq: v.Seq, State: state}
	if c.redundant > 0 {
		obj.Key = string(appendRedundant(nil, v.Key, c.redundant))
	}
	return core.JSONCodec[jsonContext]{}.Append(dst, obj)
}

// Decode implements core.Codec: the whole value is checked.
func (c formatCodec) Decode(b []byte) (ctxVal, error) {
	var state, extra []byte
	if c.json {
		obj, err := core.JSONCodec[jsonContext]{}.Decode(b)
		if err != nil {
			return ctxVal{}, err
		}
		state, extra = obj.State, []byte(obj.Key)
		k, seq, err := workload.DecodeContext(state)
		if err == nil && seq != obj.Seq {
			err = fmt.Errorf("sim: JSON seq %d, state seq %d", obj.Seq, seq)
		}
		if err != nil {
			return ctxVal{}, err
		}
		return c.checkRedundant(k, seq, extra)
	}
	if len(b) < c.size {
		return ctxVal{}, fmt.Errorf("%w: %d bytes, want %d", workload.ErrShortContext, len(b), c.size)
	}
	state, extra = b[:c.size], b[c.size:]
	k, seq, err := workload.DecodeContext(state)
	if err != nil {
		return ctxVal{}, err
	}
	return c.checkRedundant(k, seq, extra)
}

func (c formatCodec) checkRedundant(k, seq uint32, extra []byte) (ctxVal, error) {
	if len(extra) != c.redundant || string(appendRedundant(nil, k, c.redundant)) != string(extra) {
		return ctxVal{}, errRedundant
	}
	return ctxVal{Key: k, Seq: seq}, nil
}

// probeKeys is how many datapoints the breakdown encodes.
const probeKeys = 256

// valueBytes is the breakdown of one stored context (redis_bytes_per_key.*).
func (r *runner) valueBytes() summary.ValueBytes {
	var vb summary.ValueBytes
	n := min(probeKeys, r.wl.Datapoints())
	if n == 0 || len(r.redis.all) == 0 {
		return vb
	}
	node := r.redis.all[0]
	h := core.Header{Compression: r.compression, Generation: int64(max(r.group.Generation(), 0)),
		AsOfMillis: r.eng.Time().UnixMilli()}
	volatile := r.cfg.storeTTL > 0 && r.cfg.ttlOnlyEvery == 0
	var payload, env []byte
	for k := range uint32(n) {
		var err error
		payload, err = r.codec.Append(payload[:0], ctxVal{Key: k, Seq: 1})
		if err != nil {
			panic(fmt.Sprintf("sim: value format: %v", err))
		}
		env = core.EncodeEnvelope(env[:0], h, payload)
		framing, stored, ok := core.EnvelopeParts(env)
		if !ok {
			panic("sim: the core's envelope does not split")
		}
		rkey := workload.RedisKey(r.wl.Partition(k), r.keyNames[k])
		kb := node.KeyBytes(rkey, len(env), volatile)
		vb.KeyName += float64(len(rkey))
		vb.Envelope += float64(framing)
		vb.Payload += float64(len(payload))
		vb.Compression += float64(stored - len(payload))
		vb.RedisOverhead += float64(kb - int64(len(rkey)) - int64(len(env)))
		vb.Total += float64(kb)
	}
	for _, v := range []*float64{&vb.KeyName, &vb.Envelope, &vb.Payload, &vb.Compression, &vb.RedisOverhead, &vb.Total} {
		*v /= float64(n)
	}
	return vb
}

// nodesNeeded is how many nodes the run's peak used memory needs, and the
// budget of one: maxmemory, or half the system memory (0, 0: no limit known).
func (r *runner) nodesNeeded(usedPeak int64) (int64, int64) {
	budget := r.cfg.maxMemoryBytes
	if budget <= 0 {
		budget = r.cfg.systemMemoryBytes / 2
	}
	if budget <= 0 || usedPeak <= 0 {
		return 0, budget
	}
	total := usedPeak * int64(max(len(r.redis.active), 1))
	return int64(math.Ceil(float64(total) / float64(budget))), budget
}

// valueSize is the encoded size of one context (the codec's bytes), for bounds
// that depend on it.
func valueSize(c core.Codec[ctxVal]) int64 {
	b, err := c.Append(nil, ctxVal{Key: math.MaxUint32, Seq: math.MaxUint32})
	if err != nil {
		return 0
	}
	return int64(len(b))
}
