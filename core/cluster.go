package core

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// topologyRefreshEvery bounds how often refreshTopology asks a Cluster for its
// slot map: a storm of failing batches costs one reload, not one per batch.
const topologyRefreshEvery = 100 * time.Millisecond

// refresher reloads a Redis Cluster client's slot map after a failure that may
// mean a master moved.
//
// go-redis's ClusterClient reloads its slot map on MOVED/ASK, and otherwise
// only every ClusterStateReloadInterval (60 s by default since v9.22): on
// "connection refused" from a killed master it keeps sending that master's
// slots to the dead address even after a replica took over
// (redis/go-redis#3979). ReloadState only schedules a reload in the
// background; ForEachMaster reloads synchronously first, so the retry that
// follows goes to the new master.
type refresher struct {
	last atomic.Int64 // Unix nanos (store clock) of the last reload started
}

// refreshTopology reloads the slot map of a *redis.ClusterClient now, at most
// once per topologyRefreshEvery; for any other client it does nothing.
func (s *Store[V]) refreshTopology(ctx context.Context) {
	cc, ok := s.rdb.(*redis.ClusterClient)
	if !ok {
		return
	}
	now := s.cfg.clock.Now().UnixNano()
	last := s.topo.last.Load()
	if now-last < int64(topologyRefreshEvery) || !s.topo.last.CompareAndSwap(last, now) {
		return
	}
	_ = cc.ForEachMaster(ctx, func(context.Context, *redis.Client) error { return nil })
}
