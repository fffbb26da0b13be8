package scenarios

import (
	"testing"
)

func TestEstimateFootprint(t *testing.T) {
	const mb = 1 << 20
	tests := []struct {
		name string
		src  string
		want int64
	}{
		// 1000 keys x (110 + 64 + 50) + 10 minutes of records (10/key) x 16 B + miniredis 1000 x 540.
		{name: "spill", src: "version: 1\nduration: 60m\nworkload: {datapoints: 1000, interval: 60s}\n",
			want: 64*mb + 1000*(110+64+50) + 10_000*16 + 1000*540},
		{name: "memory-only skips miniredis", src: "version: 1\nduration: 60m\nworkload: {datapoints: 1000}\nstate: {strategy: memory-only}\n",
			want: 64*mb + 1000*(110+64+50) + 10_000*16},
		{name: "bigger values cost miniredis more", src: "version: 1\nduration: 60m\nworkload: {datapoints: 1000, context_bytes: 256}\n",
			want: 64*mb + 1000*(110+256+50) + 10_000*16 + 1000*(540+192)},
		{name: "interval mix", src: "version: 1\nduration: 10m\nworkload: {datapoints: 1000, intervals: [{fraction: 0.5, interval: 10s}, {fraction: 0.5, interval: 1m}]}\nstate: {strategy: memory-only}\n",
			want: 64*mb + 1000*(110+64+50) + (500*60+500*10)*16},
		{name: "heaviest run of the variants", src: "version: 1\nduration: 60m\nworkload: {datapoints: 1000}\nstate: {strategy: memory-only}\nvariants: [{name: a}, {name: b, set: {state.strategy: spill-on-revoke}}]\n",
			want: 64*mb + 1000*(110+64+50) + 10_000*16 + 1000*540},
		{name: "a short run holds all its records", src: "version: 1\nduration: 5m\nworkload: {datapoints: 1000, interval: 60s}\nstate: {strategy: memory-only}\n",
			want: 64*mb + 1000*(110+64+50) + 5_000*16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("f.yaml", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if got := EstimateFootprint(s); got != tt.want {
				t.Fatalf("EstimateFootprint = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestEstimateFootprintScales(t *testing.T) {
	small := New("a")
	small.Workload.Datapoints = 1_000_000
	big := New("b")
	big.Workload.Datapoints = 10_000_000
	if f := EstimateFootprint(small); f < 500<<20 || f > 2<<30 {
		t.Fatalf("1M keys for 1h estimated at %d bytes, want 0.5-2 GiB", f)
	}
	if EstimateFootprint(big) <= 9*(EstimateFootprint(small)-baseBytes) {
		t.Fatal("footprint does not grow with keys")
	}
}
