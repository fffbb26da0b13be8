package scenarios

import "testing"

// TestHostsValidation: redis.nodes_per_host and redis.persistence.bgsave_schedule
// are checked like every other field (file:line: field), and their defaults are
// today's behaviour (one instance per host, forks together).
func TestHostsValidation(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{name: "valid", src: "redis:\n  nodes: 6\n  nodes_per_host: 6\n  persistence: {bgsave_schedule: staggered}\n"},
		{name: "zero nodes per host", src: "redis:\n  nodes_per_host: 0\n", want: []string{
			"t.yaml:4: redis.nodes_per_host: must be at least 1, got 0"}},
		{name: "schedule", src: "redis:\n  persistence:\n    bgsave_schedule: stagger\n", want: []string{
			`t.yaml:5: redis.persistence.bgsave_schedule: "stagger" is not one of together, staggered (did you mean staggered?)`}},
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
	s := New("defaults")
	if s.Redis.NodesPerHost != 1 || s.Redis.Persistence.BGSaveSchedule != BGSaveTogether {
		t.Fatalf("defaults: nodes_per_host %d, bgsave_schedule %q; want 1, together",
			s.Redis.NodesPerHost, s.Redis.Persistence.BGSaveSchedule)
	}
}
