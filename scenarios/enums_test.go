package scenarios

import (
	"slices"
	"testing"

	"github.com/spillway-sim/spillway/core"
	"github.com/spillway-sim/spillway/sim/broker"
	"github.com/spillway-sim/spillway/sim/redisnode"
)

// coreNames lists the names core accepts for an enum: String of each value from
// 0 for as long as parse accepts it back.
func coreNames[T ~int | ~uint8](str func(T) string, parse func(string) (T, error)) []string {
	var out []string
	for v := T(0); ; v++ {
		s := str(v)
		if got, err := parse(s); err != nil || got != v {
			return out
		}
		out = append(out, s)
	}
}

// TestEnumsMatchTheirImplementations: the schema's value lists are exactly the
// names the implementing packages accept (core.ParseStrategy,
// core.ParseCompression, broker.Assignors, redisnode.Policies).
func TestEnumsMatchTheirImplementations(t *testing.T) {
	var policyNames []string
	for _, p := range redisnode.Policies {
		policyNames = append(policyNames, string(p))
	}
	tests := []struct {
		name         string
		schema, impl []string
	}{
		{name: "state.strategy", schema: strategies,
			impl: coreNames(core.Strategy.String, core.ParseStrategy)},
		{name: "state.compression", schema: compressions,
			impl: coreNames(core.Compression.String, core.ParseCompression)},
		{name: "log.assignor", schema: assignors, impl: broker.Assignors},
		{name: "redis.maxmemory_policy", schema: policies, impl: policyNames},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.impl) == 0 {
				t.Fatal("the implementation lists no names")
			}
			a, b := slices.Sorted(slices.Values(tt.schema)), slices.Sorted(slices.Values(tt.impl))
			if !slices.Equal(a, b) {
				t.Fatalf("the schema accepts %v, the implementation %v", a, b)
			}
		})
	}
}
