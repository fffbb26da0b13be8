// Package streams is a Redis Streams log driven through go-redis: the commands
// a Redis Streams consumer group and its producers send (XADD, XREADGROUP, XACK,
// XAUTOCLAIM, XGROUP DELCONSUMER, XINFO CONSUMERS), leases on streams (SET NX PX,
// renewed and released by compare-and-set scripts), a model of the memory a
// stream and its pending entries list take, and a model of producers that
// schedule the ticks (ticker, tick table, leased schedules).
//
// It owns the wire format of an entry and what each command means for the
// simulator; it does not decide who reads what or when (package sim does), and
// it reads no clock: every time it needs is passed in, and the Redis it talks
// to keeps virtual time (sim/redisnode sets miniredis's clock). The same code
// runs against a real redis-server (streams_redis_test.go), which is how the
// places where miniredis's streams differ are found.
//
//	l := streams.NewLog(rdb, streams.Config{Streams: 24, Group: "consumers"})
//	_ = l.Create(ctx)                                      // XGROUP CREATE ... MKSTREAM
//	_ = l.Add(ctx, []streams.Entry{{Stream: 3, Key: 7, Seq: 1, At: at}})
//	msgs, _ := l.Read(ctx, "pod-0#0", []int64{0, 0, 0, 500}) // XREADGROUP COUNT 500 per stream
//	_ = l.Ack(ctx, 3, []string{msgs[0].ID})
//	claimed, _ := l.AutoClaim(ctx, 3, "pod-1#1", 30*time.Second, 500)
package streams
