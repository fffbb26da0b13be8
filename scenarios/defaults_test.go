package scenarios

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaultTableEntriesResolve(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range Defaults() {
		t.Run(e.Path, func(t *testing.T) {
			if seen[e.Path] {
				t.Fatalf("%s is in the table twice", e.Path)
			}
			seen[e.Path] = true
			if e.Source == "" {
				t.Errorf("%s has no source", e.Path)
			}
			s := &Scenario{Consumers: Consumers{Autoscaler: &Autoscaler{}}, Producers: &Producers{}, State: State{WaitReplicas: &WaitReplicas{}}}
			if _, ok := lookupField(reflect.ValueOf(s).Elem(), e.Path, false); !ok {
				t.Fatalf("%s is not a field", e.Path)
			}
			if e.Unless != "" {
				if _, ok := lookupField(reflect.ValueOf(s).Elem(), e.Unless, false); !ok {
					t.Fatalf("%s: unless %s is not a field", e.Path, e.Unless)
				}
			}
		})
	}
}

func TestNewHasTheDocumentedDefaults(t *testing.T) {
	s := New("x")
	tests := []struct {
		name string
		got  any
		want any
	}{
		{name: "version", got: s.Version, want: 1},
		{name: "seed", got: s.Seed, want: uint64(1)},
		{name: "duration", got: s.Duration.Std(), want: time.Hour},
		{name: "sample_every", got: s.SampleEvery.Std(), want: 10 * time.Second},
		{name: "interval", got: s.Workload.Interval.Std(), want: time.Minute},
		{name: "counter_fraction", got: s.Workload.CounterFraction, want: 1.0},
		{name: "context_bytes", got: s.Workload.ContextBytes, want: Size(64)},
		{name: "session_timeout", got: s.Log.SessionTimeout.Std(), want: 45 * time.Second},
		{name: "rebalance_time", got: s.Log.RebalanceTime.Std(), want: 3 * time.Second},
		{name: "poll_batch", got: s.Log.PollBatch, want: 500},
		{name: "commit_interval", got: s.Log.CommitInterval.Std(), want: 5 * time.Second},
		{name: "assignor", got: s.Log.Assignor, want: AssignorRange},
		{name: "replicas", got: s.Consumers.Replicas, want: 1},
		{name: "termination_grace", got: s.Consumers.TerminationGrace.Std(), want: 30 * time.Second},
		{name: "no autoscaler", got: s.Consumers.Autoscaler, want: (*Autoscaler)(nil)},
		{name: "strategy", got: s.State.Strategy, want: StrategySpillOnRevoke},
		{name: "ttl_intervals", got: s.State.TTLIntervals, want: 3},
		{name: "ttl", got: s.State.TTL, want: Duration(0)},
		{name: "compression", got: s.State.Compression, want: CompressionLZ4},
		{name: "spill_parallelism", got: s.State.SpillParallelism, want: 8},
		{name: "spill_batch", got: s.State.SpillBatch, want: 1000},
		{name: "restore", got: s.State.Restore, want: RestoreLazy},
		{name: "maxmemory_policy", got: s.Redis.MaxMemoryPolicy, want: PolicyNoEviction},
		{name: "maxmemory_samples", got: s.Redis.MaxMemorySamples, want: 5},
		{name: "overcommit_memory", got: s.Redis.OvercommitMemory, want: 1},
		{name: "rtt", got: s.Redis.RTT.Std(), want: 200 * time.Microsecond},
		{name: "aof_rewrite_percentage", got: s.Redis.Persistence.AOFRewritePercentage, want: 100},
		{name: "aof_rewrite_min_size", got: s.Redis.Persistence.AOFRewriteMinSize, want: 64 * MiB},
		{name: "overcommit_heuristic", got: s.Redis.OvercommitHeuristic, want: OvercommitCurrent},
		{name: "snapshot_rate (0: calibrated)", got: s.Redis.Persistence.SnapshotRate, want: Size(0)},
		{name: "page_size", got: s.Redis.Model.PageSize, want: 4 * KiB},
		{name: "fork_time_base (0: calibrated)", got: s.Redis.Model.ForkTimeBase.Std(), want: time.Duration(0)},
		{name: "fork_time_per_gib (0: calibrated)", got: s.Redis.Model.ForkTimePerGiB.Std(), want: time.Duration(0)},
		{name: "system_memory", got: s.Redis.SystemMemory, want: 8 * GiB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Fatalf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
	// New is complete but for the required datapoints.
	err := s.Validate()
	if fe := FieldErrors(err); len(fe) != 1 || fe[0].Path != "workload.datapoints" {
		t.Fatalf("New(x).Validate() = %v, want only workload.datapoints", err)
	}
}

func TestEnsureDefaultsFillsOnlyInvalidZeros(t *testing.T) {
	s := &Scenario{Name: "go", Workload: Workload{Datapoints: 10}}
	s.EnsureDefaults()
	if err := s.Validate(); err != nil {
		t.Fatalf("Scenario{}+EnsureDefaults does not validate: %v", err)
	}
	// Meaningful zeros stay zero: a Go caller who wants the defaults starts from New.
	if s.Consumers.TerminationGrace != 0 || s.Seed != 0 || s.Redis.OvercommitMemory != 0 || s.Consumers.Replicas != 0 {
		t.Fatalf("meaningful zeros were replaced: %+v %+v", s.Consumers, s.Redis)
	}
	if s.Log.SessionTimeout.Std() != 45*time.Second || s.Workload.Interval.Std() != time.Minute || s.State.TTLIntervals != 3 {
		t.Fatalf("invalid zeros were not filled: %+v %+v", s.Log, s.State)
	}
	// Set fields are kept.
	s2 := New("x")
	s2.Log.SessionTimeout = Duration(10 * time.Second)
	s2.EnsureDefaults()
	if s2.Log.SessionTimeout.Std() != 10*time.Second {
		t.Fatal("EnsureDefaults overwrote a set field")
	}
}

func TestEnsureDefaultsDerived(t *testing.T) {
	tests := []struct {
		name          string
		mutate        func(*Scenario)
		wantInterval  time.Duration
		wantTTL       time.Duration
		wantIntervals int
	}{
		{name: "neither", mutate: func(*Scenario) {}, wantInterval: time.Minute, wantIntervals: 3},
		{name: "ttl given", mutate: func(s *Scenario) { s.State.TTL = Duration(time.Minute) },
			wantInterval: time.Minute, wantTTL: time.Minute},
		{name: "mix given", mutate: func(s *Scenario) {
			s.Workload.Intervals = []IntervalShare{{Fraction: 1, Interval: Duration(time.Second)}}
		}, wantInterval: 0, wantIntervals: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newBase("x")
			tt.mutate(s)
			s.EnsureDefaults()
			if s.Workload.Interval.Std() != tt.wantInterval || s.State.TTL.Std() != tt.wantTTL ||
				s.State.TTLIntervals != tt.wantIntervals {
				t.Fatalf("interval %v ttl %v ttl_intervals %d", s.Workload.Interval, s.State.TTL, s.State.TTLIntervals)
			}
		})
	}
}

func TestParseKeepsExplicitZeros(t *testing.T) {
	s, err := Parse("z.yaml", []byte(`version: 1
seed: 0
workload: {datapoints: 5, counter_fraction: 0}
consumers: {termination_grace: 0s, replicas: 0, autoscaler: {max: 4, stabilization: 0s}}
redis: {overcommit_memory: 0, rtt: 0s}
`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Seed != 0 || s.Workload.CounterFraction != 0 || s.Consumers.TerminationGrace != 0 ||
		s.Consumers.Replicas != 0 || s.Consumers.Autoscaler.Stabilization != 0 || s.Redis.OvercommitMemory != 0 ||
		s.Redis.RTT != 0 {
		t.Fatalf("explicit zeros lost: %+v", s)
	}
}

func TestDefaultSourcesCiteTheRealSystems(t *testing.T) {
	want := map[string]string{
		"log.session_timeout":         "session.timeout.ms",
		"log.poll_batch":              "max.poll.records",
		"log.commit_interval":         "auto.commit.interval.ms",
		"consumers.termination_grace": "terminationGracePeriodSeconds",
		"redis.maxmemory_policy":      "maxmemory-policy",
		"log.assignor":                "cooperative-sticky",
	}
	for _, e := range Defaults() {
		if w, ok := want[e.Path]; ok && !strings.Contains(e.Source, w) {
			t.Errorf("%s source %q does not cite %s", e.Path, e.Source, w)
		}
	}
}
