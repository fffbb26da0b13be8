package redisnode

import (
	"math"
	"time"

	"github.com/redis/go-redis/v9"
)

// Behavior: a sampled run's node (Config.Weight > 1). The simulator runs a
// hash-chosen share 1/W of the datapoints (sim/workload/sample.go, after SHARDS:
// Waldspurger et al., FAST '15); each of their keys stands for W keys of the same
// size that the run does not hold, and the node accounts for them as if they were
// there:
//   - memory: every allocation of a weighted key counts W times (memory.go
//     allocs), and the key counts W times in the key and volatile-key counts, so
//     used memory, RSS, the dict bucket tables (sized for the real key count) and
//     maxmemory are those of the real dataset;
//   - copy-on-write: a write of a weighted key dirties W pages, each at the fixed
//     place one of the keys it stands for lives (cow.go inPlace), over regions laid
//     out from the weighted live bytes: the real write rate over the real dataset;
//   - eviction: one victim frees W keys' memory, and Redis's sampled pool sees the
//     same distribution of idle times in a uniform sample of the keys as in all of
//     them, so it picks what the real pool would, W keys at a time;
//   - expiry, OOM losses, evictions, the dirty counter (save points) and the AOF
//     count W per weighted key;
//   - calls (hook.go, admit): a call that carries weighted keys stands for the
//     real calls that would carry the keys they stand for (Meter.Batch), and its
//     service time and bytes are those real calls';
//   - round trips and commands: an action that stands for several real ones
//     (a sampled poll's restore or write-through Sync stands for those of the
//     real consumer's polls in that time: Meter.KeyedTrips, BareTrips,
//     KeyedOps, set by sim/realpolls.go) counts their round trips and commands
//     (trips, keyedOps), while its time stays that of the sampled action.
//
// Not modelled: the spread of the keys a sampled key stands for (they are exact
// copies of it: same size, same TTL, written at the same instant), so effects
// that depend on which keys are written together (hot keys sharing a page) are
// those of the sampled keys.

// unweighted is the weight of every key of an unsampled node.
func unweighted(string) int64 { return 1 }

// weightOf is how many keys key stands for.
func (n *Node) weightOf(key string) int64 {
	if n.cfg.Weight <= 1 || (n.cfg.Weighted != nil && !n.cfg.Weighted(key)) {
		return 1
	}
	return n.cfg.Weight
}

// weigh sets a call's real calls and per-command weights, and makes its service
// time that of the real calls, when the call carries weighted keys (Weight > 1).
// A command's weight is the real commands it stands for: Weight for a
// single-key one that names a weighted key; for a multi-key one, one per real
// call, or its share of Meter.KeyedOps (keyedOps); for the others (a WATCH,
// MULTI or EXEC) one per real round trip (trips), or as many as the call's
// multi-key commands on average (an MGET's fence read). A single-key command's service time
// counts Weight times (a GET or GETRANGE costs per command: scaling its keys
// instead would charge it once per real call); a multi-key one's is Weight/calls
// times its keys and bytes, once per real call. m.Batch sets the real calls
// (Meter.Batch).
func (n *Node) weigh(m *Meter, cmds []redis.Cmder, a *admission) {
	a.calls, a.trips = 1, 1
	if n.cfg.Weight <= 1 {
		return
	}
	data := make([]int, len(cmds))
	total := 0
	for i, c := range cmds {
		data[i] = n.weightedKeys(&a.infos[i], c)
		total += data[i]
	}
	w := n.cfg.Weight
	if total == 0 {
		if !loadsScripts(cmds) { // a SCRIPT LOAD is once per client, not per real action
			a.trips = trips(m, 0, 1)
		}
		if a.trips != 1 {
			a.weights = make([]int64, len(cmds))
			for i := range cmds {
				a.weights[i] = n.shareOps(a.trips)
			}
		}
		return
	}
	if m != nil && m.Batch > 0 {
		// A fraction when the call's keys stand for less than one real batch
		// (spill_batch below the weight): its share of a real call's time.
		a.calls = float64(int64(total)*w) / float64(m.Batch)
	}
	a.trips = trips(m, total, a.calls)
	// The real commands of the multi-key commands (keyedOps), and of the
	// commands without weighted keys: as many as the multi-key ones on average
	// (an MGET's fence read), else one per real call (MULTI, EXEC).
	multis, multiOps := 0, 0.0
	for i := range cmds {
		if data[i] > 0 && multiKey(&a.infos[i]) {
			multis++
			multiOps += keyedOps(m, data[i], a.trips)
		}
	}
	bare := a.trips
	if multis > 0 {
		bare = multiOps / float64(multis)
	}
	a.weights = make([]int64, len(cmds))
	a.svc = 0
	for i, c := range cmds {
		if data[i] == 0 {
			a.weights[i] = n.shareOps(bare)
			if a.rejects[i] == nil {
				a.svc += time.Duration(a.calls * float64(n.serviceTime(&a.infos[i], n.readBytes(&a.infos[i]), argBytes(c))))
			}
			continue
		}
		// A single-key command stands for Weight of them; a multi-key one
		// (MGET, DEL, MSET, a script) for one per real call, carrying more keys.
		multi := multiKey(&a.infos[i])
		a.weights[i] = w
		if multi {
			a.weights[i] = n.shareOps(keyedOps(m, data[i], a.trips))
		}
		if a.rejects[i] != nil {
			continue
		}
		if !multi {
			// Weight commands like it, each with its own service time (a GET or a
			// GETRANGE costs per command, whatever the keys it stands for).
			a.svc += time.Duration(float64(w) * float64(n.serviceTime(&a.infos[i], n.readBytes(&a.infos[i]), argBytes(c))))
			continue
		}
		q := float64(w) / a.calls // this command's keys per real call, per key it names
		ci := a.infos[i]
		ci.keys = max(1, int(math.Round(float64(ci.keys)*q)))
		ci.argVals = int64(float64(ci.argVals) * q)
		read := int64(float64(n.readBytes(&a.infos[i])) * q)
		a.svc += time.Duration(a.calls * float64(n.serviceTime(&ci, read, int(float64(argBytes(c))*q))))
	}
}

// loadsScripts reports whether a call only loads scripts.
func loadsScripts(cmds []redis.Cmder) bool {
	for _, c := range cmds {
		if c.Name() != "script" {
			return false
		}
	}
	return true
}

// multiKey reports whether a command's shape takes any number of keys.
func multiKey(ci *cmdInfo) bool {
	switch ci.shape {
	case shapeMGet, shapeDel, shapeScript:
		return true
	case shapeSet:
		return len(ci.writes) > 1
	}
	return false
}

// weightedKeys counts the weighted keys a command names.
func (n *Node) weightedKeys(ci *cmdInfo, c redis.Cmder) int {
	count := 0
	for _, k := range ci.writes {
		if n.weightOf(k) > 1 {
			count++
		}
	}
	for _, k := range ci.reads {
		if n.weightOf(k) > 1 {
			count++
		}
	}
	if count == 0 && len(ci.writes) == 0 && len(ci.reads) == 0 {
		// Commands the classifier keeps no keys of (EXISTS, GETRANGE, TTL): their first argument.
		if args := c.Args(); len(args) > 1 {
			if s, ok := argString(args[1]); ok && n.weightOf(s) > 1 {
				count = 1
			}
		}
	}
	return count
}

// weight is command i's real command count (1 without sampling).
func (a *admission) weight(i int) int64 {
	if a.weights == nil {
		return 1
	}
	return a.weights[i]
}

// trips is the real round trips a call of m stands for, for the counts (the
// node's RoundTrips, its commands' weights), when it carries keys weighted
// keys and takes calls real calls' time (weigh): with keys, at least calls (a
// spill's last, partial batch is one round trip) and m's KeyedTrips times the
// share of the real actions that carry one of them (Meter.Keys, PerAction),
// or one without KeyedTrips; without keys, m's BareTrips. No meter: calls.
func trips(m *Meter, keys int, calls float64) float64 {
	switch {
	case m == nil:
		return calls
	case keys == 0:
		return max(1, m.BareTrips)
	case m.KeyedTrips <= 0:
		return max(calls, 1)
	}
	return max(calls, m.KeyedTrips*m.share(keys))
}

// keyedOps is the real commands a multi-key command naming keys weighted keys
// stands for, in a call standing for trips real ones: m's KeyedOps times the
// share of the real actions that carry one of its keys (an MGET of one
// partition's misses), else one per real call.
func keyedOps(m *Meter, keys int, trips float64) float64 {
	if m == nil || m.KeyedOps <= 0 {
		return trips
	}
	return m.KeyedOps * m.share(keys)
}

// share is the share of m's real actions that carry one of the real keys keys
// weighted keys stand for: 1 − (1 − keys/Keys)^PerAction (1 without Keys).
func (m *Meter) share(keys int) float64 {
	if m.Keys <= 0 {
		return 1
	}
	return CarryShare(keys, m.Keys, m.PerAction)
}

// CarryShare is the share of actions of per keys (at least one), drawn from a
// pool of total of which keys are marked, that carry a marked one:
// 1 − (1 − keys/total)^per.
func CarryShare(keys, total int, per float64) float64 {
	if keys <= 0 || total <= 0 {
		return 0
	}
	return -math.Expm1(max(1, per) * math.Log1p(-min(1, float64(keys)/float64(total))))
}

// shareOps is the whole real commands of one command standing for x real ones;
// fractions add up across commands (deterministically, in call order).
func (n *Node) shareOps(x float64) int64 {
	if x == 1 {
		return 1
	}
	n.opsCarry += x
	whole := math.Floor(n.opsCarry)
	n.opsCarry -= whole
	return int64(whole)
}

// countRoundTrips counts the real round trips a call stands for; fractions
// (calls that carry less than a real batch) add up across calls.
func (n *Node) countRoundTrips(calls float64) {
	if calls == 1 {
		n.stats.RoundTrips++
		return
	}
	n.rtCarry += calls
	whole := math.Floor(n.rtCarry)
	n.stats.RoundTrips += int64(whole)
	n.rtCarry -= whole
}
