package scenarios

// Hosts: Redis instances that share one machine (redis.nodes_per_host) and how
// their background saves are scheduled (redis.persistence.bgsave_schedule). The
// model lives in sim/redisnode/host.go; this file holds the schema's values and
// their validation.

// BGSaveSchedule is how the forks of the instances of one host are scheduled.
type BGSaveSchedule string

// The BGSAVE schedules.
const (
	// BGSaveTogether forks every instance when its own save is due: a timeline
	// bgsave forks them all at once (Redis's own behaviour).
	BGSaveTogether BGSaveSchedule = "together"
	// BGSaveStaggered allows at most one fork child per host: the next instance
	// forks when the previous child has exited (an operator's "BGSAVE one
	// instance at a time").
	BGSaveStaggered BGSaveSchedule = "staggered"
)

// BGSaveSchedules lists the redis.persistence.bgsave_schedule values.
var BGSaveSchedules = []string{string(BGSaveTogether), string(BGSaveStaggered)}

// hosts validates redis.nodes_per_host and redis.persistence.bgsave_schedule.
func (c *checker) hosts() {
	r := c.s.Redis
	c.atLeast("redis.nodes_per_host", r.NodesPerHost, 1)
	c.oneOf("redis.persistence.bgsave_schedule", string(r.Persistence.BGSaveSchedule), BGSaveSchedules)
}
