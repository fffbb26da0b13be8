package sim

import (
	"github.com/spillway-sim/spillway/sim/redisnode"
	"github.com/spillway-sim/spillway/sim/workload"
)

// Behavior: redis.mode cluster — the run's Redis is a Redis Cluster of
// redis.nodes masters (redisnode.Cluster) and every pod's core talks to it
// through a go-redis ClusterClient. A {reshard: {to: N}} event migrates slots as
// redis-cli --cluster rebalance does (redisnode/reshard.go): new masters start
// empty, removed ones are drained and leave, and while a slot migrates the core
// meets ASK and TRYAGAIN. No key is lost by the migration itself: MIGRATE moves
// every key with its TTL. What the core cannot write or read while its slot
// migrates (a fenced batch answered ASK inside MULTI, an MGET answered TRYAGAIN)
// is lost only if it is dropped — with cause cluster_migrating.
//
// In ring mode the same event changes the ring's membership (as redis_nodes),
// so one timeline compares client-side hashing with Cluster resharding.

// newCluster makes the run's nodes the masters of a cluster.
func (f *redisFleet) newCluster() error {
	c, err := redisnode.NewCluster(f.r.eng, f.active)
	if err != nil {
		return err
	}
	f.cluster = c
	f.clusterSlot = make([]int, f.r.sc.Log.Partitions)
	for p := range f.clusterSlot {
		f.clusterSlot[p] = redisnode.Slot(workload.RedisKey(int32(p), ""))
	}
	return nil
}

// reshard is the reshard timeline event: migrate slots to `to` masters (the first
// `to` nodes ever created, new ones as needed), or resize the ring.
func (r *runner) reshard(to int) {
	f := r.redis
	if f.cluster == nil {
		before := len(f.active)
		if err := f.resize(to); err != nil {
			r.event("redis", "resharding to %d nodes: %v", to, err)
			return
		}
		r.event("timeline", "ring resharded: %d -> %d nodes", before, to)
		return
	}
	for len(f.all) < to {
		if _, err := f.addNode(); err != nil {
			r.event("redis", "resharding to %d masters: %v", to, err)
			return
		}
	}
	before := len(f.cluster.Masters())
	moves, err := f.cluster.Reshard(f.all[:to], redisnode.ReshardOptions{
		RTT: r.sc.Redis.RTT.Std(),
		OnDone: func(rep redisnode.ReshardReport) {
			f.active = f.cluster.Masters()
			st := f.cluster.Stats()
			r.event("redis", "cluster resharded to %d masters in %v: %d slots (%d with keys), %d keys, %d value bytes "+
				"migrated; clients were answered ASK %d, TRYAGAIN %d, MOVED %d times",
				rep.Masters, rep.Took, rep.Slots, rep.SlotsWithKeys, rep.Keys, rep.Bytes, st.Ask, st.TryAgain, st.Moved)
		},
	})
	if err != nil {
		r.event("redis", "resharding to %d masters: %v", to, err)
		return
	}
	if moves < 0 {
		r.event("timeline", "cluster reshard to %d masters: waits for the running reshard", to)
		return
	}
	// The draining masters keep serving their slots until they are empty.
	f.active = f.cluster.Masters()
	r.event("timeline", "cluster reshard: %d -> %d masters, %d slots to move", before, to, moves)
}

// unavailableCause is the cause of a context lost because Redis refused its
// spill or restore: cluster_migrating when its slot refused a command during a
// migration, else redis_unavailable.
func (r *runner) unavailableCause(k uint32) Cause {
	f := r.redis
	if f == nil || f.cluster == nil {
		return CauseRedisUnavailable
	}
	p := r.wl.Partition(k)
	if int(p) < len(f.clusterSlot) && f.cluster.RefusedForMigration(f.clusterSlot[p]) {
		return CauseClusterMigrating
	}
	return CauseRedisUnavailable
}

// auditCluster copies the cluster's migration audit into the run's audit
// (audit.cluster_migration_lost): keys a MIGRATE did not carry intact.
func (r *runner) auditCluster() {
	if f := r.redis; f != nil && f.cluster != nil {
		r.audit.clusterMigration = f.cluster.Stats().MigrateViolations
	}
}
