package sim

import (
	"container/heap"
	"math"
	"slices"
	"time"

	"github.com/spillway-sim/spillway/scenarios"
	"github.com/spillway-sim/spillway/sim/redisnode"
)

// Behavior: a pod's consumer threads and the connection pools of its Redis
// clients (consumers.threads, consumers.redis_client, consumers.redis_pool_size).
//
// Threads. A pod runs one consumer whose poll batches are shared by its T
// threads, partition by partition (the i-th of the pod's partitions, in order,
// goes to thread i mod T, so a partition keeps its order); the pod polls again
// when every thread is done with the batch (a poll-process-commit loop whose
// offsets stay at-least-once). Each thread processes its records one after the
// other (process_time each, on its own core), and makes its share of the batch's
// Redis work: of the restore and of the write-through or checkpoint Sync, the
// i-th round trip of each of the core's lanes (the calling goroutine and each
// spill worker, core.SpillWorker) goes to thread i mod T, on that thread's lane of
// the same index. So T threads keep up to T × (spill_parallelism + 1) round trips
// in flight.
//
// Pools. go-redis gives each client one pool of PoolSize connections
// (options.go: "default: 10 * runtime.GOMAXPROCS(0)"; internal/pool/pool.go: a
// command or a pipeline takes a connection for its whole round trip — Get waits
// on a PoolSize-wide semaphore, Put returns it — and a caller that finds every
// connection busy waits for one, up to PoolTimeout, default ReadTimeout + 1 s,
// then fails with "redis: connection pool timeout"). A pipeline is one round
// trip on one connection, which is why the core pipelines spill_batch keys per
// call. With redis_client: shared the T threads' round trips go through one
// pool of redis_pool_size connections, first come first served: when more are in
// flight than there are connections, a thread's command waits behind the other
// threads' (head-of-line blocking on the client's connections). With
// per-thread, each thread has its own pool and waits only for itself.
// Instaclustr's Redis writers ("Upgrades to Our Internal Monitoring Pipeline:
// Using Redis as a Cassandra Cache",
// https://www.instaclustr.com/blog/upgrades-to-our-internal-monitoring-pipeline-using-redis-as-a-cassandra-cache/)
// shared one Lettuce client between their Kafka consumer threads, as Lettuce
// recommends; giving each thread its own client doubled throughput and drained
// the consumer lag.
//
// The replay: an action's calls as the Redis nodes charged them (redisnode.Meter
// Trace: each call's cost to the caller, the server's service time, the real
// round trips it stands for) are placed on the connections in the order they
// are requested, each taking the connection free first (ties: the lower
// connection, then the lower thread and lane); a lane's next call is requested
// when its previous one returns. The action ends when its last call returns,
// and never before the single-threaded server has served every call's service
// time. With one thread and no more lanes than connections nothing waits and the
// action takes what the nodes charged (Meter.Elapsed): consumers.threads: 1 runs
// exactly as before this model.
//
// Checked against go-redis v9.23 and redis-server 7.0.15 on this machine
// (TestClientPoolAgainstRedisServer, SPILLWAY_REAL_CLIENTS=1): 4 threads × 5
// lanes of sequential SETs across a 2 ms round trip (added on the client's
// writes), pool size 10. One shared client: 3,362 and 3,227 SET/s in two runs,
// ~10 k commands that waited for a connection (go-redis PoolStats.WaitCount);
// one client per thread: 6,564 and 6,955 SET/s, no wait. Measured ratio 1.95 and
// 2.16; the replay of the same shape: 2.00, with waits only on the shared pool.
//
// Not modelled: the wait never fails (a real client gives up after PoolTimeout;
// the run reports the longest wait, redis_pool_wait_max, to compare with it);
// Lettuce's single multiplexed connection (commands pipelined from every thread on
// one socket, decoded by one event-loop thread) — a shared go-redis pool of a few
// connections is the nearest go-redis shape; connection dial time and idle
// connections; threads contending for fewer CPU cores than threads; handoff
// spills (revoke, lost, shutdown), which one caller runs with
// spill_parallelism workers as before; a thread's Redis work overlapping its own
// or another batch's processing. Sampled runs (workload.sample_rate): a
// simulated poll's records go to the threads of their partitions, so a poll of
// fewer simulated records than threads keeps fewer threads busy on the CPU than
// the real poll (the round trips are still dealt to every thread).
type clientModel struct {
	threads   int
	perThread bool
	poolSize  int
	// trace: the pods' poll-loop meters keep their calls (an action can wait
	// for a connection: more than one thread, or more lanes than connections).
	trace bool

	waits     int64         // real round trips that waited for a connection
	waitMax   time.Duration // the longest such wait
	waitTotal time.Duration // summed
}

// newClientModel reads the consumers' client fields; lanes is the most lanes one
// of the pod's actions can use (spill_parallelism + 1).
func newClientModel(cs scenarios.Consumers, lanes int) *clientModel {
	m := &clientModel{threads: max(cs.Threads, 1), perThread: cs.RedisClient == scenarios.RedisClientPerThread,
		poolSize: max(cs.RedisPoolSize, 1)}
	m.trace = m.threads > 1 || lanes > m.poolSize
	return m
}

// maxExpand caps how many round trips one traced call is replayed as: a sampled
// call standing for more is replayed as this many, each carrying its share.
const maxExpand = 4096

// elapsed is the virtual time action m (a restore or a Sync of the poll loop)
// takes the pod when its threads share the work and their round trips go through
// the pool(s); it counts the waits for a connection.
func (cm *clientModel) elapsed(m *redisnode.Meter) time.Duration {
	traced := m.Traced()
	if !cm.trace || cm.threads == 1 && len(traced) <= cm.poolSize {
		return m.Elapsed()
	}
	end, st := replay(m.Lead, traced, cm.threads, cm.poolSize, cm.perThread)
	cm.waits += st.waits
	cm.waitMax = max(cm.waitMax, st.waitMax)
	cm.waitTotal += st.waitTotal
	return end
}

// replayStats is what a replay counted.
type replayStats struct {
	waits     int64
	waitMax   time.Duration
	waitTotal time.Duration
}

// seqCall is one real round trip of a replayed lane.
type seqCall struct{ cost, service time.Duration }

// sequence is one thread's lane: round trips made one after the other.
type sequence struct {
	pool  int
	calls []seqCall
	next  int           // the next call to place
	at    time.Duration // when it is requested
	order int           // tie-break: thread-major, lane-minor
}

// replay places the traced calls of one action, dealt to threads, on the
// connections of one pool (shared) or one per thread, and returns when the
// action ends (from its start; lead is the time spent before its first call).
func replay(lead time.Duration, traced [][]redisnode.TracedCall, threads, poolSize int, perThread bool) (time.Duration, replayStats) {
	var st replayStats
	var service time.Duration
	seqs := make([]*sequence, 0, threads*len(traced))
	for lane, calls := range traced {
		real := expand(calls)
		for _, c := range real {
			service += c.service
		}
		for t := range threads {
			var mine []seqCall
			for i := t; i < len(real); i += threads {
				mine = append(mine, real[i])
			}
			if len(mine) == 0 {
				continue
			}
			pool := 0
			if perThread {
				pool = t
			}
			seqs = append(seqs, &sequence{pool: pool, calls: mine, at: lead, order: t*len(traced) + lane})
		}
	}
	pools := threads
	if !perThread {
		pools = 1
	}
	// Per pool, when each connection is free. A pool never has more connections
	// busy than sequences using it, so it keeps at most that many.
	users := make([]int, pools)
	for _, sq := range seqs {
		users[sq.pool]++
	}
	free := make([][]time.Duration, pools)
	for i := range free {
		free[i] = make([]time.Duration, max(min(poolSize, users[i]), 1))
	}
	q := seqQueue(slices.Clone(seqs))
	heap.Init(&q)
	end := lead
	for q.Len() > 0 {
		s := q[0]
		conns := free[s.pool]
		c := 0
		for i, f := range conns {
			if f < conns[c] {
				c = i
			}
		}
		begin := max(s.at, conns[c])
		if w := begin - s.at; w > 0 {
			st.waits++
			st.waitTotal += w
			st.waitMax = max(st.waitMax, w)
		}
		done := begin + s.calls[s.next].cost
		conns[c] = done
		end = max(end, done)
		s.next++
		if s.next == len(s.calls) {
			heap.Pop(&q)
			continue
		}
		s.at = done
		heap.Fix(&q, 0)
	}
	return max(end, lead+service), st
}

// expand turns traced calls into the real round trips they stand for (at most
// maxExpand per call), each with its share of the cost and service time; the
// first also waits what the call waited for the server's backlog (TracedCall.Wait),
// as the real lane's first round trip would have: spread over all of them, the
// wait would be split among the threads the round trips are dealt to.
func expand(calls []redisnode.TracedCall) []seqCall {
	var out []seqCall
	for _, c := range calls {
		n := min(max(int(math.Round(c.Real)), 1), maxExpand)
		wait := min(max(c.Wait, 0), c.Cost)
		cost, svc := (c.Cost-wait)/time.Duration(n), c.Service/time.Duration(n)
		for i := range n {
			sc := seqCall{cost: cost, service: svc}
			if i == 0 {
				sc.cost = c.Cost - cost*time.Duration(n-1) // the wait and the division's remainder
			}
			out = append(out, sc)
		}
	}
	return out
}

// seqQueue orders sequences by the time their next call is requested, then by
// thread and lane: a deterministic first come, first served.
type seqQueue []*sequence

func (q seqQueue) Len() int { return len(q) }
func (q seqQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].order < q[j].order
}
func (q seqQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *seqQueue) Push(x any)   { *q = append(*q, x.(*sequence)) }
func (q *seqQueue) Pop() any {
	old := *q
	s := old[len(old)-1]
	*q = old[:len(old)-1]
	return s
}

// threadOf is the thread of a pod's T that processes partition part: its index
// among the pod's partitions (parts, ascending) mod T.
func threadOf(part int32, parts []int32, threads int) int {
	if threads <= 1 {
		return 0
	}
	i, _ := slices.BinarySearch(parts, part)
	return i % threads
}
