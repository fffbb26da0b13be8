package calibration

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

// The shipped constants are exactly what FromMeasurements derives from the shipped
// measurements: nobody edited a constant by hand, and the fitting is deterministic.
func TestFromMeasurementsReproducesShippedConstants(t *testing.T) {
	want := Default()
	got, err := FromMeasurements(want.Machine, want.Measurements)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("re-derived constants differ from the shipped ones:\nmemory  %+v\n vs     %+v\nlatency %+v\n vs     %+v\nfork    %+v\n vs     %+v\ncow     %+v\n vs     %+v\n(run go run ./cmd/calibrate -refit sim/calibration/calibration.json -out sim/calibration/calibration.json)",
			got.Memory, want.Memory, got.Latency, want.Latency, got.Fork, want.Fork, got.COW, want.COW)
	}
}

func TestFromMeasurementsRejectsMissingData(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Measurements)
	}{
		{name: "no used memory", mutate: func(m *Measurements) { m.UsedMemory = nil }},
		{name: "no rtt", mutate: func(m *Measurements) { m.RTT = RTTRun{} }},
		{name: "no EVALSHA runs", mutate: func(m *Measurements) {
			var keep []ServiceRun
			for _, r := range m.Service {
				if r.Op != OpEvalSHA {
					keep = append(keep, r)
				}
			}
			m.Service = keep
		}},
		{name: "no fork or cow runs", mutate: func(m *Measurements) { m.Fork, m.COW = nil, nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.mutate(&c.Measurements)
			_, err := FromMeasurements(c.Machine, c.Measurements)
			if !errors.Is(err, ErrNoData) {
				t.Fatalf("err = %v, want ErrNoData", err)
			}
		})
	}
}

func TestQuantumFromClasses(t *testing.T) {
	tests := []struct {
		name    string
		classes []int64
		want    int64
	}{
		{name: "debian jemalloc", classes: []int64{8, 16, 32, 48, 64}, want: 16},
		{name: "redis bundled jemalloc", classes: []int64{8, 16, 24, 32, 40}, want: 8},
		{name: "nothing listed", classes: nil, want: 16},
		{name: "no 16 class listed", classes: []int64{8, 32, 48}, want: 16},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := QuantumFromClasses(tc.classes); got != tc.want {
				t.Fatalf("QuantumFromClasses(%v) = %d, want %d", tc.classes, got, tc.want)
			}
		})
	}
}

func TestFitNonNegative(t *testing.T) {
	tests := []struct {
		name string
		X    [][]float64
		y    []float64
		want []float64
	}{
		{
			name: "exact line",
			X:    [][]float64{{1, 0}, {1, 1}, {1, 2}, {1, 3}},
			y:    []float64{2, 5, 8, 11},
			want: []float64{2, 3},
		},
		{
			name: "negative slope is clamped to zero, intercept is the mean",
			X:    [][]float64{{1, 0}, {1, 1}, {1, 2}},
			y:    []float64{5, 3, 1},
			want: []float64{3, 0},
		},
		{
			name: "three columns",
			X:    [][]float64{{1, 1, 64}, {1, 1, 1024}, {1, 10, 640}, {1, 100, 6400}, {1, 100, 102400}},
			y:    []float64{1000 + 500 + 32, 1000 + 500 + 512, 1000 + 5000 + 320, 1000 + 50000 + 3200, 1000 + 50000 + 51200},
			want: []float64{1000, 500, 0.5},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FitNonNegative(tc.X, tc.y)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.want {
				if math.Abs(got[i]-tc.want[i]) > 1e-6*math.Max(1, math.Abs(tc.want[i])) {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestFitNonNegativeRejectsBadShapes(t *testing.T) {
	tests := []struct {
		name string
		X    [][]float64
		y    []float64
	}{
		{name: "no rows", X: nil, y: nil},
		{name: "row/target mismatch", X: [][]float64{{1}}, y: []float64{1, 2}},
		{name: "ragged", X: [][]float64{{1, 2}, {1}}, y: []float64{1, 2}},
		{name: "too many columns", X: [][]float64{{1, 2, 3, 4, 5, 6, 7}}, y: []float64{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := FitNonNegative(tc.X, tc.y); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestFitServiceRecoversCosts(t *testing.T) {
	truth := OpCost{PerOpNanos: 2000, PerKeyNanos: 3000, PerByteNanos: 2}
	var runs []ServiceRun
	for _, k := range []int{1, 10, 100} {
		for _, v := range []int{64, 1024} {
			runs = append(runs, ServiceRun{Op: OpEvalSHA, KeysPerCmd: k, ValueBytes: v, BytesPerCmd: k * v,
				ServerCPUNanosPerCmd: truth.Nanos(k, k*v)})
		}
	}
	runs = append(runs, ServiceRun{Op: OpGet, KeysPerCmd: 1, BytesPerCmd: 100, ServerCPUNanosPerCmd: 1e9})
	got, err := FitService(OpEvalSHA, runs)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got.PerOpNanos-truth.PerOpNanos) > 1 || math.Abs(got.PerKeyNanos-truth.PerKeyNanos) > 1 ||
		math.Abs(got.PerByteNanos-truth.PerByteNanos) > 1e-3 {
		t.Fatalf("FitService = %+v, want %+v (a GET run must not leak in)", got, truth)
	}
	if _, err := FitService(OpDel, runs); !errors.Is(err, ErrNoData) {
		t.Fatalf("FitService with no DEL runs: %v, want ErrNoData", err)
	}
	runs[0].ServerCPUNanosPerCmd = 0
	if _, err := FitService(OpEvalSHA, runs); err == nil {
		t.Fatal("FitService accepted a run without CPU time")
	}
}

func TestFitForkRecoversLine(t *testing.T) {
	var forks []ForkRun
	for _, gib := range []float64{0.25, 0.5, 1, 2} {
		used := int64(gib * GiB)
		forks = append(forks, ForkRun{UsedBytes: used, ForkUsec: int64(2000 + 15000*gib), SaveNanos: int64(gib * 4e9)})
	}
	cows := []COWRun{
		{TargetWritesPerSec: 0, UsedBytes: GiB, ForkUsec: 17000, SaveNanos: 10e9},
		{TargetWritesPerSec: 10000, UsedBytes: GiB, ForkUsec: 17000, SaveNanos: 20e9},
	}
	f, err := FitFork(forks, cows)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(f.BaseNanos-2e6) > 1e3 || math.Abs(f.NanosPerGiB-15e6) > 1e3 {
		t.Fatalf("fork fit %+v, want 2 ms + 15 ms/GiB", f)
	}
	if want := float64(GiB) / 10; math.Abs(f.SnapshotBytesPerSec-want) > 1 {
		t.Fatalf("snapshot rate %v, want %v (only the run without writes counts)", f.SnapshotBytesPerSec, want)
	}
	if want := float64(GiB) / 4; math.Abs(f.SnapshotCompressibleBytesPerSec-want) > 1 {
		t.Fatalf("compressible rate %v, want %v", f.SnapshotCompressibleBytesPerSec, want)
	}
	if _, err := FitFork(nil, nil); !errors.Is(err, ErrNoData) {
		t.Fatalf("FitFork(nil, nil) = %v, want ErrNoData", err)
	}
}

func TestFitCOWRecoversTouchScale(t *testing.T) {
	c := Default()
	c.COW.BaselineBytes = 3 << 20
	c.COW.TouchScale = 1.3
	shape := KeyShape{KeyBytes: 24, ValueBytes: 256}
	var runs []COWRun
	for _, w := range []int64{0, 20_000, 100_000, 500_000} {
		runs = append(runs, COWRun{TargetWritesPerSec: int(w / 10), Keys: 2_000_000, KeyBytes: 24, ValueBytes: 256,
			Writes: w, COWBytes: c.ExpectedCOW(shape, 2_000_000, w, c.COW.PageSizeBytes)})
	}
	base, scale := FitCOW(c, runs)
	if base != 3<<20 {
		t.Fatalf("baseline %d, want %d", base, 3<<20)
	}
	if math.Abs(scale-1.3) > 0.002 {
		t.Fatalf("touch scale %v, want 1.3", scale)
	}
	// Too few writes to fit: the unscaled allocation model.
	few := []COWRun{{Writes: 0, COWBytes: 1 << 20}, {TargetWritesPerSec: 100, Writes: 10, Keys: 1000, KeyBytes: 24, ValueBytes: 64, COWBytes: 5 << 20}}
	if base, scale := FitCOW(c, few); base != 1<<20 || scale != 1 {
		t.Fatalf("FitCOW with 10 writes = %d, %v; want baseline 1 MiB, scale 1", base, scale)
	}
}

func TestGoldenMin(t *testing.T) {
	got := goldenMin(func(x float64) float64 { return (x - 2.5) * (x - 2.5) }, 0, 16)
	if math.Abs(got-2.5) > 1e-5 {
		t.Fatalf("goldenMin = %v, want 2.5", got)
	}
}

func TestRedisMemoryConstants(t *testing.T) {
	m := RedisMemory(16, 123)
	if m.DictEntryBytes != 24 || m.RobjBytes != 16 || m.EmbstrMaxBytes != 44 || m.DictBucketBytes != 8 ||
		m.DictInitialBuckets != 4 || m.BaselineUsedBytes != 123 || m.JemallocQuantumBytes != 16 || m.RSSFragmentationRatio != 1 {
		t.Fatalf("RedisMemory = %+v", m)
	}
}
