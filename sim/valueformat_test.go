package sim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spillway-sim/spillway/core"
	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim/workload"
)

// TestFormatCodec: every value format round-trips, has the size its fields
// say, and a changed redundant byte is a decode error.
func TestFormatCodec(t *testing.T) {
	const size = 48
	v := ctxVal{Key: 123, Seq: 7}
	tests := []struct {
		name    string
		vf      scenarios.ValueFormat
		wantLen int // 0: JSON, checked by decoding it
	}{
		{name: "binary", vf: scenarios.ValueFormat{Encoding: scenarios.EncodingBinary}, wantLen: size},
		{name: "binary redundant", vf: scenarios.ValueFormat{Encoding: scenarios.EncodingBinary, RedundantBytes: 30}, wantLen: size + 30},
		{name: "json", vf: scenarios.ValueFormat{Encoding: scenarios.EncodingJSON}},
		{name: "json redundant", vf: scenarios.ValueFormat{Encoding: scenarios.EncodingJSON, RedundantBytes: 96}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCodec(tc.vf, size)
			b, err := c.Append(nil, v)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantLen > 0 && len(b) != tc.wantLen {
				t.Fatalf("%d bytes, want %d", len(b), tc.wantLen)
			}
			if tc.vf.Encoding == scenarios.EncodingJSON {
				var obj map[string]any
				if err := json.Unmarshal(b, &obj); err != nil {
					t.Fatalf("not JSON: %v", err)
				}
				state, _ := base64.StdEncoding.DecodeString(obj["state"].(string))
				if !bytes.Equal(state, workload.AppendContext(nil, v.Key, v.Seq, size)) {
					t.Fatal("the state field is not the context in base64")
				}
				if key, _ := obj["key"].(string); len(key) != int(tc.vf.RedundantBytes) || tc.vf.RedundantBytes > 0 && !strings.HasPrefix(key, "dp:123,") {
					t.Fatalf("key field %q", key)
				}
			}
			got, err := c.Decode(b)
			if err != nil || got != v {
				t.Fatalf("Decode = %+v, %v", got, err)
			}
			if tc.vf.RedundantBytes == 0 {
				return
			}
			bad := bytes.Clone(b)
			i := bytes.LastIndex(bad, []byte("dp:123"))
			bad[i+3] = '9'
			if _, err := c.Decode(bad); !errors.Is(err, errRedundant) {
				t.Fatalf("a changed redundant byte decoded: %v", err)
			}
		})
	}
	if _, ok := newCodec(scenarios.ValueFormat{Encoding: scenarios.EncodingBinary}, size).(ctxCodec); !ok {
		t.Fatal("the default format is not the plain codec")
	}
}

// TestValueBytesAreTheCoresValues runs a write-through run per value format and
// checks the breakdown against what the core wrote to the simulated Redis:
// every stored value re-encodes byte for byte with core.EncodeEnvelope (the
// function the breakdown uses), the probe's key names are the stored keys, its
// payload is the codec's size, and the parts add up to the node's per-key bytes.
func TestValueBytesAreTheCoresValues(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		payload     float64
	}{
		{name: "binary lz4", extra: "state: {strategy: write-through, ttl: 10m, compression: lz4}\n", payload: 64},
		{name: "json redundant none", extra: "state: {strategy: write-through, ttl: 10m, compression: none}\n", payload: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := scenario(t, tc.extra)
			sc.Duration = scenarios.Duration(90 * time.Second)
			sc.Workload.Datapoints = 600
			if tc.payload < 0 {
				sc.Workload.ValueFormat = scenarios.ValueFormat{Encoding: scenarios.EncodingJSON, RedundantBytes: 96}
			}
			r, rr := run(t, sc, nil)
			vb := r.valueBytes()
			if tc.payload < 0 {
				b, _ := r.codec.Append(nil, ctxVal{Key: 1, Seq: 1})
				tc.payload = float64(len(b))
			}
			if vb.Payload != tc.payload {
				t.Fatalf("payload %v, want %v", vb.Payload, tc.payload)
			}
			mr := r.redis.all[0].Miniredis()
			var checked int
			var keyLen float64
			for k := range uint32(probeKeys) {
				rkey := workload.RedisKey(r.wl.Partition(k), r.keyNames[k])
				keyLen += float64(len(rkey))
				val, err := mr.Get(rkey)
				if err != nil {
					continue // a gauge keeps no context
				}
				h, payload, err := core.DecodeEnvelope(nil, []byte(val), 1<<20)
				if err != nil {
					t.Fatalf("%s: %v", rkey, err)
				}
				if again := core.EncodeEnvelope(nil, h, payload); string(again) != val {
					t.Fatalf("%s: EncodeEnvelope gives %d bytes, the spill wrote %d", rkey, len(again), len(val))
				}
				checked++
			}
			if checked < probeKeys/2 {
				t.Fatalf("only %d of the probe's keys are in Redis", checked)
			}
			if keyLen/probeKeys != vb.KeyName {
				t.Fatalf("key name %v, the probe's keys average %v", vb.KeyName, keyLen/probeKeys)
			}
			sum := vb.KeyName + vb.Envelope + vb.Payload + vb.Compression + vb.RedisOverhead
			if d := sum - vb.Total; d > 1e-6 || d < -1e-6 || vb.RedisOverhead <= 0 {
				t.Fatalf("parts %+v do not add up to %v", vb, vb.Total)
			}
			if got := metric(t, rr, "redis_bytes_per_key"); got != float64(int64(vb.Total*10+0.5))/10 {
				t.Fatalf("redis_bytes_per_key %v, breakdown %v", got, vb.Total)
			}
		})
	}
}

// TestNodesNeeded: the peak over maxmemory, or over half the system memory.
func TestNodesNeeded(t *testing.T) {
	r := &runner{redis: &redisFleet{}}
	r.cfg.systemMemoryBytes = 8 << 30
	if n, budget := r.nodesNeeded(5 << 30); n != 2 || budget != 4<<30 {
		t.Fatalf("5 GiB on 8 GiB nodes: %d nodes of %d", n, budget)
	}
	r.cfg.maxMemoryBytes = 6 << 30
	if n, _ := r.nodesNeeded(5 << 30); n != 1 {
		t.Fatalf("5 GiB under maxmemory 6 GiB: %d nodes", n)
	}
	if n, _ := r.nodesNeeded(0); n != 0 {
		t.Fatalf("nothing stored: %d nodes", n)
	}
}
