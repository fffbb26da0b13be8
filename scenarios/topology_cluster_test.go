package scenarios

import (
	"strings"
	"testing"
)

func TestRedisModeValidation(t *testing.T) {
	tests := []struct {
		name string
		src  string // after head (lines 1-2)
		want []string
	}{
		{name: "cluster with a reshard", src: "redis: {nodes: 3, mode: cluster}\ntimeline:\n  - {at: 1m, reshard: {to: 4}}\n"},
		{name: "ring with a reshard", src: "redis: {nodes: 3, mode: ring}\ntimeline:\n  - {at: 1m, reshard: {to: 2}}\n"},
		{name: "derived ring with a reshard", src: "timeline:\n  - {at: 1m, reshard: {to: 2}}\n"},
		{name: "unknown mode", src: "redis: {mode: clustre}\n", want: []string{
			`t.yaml:3: redis.mode: "clustre" is not one of single, ring, cluster (did you mean cluster?)`}},
		{name: "single with nodes", src: "redis: {nodes: 3, mode: single}\n", want: []string{
			"t.yaml:3: redis.mode: single runs one node, but redis.nodes is 3 (write ring or cluster)"}},
		{name: "single with a reshard", src: "redis: {mode: single}\ntimeline:\n  - {at: 1m, reshard: {to: 2}}\n", want: []string{
			"t.yaml:5: timeline[0].reshard: changes the node count, but redis.mode is single (write redis.mode: ring or cluster)"}},
		{name: "cluster with redis_nodes", src: "redis: {nodes: 3, mode: cluster}\ntimeline:\n  - {at: 1m, redis_nodes: 4}\n", want: []string{
			"t.yaml:5: timeline[0].redis_nodes: changes a client-side ring; a Cluster migrates slots: write reshard: {to: 4}"}},
		{name: "reshard to zero", src: "redis: {nodes: 3, mode: cluster}\ntimeline:\n  - {at: 1m, reshard: {to: 0}}\n", want: []string{
			"t.yaml:5: timeline[0].reshard.to: 0: at least one master must remain (write e.g. reshard: {to: 4})"}},
		{name: "reshard unknown field", src: "redis: {nodes: 3, mode: cluster}\ntimeline:\n  - {at: 1m, reshard: {nodes: 4}}\n", want: []string{
			"t.yaml:5: timeline[0].reshard.nodes: unknown field (timeline[0].reshard takes to)",
			"t.yaml:5: timeline[0].reshard.to: 0: at least one master must remain (write e.g. reshard: {to: 4})"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := head + tt.src
			if tt.want == nil {
				if _, err := Parse("t.yaml", []byte(src)); err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			checkErrors(t, src, tt.want)
		})
	}
}

func TestResolvedRedisMode(t *testing.T) {
	one, four := 1, 4
	tests := []struct {
		name  string
		nodes int
		mode  RedisMode
		tl    []Event
		want  RedisMode
	}{
		{name: "one node", nodes: 1, want: RedisSingle},
		{name: "nodes > 1 is a ring, as before redis.mode", nodes: 3, want: RedisRing},
		{name: "a redis_nodes event makes a ring", nodes: 1, tl: []Event{{RedisNodes: &four}}, want: RedisRing},
		{name: "a reshard makes a ring", nodes: 1, tl: []Event{{Reshard: &Reshard{To: 2}}}, want: RedisRing},
		{name: "explicit cluster", nodes: 3, mode: RedisCluster, want: RedisCluster},
		{name: "explicit cluster of one", nodes: one, mode: RedisCluster, want: RedisCluster},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New("x")
			s.Redis.Nodes, s.Redis.Mode, s.Timeline = tt.nodes, tt.mode, tt.tl
			if got := s.ResolvedRedisMode(); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestClusterRefusesReplicas(t *testing.T) {
	src := "version: 1\nname: x\nduration: 1m\nworkload: {datapoints: 100, interval: 10s}\nredis: {nodes: 3, mode: cluster, replicas: 1}\n"
	_, err := Parse("x.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "redis.replicas") || !strings.Contains(err.Error(), "x.yaml:") {
		t.Fatalf("cluster with replicas: %v", err)
	}
}
