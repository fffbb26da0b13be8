package sim

import (
	"encoding/json"
	"testing"
	"time"
)

func TestSummaryJSONKeepsOrderAndValues(t *testing.T) {
	s := Summary{{Name: "messages", Value: 12}, {Name: "context_loss_ratio", Value: 0.034483}, {Name: "a_big", Value: 1e18}}
	b, err := json.Marshal(s)
	if err != nil || string(b) != `{"messages":12,"context_loss_ratio":0.034483,"a_big":1e+18}` {
		t.Fatalf("marshal = %s, %v", b, err)
	}
	var back Summary
	if err := json.Unmarshal(b, &back); err != nil || len(back) != 3 || back[1].Name != "context_loss_ratio" || back[2].Value != 1e18 {
		t.Fatalf("unmarshal = %+v, %v", back, err)
	}
	if v, ok := back.Get("messages"); !ok || v != 12 {
		t.Fatalf("Get = %v %v", v, ok)
	}
	if _, ok := back.Get("nope"); ok {
		t.Fatal("Get of a missing metric reported ok")
	}
}

func TestSeriesColumnAndDuration(t *testing.T) {
	s := Series{Columns: []string{"t_s", "x"}, Rows: [][]float64{{0, 1}, {10, 3}}}
	if got := s.Column("x"); len(got) != 2 || got[1] != 3 {
		t.Fatalf("Column = %v", got)
	}
	if s.Column("missing") != nil {
		t.Fatal("missing column not nil")
	}
	b, _ := json.Marshal(Duration(90 * time.Second))
	var d Duration
	if string(b) != `"1m30s"` || json.Unmarshal(b, &d) != nil || d != Duration(90*time.Second) {
		t.Fatalf("Duration JSON %s -> %v", b, d)
	}
}
