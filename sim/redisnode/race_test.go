//go:build race

package redisnode

// raceEnabled is true under -race, where the largest model replays are skipped to
// keep the package's tests within a minute.
const raceEnabled = true
