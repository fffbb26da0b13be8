package broker

import (
	"strings"
	"testing"
	"time"
)

func TestGroupConfigResolve(t *testing.T) {
	tests := []struct {
		name    string
		cfg     GroupConfig
		want    GroupConfig
		wantErr string
	}{
		{
			name: "zero value takes Kafka's defaults",
			cfg:  GroupConfig{},
			want: GroupConfig{Assignor: "range", SessionTimeout: 45 * time.Second, RebalanceTime: 3 * time.Second,
				RebalanceTimeout: 5 * time.Minute, InitialRebalanceDelay: 3 * time.Second},
		},
		{
			name: "DefaultGroupConfig is already resolved",
			cfg:  DefaultGroupConfig(),
			want: GroupConfig{Assignor: "range", SessionTimeout: 45 * time.Second, RebalanceTime: 3 * time.Second,
				RebalanceTimeout: 5 * time.Minute, InitialRebalanceDelay: 3 * time.Second},
		},
		{
			name: "NoDelay means zero",
			cfg:  GroupConfig{Assignor: "sticky", StaticMembership: true, RebalanceTime: NoDelay, InitialRebalanceDelay: NoDelay},
			want: GroupConfig{Assignor: "sticky", StaticMembership: true, SessionTimeout: 45 * time.Second,
				RebalanceTimeout: 5 * time.Minute},
		},
		{name: "unknown assignor", cfg: GroupConfig{Assignor: "roundrobin"}, wantErr: `unknown assignor "roundrobin"`},
		{name: "session below the broker minimum", cfg: GroupConfig{SessionTimeout: 5 * time.Second}, wantErr: "outside the broker's allowed range [6s, 30m0s]"},
		{name: "session above the broker maximum", cfg: GroupConfig{SessionTimeout: time.Hour}, wantErr: "session timeout 1h0m0s"},
		{name: "negative session", cfg: GroupConfig{SessionTimeout: -time.Second}, wantErr: "session timeout -1s"},
		{name: "negative rebalance timeout", cfg: GroupConfig{RebalanceTimeout: -time.Second}, wantErr: "rebalance timeout -1s must be positive"},
		{name: "negative rebalance time", cfg: GroupConfig{RebalanceTime: -2 * time.Second}, wantErr: "rebalance time -2s is negative (use NoDelay for zero)"},
		{name: "negative initial delay", cfg: GroupConfig{InitialRebalanceDelay: -2 * time.Second}, wantErr: "initial rebalance delay -2s is negative"},
		{name: "rebalance time not shorter than its timeout", cfg: GroupConfig{RebalanceTime: time.Minute, RebalanceTimeout: time.Minute}, wantErr: "must be shorter than the rebalance timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.resolve()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("resolved %+v, want %+v", got, tt.want)
			}
		})
	}
}
