package calibration

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Source constants of Redis 7.0 (64-bit) that the memory model uses; see memory.go.
const (
	redisDictEntryBytes     = 24
	redisRobjBytes          = 16
	redisDictBucketBytes    = 8
	redisDictInitialBuckets = 4
	redisEmbstrMaxBytes     = 44
	// minFitWrites is the total number of writes during saves below which the COW
	// measurements cannot separate the per-write cost from the baseline; the touch
	// scale is then 1 (the allocation model unscaled).
	minFitWrites = 1000
)

// ErrNoData is returned (wrapped) by FromMeasurements when a measurement it needs is
// missing.
var ErrNoData = errors.New("calibration: missing measurements")

// FromMeasurements derives every constant from the raw measurements and returns the
// complete calibration (machine facts and measurements included). It is deterministic:
// the same measurements always give the same constants, which is how the tests check
// that the shipped constants belong to the shipped measurements.
func FromMeasurements(machine Machine, meas Measurements) (Calibration, error) {
	c := Calibration{Machine: machine, Measurements: meas}
	if len(meas.UsedMemory) == 0 {
		return Calibration{}, fmt.Errorf("%w: no used-memory runs", ErrNoData)
	}
	if meas.RTT.Samples == 0 || meas.RTT.P50Nanos <= 0 {
		return Calibration{}, fmt.Errorf("%w: no RTT samples", ErrNoData)
	}
	c.Memory = RedisMemory(QuantumFromClasses(meas.JemallocSmallClassesBytes), baselineUsed(meas.UsedMemory))
	c.Memory.RSSFragmentationRatio = fragmentationRatio(meas)
	c.Latency.RTTNanos = meas.RTT.P50Nanos
	c.Latency.RTTP99Nanos = meas.RTT.P99Nanos
	for _, op := range OpKinds {
		cost, err := FitService(op, meas.Service)
		if err != nil {
			return Calibration{}, err
		}
		c.Latency.set(op, cost)
	}
	f, err := FitFork(meas.Fork, meas.COW)
	if err != nil {
		return Calibration{}, err
	}
	c.Fork = f
	c.COW = COW{PageSizeBytes: machine.PageSizeBytes}
	if c.COW.PageSizeBytes <= 0 {
		c.COW.PageSizeBytes = 4096
	}
	c.COW.BaselineBytes, c.COW.TouchScale = FitCOW(c, meas.COW)
	if err := c.Validate(); err != nil {
		return Calibration{}, err
	}
	return c, nil
}

// RedisMemory returns the memory constants of Redis 7.0 on 64-bit (see memory.go)
// for a jemalloc quantum and a measured baseline, with no fragmentation (ratio 1).
// cmd/calibrate uses it to size datasets before the calibration is complete.
func RedisMemory(jemallocQuantumBytes, baselineUsedBytes int64) Memory {
	return Memory{
		BaselineUsedBytes:     baselineUsedBytes,
		JemallocQuantumBytes:  jemallocQuantumBytes,
		DictEntryBytes:        redisDictEntryBytes,
		RobjBytes:             redisRobjBytes,
		DictBucketBytes:       redisDictBucketBytes,
		DictInitialBuckets:    redisDictInitialBuckets,
		EmbstrMaxBytes:        redisEmbstrMaxBytes,
		RSSFragmentationRatio: 1,
	}
}

// baselineUsed is the median used_memory of the empty server before each load.
func baselineUsed(runs []UsedMemoryRun) int64 {
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = float64(r.UsedBeforeBytes)
	}
	return int64(math.Round(median(v)))
}

// fragmentationRatio is RSS/used of the largest dataset measured (the COW dataset
// before its first save, else the largest used-memory run), at least 1.
func fragmentationRatio(meas Measurements) float64 {
	var used, rss int64
	for _, r := range meas.UsedMemory {
		if r.UsedAfterBytes > used {
			used, rss = r.UsedAfterBytes, r.RSSAfterBytes
		}
	}
	if len(meas.COW) > 0 && meas.COW[0].UsedBytes > used {
		used, rss = meas.COW[0].UsedBytes, meas.COW[0].RSSBytes
	}
	if used <= 0 || rss <= used {
		return 1
	}
	return math.Round(float64(rss)/float64(used)*1e4) / 1e4
}

// QuantumFromClasses infers jemalloc's quantum from its small size classes: the
// spacing right after the 16-byte class (16 with quantum 16: 8, 16, 32, ...; 8 with
// quantum 8: 8, 16, 24, ...). Without a list it returns 16.
func QuantumFromClasses(classes []int64) int64 {
	for i := 0; i+1 < len(classes); i++ {
		if classes[i] == 16 {
			if d := classes[i+1] - 16; d == 8 || d == 16 {
				return d
			}
		}
	}
	return 16
}

// FitService fits op's OpCost to the server CPU per command of its runs by
// non-negative least squares of the relative error (each row weighted by 1/measured,
// so one-key and hundred-key commands count alike) over the columns the shape varies:
// GET and SET (1, bytes), DEL (1, keys), MGET and EVALSHA (1, keys, bytes).
func FitService(op OpKind, runs []ServiceRun) (OpCost, error) {
	var X [][]float64
	var y []float64
	useKeys := op == OpMGet || op == OpDel || op == OpEvalSHA
	useBytes := op != OpDel
	for _, r := range runs {
		if r.Op != op {
			continue
		}
		row := []float64{1}
		if useKeys {
			row = append(row, float64(r.KeysPerCmd))
		}
		if useBytes {
			row = append(row, float64(r.BytesPerCmd))
		}
		if r.ServerCPUNanosPerCmd <= 0 {
			return OpCost{}, fmt.Errorf("calibration: fit %s: run with %d keys, %d bytes has no CPU time", op, r.KeysPerCmd, r.BytesPerCmd)
		}
		for j := range row {
			row[j] /= r.ServerCPUNanosPerCmd
		}
		X = append(X, row)
		y = append(y, 1)
	}
	if len(y) == 0 {
		return OpCost{}, fmt.Errorf("%w: no service runs for %s", ErrNoData, op)
	}
	beta, err := FitNonNegative(X, y)
	if err != nil {
		return OpCost{}, fmt.Errorf("calibration: fit %s: %w", op, err)
	}
	cost := OpCost{PerOpNanos: beta[0]}
	i := 1
	if useKeys {
		cost.PerKeyNanos = beta[i]
		i++
	}
	if useBytes {
		cost.PerByteNanos = beta[i]
	}
	return roundCost(cost), nil
}

func roundCost(c OpCost) OpCost {
	return OpCost{
		PerOpNanos:   math.Round(c.PerOpNanos*10) / 10,
		PerKeyNanos:  math.Round(c.PerKeyNanos*10) / 10,
		PerByteNanos: math.Round(c.PerByteNanos*1e4) / 1e4,
	}
}

// FitFork fits the fork stall (BaseNanos + NanosPerGiB*GiB, non-negative least
// squares over every fork sample, the COW runs' forks included) and the snapshot
// rates: incompressible from the COW runs without writes (else all COW runs),
// compressible from the DEBUG POPULATE runs.
func FitFork(forks []ForkRun, cows []COWRun) (Fork, error) {
	var X [][]float64
	var y []float64
	for _, r := range forks {
		X = append(X, []float64{1, float64(r.UsedBytes) / GiB})
		y = append(y, float64(r.ForkUsec)*1e3)
	}
	for _, r := range cows {
		X = append(X, []float64{1, float64(r.UsedBytes) / GiB})
		y = append(y, float64(r.ForkUsec)*1e3)
	}
	if len(y) == 0 {
		return Fork{}, fmt.Errorf("%w: no fork runs", ErrNoData)
	}
	beta, err := FitNonNegative(X, y)
	if err != nil {
		return Fork{}, fmt.Errorf("calibration: fit fork time: %w", err)
	}
	f := Fork{BaseNanos: math.Round(beta[0]), NanosPerGiB: math.Round(beta[1])}
	var used, ns float64
	for _, r := range cows {
		if r.TargetWritesPerSec == 0 {
			used += float64(r.UsedBytes)
			ns += float64(r.SaveNanos)
		}
	}
	if ns == 0 {
		for _, r := range cows {
			used += float64(r.UsedBytes)
			ns += float64(r.SaveNanos)
		}
	}
	if ns <= 0 {
		return Fork{}, fmt.Errorf("%w: no COW runs to time the snapshot", ErrNoData)
	}
	f.SnapshotBytesPerSec = math.Round(used / ns * 1e9)
	used, ns = 0, 0
	for _, r := range forks {
		used += float64(r.UsedBytes)
		ns += float64(r.SaveNanos)
	}
	if ns > 0 {
		f.SnapshotCompressibleBytesPerSec = math.Round(used / ns * 1e9)
	}
	return f, nil
}

// FitCOW derives the COW constants from the COW runs, given c's page size: the
// baseline is the mean COW of the runs without writes; TouchScale minimizes the
// squared relative error of ExpectedCOW over the runs with writes. With fewer than
// minFitWrites writes in all it returns a scale of 1.
func FitCOW(c Calibration, runs []COWRun) (baselineBytes int64, touchScale float64) {
	var sum float64
	var n int
	var totalWrites int64
	for _, r := range runs {
		if r.Writes == 0 || r.TargetWritesPerSec == 0 {
			sum += float64(r.COWBytes)
			n++
		}
		totalWrites += r.Writes
	}
	if n > 0 {
		baselineBytes = int64(math.Round(sum / float64(n)))
	}
	if totalWrites < minFitWrites {
		return baselineBytes, 1
	}
	c.COW.BaselineBytes = baselineBytes
	loss := func(scale float64) float64 {
		c.COW.TouchScale = scale
		var s float64
		for _, r := range runs {
			if r.Writes == 0 || r.COWBytes <= 0 {
				continue
			}
			pred := float64(c.ExpectedCOW(r.Shape(), r.Keys, r.Writes, c.COW.PageSizeBytes))
			e := pred/float64(r.COWBytes) - 1
			s += e * e
		}
		return s
	}
	return baselineBytes, math.Round(goldenMin(loss, 0, 16)*1e3) / 1e3
}

// Shape is the key shape of the run's dataset.
func (r COWRun) Shape() KeyShape {
	return KeyShape{KeyBytes: r.KeyBytes, ValueBytes: r.ValueBytes, TTL: r.TTL}
}

// goldenMin minimizes a unimodal f on [lo, hi] by golden-section search.
func goldenMin(f func(float64) float64, lo, hi float64) float64 {
	g := (math.Sqrt(5) - 1) / 2
	a, b := lo, hi
	x1, x2 := b-g*(b-a), a+g*(b-a)
	f1, f2 := f(x1), f(x2)
	for range 200 {
		if b-a < 1e-6 {
			break
		}
		if f1 <= f2 {
			b, x2, f2 = x2, x1, f1
			x1 = b - g*(b-a)
			f1 = f(x1)
		} else {
			a, x1, f1 = x1, x2, f2
			x2 = a + g*(b-a)
			f2 = f(x2)
		}
	}
	return (a + b) / 2
}

// FitNonNegative solves min ||X b - y||^2 subject to b >= 0 for a handful of columns
// (at most 6) by trying every subset of free columns; the others are held at zero.
// Rows must all have the same length. It returns an error if no subset is solvable.
func FitNonNegative(X [][]float64, y []float64) ([]float64, error) {
	if len(X) == 0 || len(X) != len(y) {
		return nil, fmt.Errorf("calibration: FitNonNegative: %d rows, %d targets", len(X), len(y))
	}
	k := len(X[0])
	if k == 0 || k > 6 {
		return nil, fmt.Errorf("calibration: FitNonNegative: %d columns (want 1..6)", k)
	}
	for i, row := range X {
		if len(row) != k {
			return nil, fmt.Errorf("calibration: FitNonNegative: row %d has %d columns, want %d", i, len(row), k)
		}
	}
	var best []float64
	bestRSS := math.Inf(1)
	for mask := 1; mask < 1<<k; mask++ {
		var cols []int
		for j := range k {
			if mask&(1<<j) != 0 {
				cols = append(cols, j)
			}
		}
		sub, ok := leastSquares(X, y, cols)
		if !ok || slices.ContainsFunc(sub, func(v float64) bool { return v < 0 }) {
			continue
		}
		b := make([]float64, k)
		for i, j := range cols {
			b[j] = sub[i]
		}
		var rss float64
		for i, row := range X {
			var p float64
			for j := range k {
				p += row[j] * b[j]
			}
			rss += (p - y[i]) * (p - y[i])
		}
		if best == nil || rss < bestRSS-1e-12*math.Max(1, bestRSS) {
			best, bestRSS = b, rss
		}
	}
	if best == nil {
		return make([]float64, k), nil // all-zero is always feasible
	}
	return best, nil
}

// leastSquares solves the normal equations for the columns cols by Gaussian
// elimination with partial pivoting; ok is false for a singular system.
func leastSquares(X [][]float64, y []float64, cols []int) ([]float64, bool) {
	n := len(cols)
	a := make([][]float64, n)
	for i := range a {
		a[i] = make([]float64, n+1)
		for j := range n {
			for r := range X {
				a[i][j] += X[r][cols[i]] * X[r][cols[j]]
			}
		}
		for r := range X {
			a[i][n] += X[r][cols[i]] * y[r]
		}
	}
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		scale := math.Abs(a[p][c])
		for j := range n {
			scale = math.Max(scale, math.Abs(a[c][j]))
		}
		if math.Abs(a[p][c]) <= 1e-12*math.Max(scale, 1e-300) {
			return nil, false
		}
		a[c], a[p] = a[p], a[c]
		for r := range n {
			if r == c {
				continue
			}
			f := a[r][c] / a[c][c]
			for j := c; j <= n; j++ {
				a[r][j] -= f * a[c][j]
			}
		}
	}
	out := make([]float64, n)
	for i := range n {
		out[i] = a[i][n] / a[i][i]
	}
	return out, true
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
