package broker_test

import (
	"fmt"
	"time"

	"github.com/spillway-sim/spillway/sim/broker"
	"github.com/spillway-sim/spillway/sim/engine"
)

// pod is a minimal broker.Member: it prints its callbacks and revokes at once.
type pod struct {
	name string
	eng  *engine.Engine
}

func (p pod) Revoke(gen int32, parts []int32, done func()) {
	fmt.Printf("%v %s revoke gen=%d %v\n", p.eng.Now(), p.name, gen, parts)
	done()
}

func (p pod) Assign(gen int32, owned, added []int32) {
	fmt.Printf("%v %s assign gen=%d owned=%v added=%v\n", p.eng.Now(), p.name, gen, owned, added)
}

func (p pod) Lost(parts []int32) { fmt.Printf("%v %s lost %v\n", p.eng.Now(), p.name, parts) }

// Example runs the package's usage sketch: a cooperative group of one pod, a
// second pod joining (two rounds, one partition moves), commits, and a crash
// noticed at the session timeout. The pause total is 4 partitions x 6s for
// the first assignment, 2 x 3s for the moved ones, 2 x 3s for the orphans.
func Example() {
	eng := engine.New(42)
	log, _ := broker.NewLog(4)
	cfg := broker.DefaultGroupConfig()
	cfg.Assignor = broker.AssignorCooperativeSticky
	g, _ := broker.NewGroup(eng, cfg, log)
	g.OnRebalance(func(ev broker.RebalanceEvent) { fmt.Println("event", ev) })

	_ = g.Join("pod-0#1", "", pod{"pod-0", eng})
	eng.RunUntil(time.Minute) // initial delay 3s + round 3s

	log.Append(3, broker.Record{Key: 7, Seq: 1, At: eng.Now()})
	recs := log.Fetch(3, g.Committed(3), 500)
	err := g.Commit("pod-0#1", g.Generation(), 3, g.Committed(3)+int64(len(recs)))
	fmt.Println("commit:", err, "lag:", g.Lag(3))

	_ = g.Join("pod-1#1", "", pod{"pod-1", eng})
	eng.RunUntil(2 * time.Minute)

	_ = g.Stop("pod-1#1") // SIGKILL
	eng.RunUntil(3 * time.Minute)
	fmt.Println("generation", g.Generation(), "rebalances", g.Rebalances(), "pause", g.RebalancePauseTotal())
	// Output:
	// event 6s gen=1 cooperative-sticky round=1 members=1 assign={pod-0#1:[0 1 2 3]} revoked={} added={pod-0#1:[0 1 2 3]}
	// 6s pod-0 assign gen=1 owned=[0 1 2 3] added=[0 1 2 3]
	// commit: <nil> lag: 0
	// event 1m3s gen=2 cooperative-sticky round=1 members=2 assign={pod-0#1:[0 1]} revoked={pod-0#1:[2 3]} added={} pending=[2 3]
	// 1m3s pod-0 revoke gen=2 [2 3]
	// 1m3s pod-1 assign gen=2 owned=[] added=[]
	// 1m3s pod-0 assign gen=2 owned=[0 1] added=[]
	// event 1m6s gen=3 cooperative-sticky round=2 members=2 assign={pod-0#1:[0 1] pod-1#1:[2 3]} revoked={} added={pod-1#1:[2 3]}
	// 1m6s pod-0 assign gen=3 owned=[0 1] added=[]
	// 1m6s pod-1 assign gen=3 owned=[2 3] added=[2 3]
	// event 2m48s gen=4 cooperative-sticky round=1 members=1 assign={pod-0#1:[0 1 2 3]} revoked={} added={pod-0#1:[2 3]} removed=[pod-1#1]
	// 2m48s pod-0 assign gen=4 owned=[0 1 2 3] added=[2 3]
	// generation 4 rebalances 4 pause 36s
}
