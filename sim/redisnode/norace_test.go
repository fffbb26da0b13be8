//go:build !race

package redisnode

// raceEnabled is false without -race: every test runs at full size.
const raceEnabled = false
