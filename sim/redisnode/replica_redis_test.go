package redisnode

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillway-sim/spillway/internal/redistest"
	"github.com/spillway-sim/spillway/sim/calibration"
)

// TestReplicationAgainstRedis measures a master + replica pair of real
// redis-server processes on loopback and checks the replication model's
// constants (calibration.Replication) and predictions against them: the
// backlog and replica-client memory INFO reports, what WAIT costs after a
// pipeline, and how long a full sync takes for a dataset. It runs when
// redis-server is installed and -short is not set (CI installs it); the numbers
// are logged (go test -v) and recorded in sim/calibration/replication.go.
//
// The bounds are loose (a factor of 5 for times): on a shared machine loopback
// round trips and fork/serialize times vary by 2-3x from run to run (see
// sim/calibration/replication.go); the check is that the model's structure (a
// round trip plus a fraction of the master's work for WAIT; serialize then load
// for a sync) lands in the measured range, not that it matches to the percent.
func TestReplicationAgainstRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the real-Redis replication measurement")
	}
	if !redistest.Available() {
		t.Skip("redis-server not on PATH: skipping the real-Redis replication measurement (CI installs it)")
	}
	ctx := context.Background()
	master, err := redistest.Start("", []string{"--repl-diskless-sync-delay", "0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(master.Stop)
	replica, err := redistest.Start("", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(replica.Stop)
	m, r := redistest.Client(master.Addr), redistest.Client(replica.Addr)
	t.Cleanup(func() { m.Close(); r.Close() })
	cal := calibration.Default()
	rc := calibration.DefaultReplication()
	val := strings.Repeat("x", 100)

	fill := func(prefix string, from, n int) {
		t.Helper()
		for i := from; i < from+n; i += 1000 {
			p := m.Pipeline()
			for j := i; j < i+1000 && j < from+n; j++ {
				p.Set(ctx, prefix+strconv.Itoa(j), val, 0)
			}
			if _, err := p.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Full sync for two dataset sizes.
	total := 0
	for _, n := range []int{100_000, 400_000} {
		fill("k:", total, n-total)
		total = n
		used := infoInt(t, m, "memory", "used_memory")
		r.Do(ctx, "replicaof", "no", "one")
		r.FlushAll(ctx)
		host, port, _ := strings.Cut(master.Addr, ":")
		start := time.Now()
		if err := r.Do(ctx, "replicaof", host, port).Err(); err != nil {
			t.Fatal(err)
		}
		waitSynced(t, r)
		took := time.Since(start)
		model := cal.ForkTime(used) + cal.SnapshotDuration(used) + cal.SnapshotDuration(used) // fork, serialize, load
		t.Logf("full sync of %d keys (used_memory %d B): %v measured, %v modelled", n, used, took.Round(time.Millisecond), model.Round(time.Millisecond))
		// The replica connects on its next replicationCron (once a second).
		if took > 5*model+2*time.Second || model > 5*took {
			t.Errorf("full sync of %d B: measured %v, model %v: more than a factor 5 apart (2 s allowed for the handshake)", used, took, model)
		}
	}

	// Memory: the backlog is full (the stream passed 1 MiB), one idle replica client.
	backlog := infoInt(t, m, "memory", "mem_replication_backlog")
	clients := infoInt(t, m, "memory", "mem_clients_slaves")
	t.Logf("mem_replication_backlog %d B, mem_clients_slaves %d B (model: %d, %d)", backlog, clients,
		DefaultReplBacklogSize+rc.BacklogOverheadBytes, rc.ReplicaClientBytes)
	// Redis 7 keeps the backlog in 16 KiB blocks of the shared replication
	// buffer; what it reports beyond the size varies by a few bytes.
	if d := backlog - DefaultReplBacklogSize; d < 0 || d > 64 {
		t.Errorf("mem_replication_backlog %d, model %d (size + %d)", backlog, DefaultReplBacklogSize+rc.BacklogOverheadBytes, rc.BacklogOverheadBytes)
	}
	if clients < rc.ReplicaClientBytes/2 || clients > 3*rc.ReplicaClientBytes {
		t.Errorf("mem_clients_slaves %d, model %d: more than a factor 2-3 apart", clients, rc.ReplicaClientBytes)
	}

	// WAIT after a pipeline: measured extra against the model's round trip +
	// ApplyFraction × the master's work (the pipeline's time less a round trip).
	// Plain and waited pipelines alternate and the medians are compared, so a
	// noisy neighbour skews both alike.
	const reps = 201
	pipe := func(batch int, wait bool) time.Duration {
		p := m.Pipeline()
		for j := 0; j < batch; j++ {
			p.Set(ctx, "w:"+strconv.Itoa(j), val, 0)
		}
		var w *redis.Cmd
		if wait {
			w = p.Do(ctx, "wait", 1, 1000)
		}
		start := time.Now()
		if _, err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		if w != nil {
			if n, _ := w.Int(); n != 1 {
				t.Fatalf("WAIT 1 answered %d", n)
			}
		}
		return took
	}
	measure := func(batch int) (plain, extra time.Duration) {
		var ps, es []time.Duration
		for range reps {
			a := pipe(batch, false)
			b := pipe(batch, true)
			ps, es = append(ps, a), append(es, b-a)
		}
		return median(ps), median(es)
	}
	// The master's work for the pipeline is the calibrated service time of its
	// 1000 SETs, as the simulator charges it, not the pipeline's wall time:
	// under -race the client's own CPU makes a 1000-SET pipeline take ~5x longer
	// and inflated the model past the bound (CI: +663 µs modelled, +98 measured).
	_, rtt := measure(1) // one master↔replica round trip (GETACK, ACK)
	big, extra := measure(1000)
	work := 1000 * cal.ServiceTime(calibration.OpSetPX, 1, len(val))
	model := rtt + time.Duration(rc.ApplyFraction*float64(work))
	t.Logf("WAIT 1 after 1 SET: +%v; after 1000 SET (pipeline %v, master's work %v): +%v measured, +%v modelled",
		rtt, big, work, extra, model)
	// The model must not understate WAIT by more than a factor 5. It
	// overstates it: the client reads the 1000 replies while the replica
	// replays, which hides most of the replay from the measured extra
	// (measured +31 to +126 µs on the 2-core VM, modelled +348 to +355 µs; +31
	// with make test's other packages running beside it). A factor 12 bounds
	// that; docs/design.md says WAIT's modelled cost is an upper estimate.
	if extra > 5*model || model > 12*extra {
		t.Errorf("WAIT after 1000 SET: measured +%v, model +%v: more than a factor 5 under or 12 over", extra, model)
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// infoInt reads one integer field of an INFO section.
func infoInt(t *testing.T, c *redis.Client, section, field string) int64 {
	t.Helper()
	s, err := c.Info(context.Background(), section).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(s, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == field {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("INFO %s %s = %q", section, field, v)
			}
			return n
		}
	}
	t.Fatalf("INFO %s has no %s", section, field)
	return 0
}

// waitSynced polls the replica until its link is up and no sync is in
// progress (a test tool on wall time, not the simulator).
func waitSynced(t *testing.T, r *redis.Client) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		s, err := r.Info(context.Background(), "replication").Result()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(s, "master_link_status:up") && strings.Contains(s, "master_sync_in_progress:0") {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("the replica did not sync within 2 minutes")
}
