package main

import (
	"bytes"
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spillway-sim/spillway/sim/calibration"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, c config)
		wantErr bool
	}{
		{name: "defaults are the full calibration", args: nil, check: func(t *testing.T, c config) {
			if c.quick || c.keys != 1_000_000 || !reflect.DeepEqual(c.valueSizes, []int{16, 64, 128, 256, 1024}) ||
				c.cowDataset != 1<<30 || len(c.forkSizes) != 4 || c.forkSizes[3] != 2<<30 {
				t.Fatalf("defaults = %+v", c)
			}
		}},
		{name: "quick shrinks everything", args: []string{"-quick"}, check: func(t *testing.T, c config) {
			if !c.quick || c.keys >= 1_000_000 || c.cowDataset >= 1<<30 {
				t.Fatalf("quick = %+v", c)
			}
		}},
		{name: "explicit flags win over quick", args: []string{"-quick", "-keys", "777", "-cow-rates", "0,1", "-cow-shapes", "32+ttl"},
			check: func(t *testing.T, c config) {
				if c.keys != 777 || !reflect.DeepEqual(c.cowRates, []int{0, 1}) ||
					!reflect.DeepEqual(c.cowShapes, []cowShape{{valueBytes: 32, ttl: true}}) {
					t.Fatalf("config = %+v", c)
				}
			}},
		{name: "date and command are recorded", args: []string{"-date", "2026-01-02", "-quick"}, check: func(t *testing.T, c config) {
			if c.date != "2026-01-02" || c.command != "go run ./cmd/calibrate -date 2026-01-02 -quick" {
				t.Fatalf("date %q command %q", c.date, c.command)
			}
		}},
		{name: "sizes", args: []string{"-fork-sizes", "1.5GiB,512MiB,4KiB,100"}, check: func(t *testing.T, c config) {
			if !reflect.DeepEqual(c.forkSizes, []int64{3 << 29, 512 << 20, 4096, 100}) {
				t.Fatalf("fork sizes %v", c.forkSizes)
			}
		}},
		{name: "fidelity", args: []string{"-fidelity", "f.json", "-fidelity-only", "-fidelity-sizes", "64MiB", "-fidelity-rates", "100,200"},
			check: func(t *testing.T, c config) {
				if c.fidelityOut != "f.json" || !c.fidelityOnly || !reflect.DeepEqual(c.fidelitySizes, []int64{64 << 20}) ||
					!reflect.DeepEqual(c.fidelityRates, []int{100, 200}) {
					t.Fatalf("config = %+v", c)
				}
			}},
		{name: "fidelity defaults reach 2 GiB and 50 k/s", args: nil, check: func(t *testing.T, c config) {
			if !reflect.DeepEqual(c.fidelitySizes, []int64{512 << 20, 2 << 30}) || c.fidelityRates[len(c.fidelityRates)-1] < 50_000 {
				t.Fatalf("fidelity sizes %v rates %v", c.fidelitySizes, c.fidelityRates)
			}
		}},
		{name: "fidelity-only without a file", args: []string{"-fidelity-only"}, wantErr: true},
		{name: "fidelity with refit", args: []string{"-fidelity", "f.json", "-refit", "c.json"}, wantErr: true},
		{name: "zero fidelity rate", args: []string{"-fidelity", "f.json", "-fidelity-rates", "0"}, wantErr: true},
		{name: "bad size", args: []string{"-fork-sizes", "lots"}, wantErr: true},
		{name: "bad shape", args: []string{"-cow-shapes", "big"}, wantErr: true},
		{name: "negative rate", args: []string{"-cow-rates", "-5"}, wantErr: true},
		{name: "zero keys", args: []string{"-keys", "0"}, wantErr: true},
		{name: "tiny cow dataset", args: []string{"-cow-dataset", "1KiB"}, wantErr: true},
		{name: "stray argument", args: []string{"extra"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseFlags(tc.args, io.Discard)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil {
				tc.check(t, c)
			}
		})
	}
}

func TestJoinAndParseRoundTrip(t *testing.T) {
	sizes := []int64{256 << 20, 1 << 30, 3 << 10, 1000}
	if s := joinSizes(sizes); s != "256MiB,1GiB,3KiB,1000" {
		t.Fatalf("joinSizes = %q", s)
	}
	back, err := parseSizes(joinSizes(sizes))
	if err != nil || !reflect.DeepEqual(back, sizes) {
		t.Fatalf("parseSizes(joinSizes) = %v, %v", back, err)
	}
	shapes := []cowShape{{valueBytes: 256}, {valueBytes: 64, ttl: true}}
	if s := joinShapes(shapes); s != "256,64+ttl" {
		t.Fatalf("joinShapes = %q", s)
	}
	if back, err := parseShapes("256,64+ttl"); err != nil || !reflect.DeepEqual(back, shapes) {
		t.Fatalf("parseShapes = %v, %v", back, err)
	}
	if back, err := parseInts(joinInts([]int{0, 2000})); err != nil || !reflect.DeepEqual(back, []int{0, 2000}) {
		t.Fatalf("parseInts = %v, %v", back, err)
	}
}

func TestRefitReproducesShippedCalibration(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "c.json")
	var stdout, stderr bytes.Buffer
	code := realMain(context.Background(), []string{"-refit", "../../sim/calibration/calibration.json", "-out", out}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../sim/calibration/calibration.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("-refit of the shipped calibration changed it")
	}
	if !strings.Contains(stdout.String(), "USED MEMORY") {
		t.Fatal("-refit printed no table")
	}
}

// A tiny calibration end to end against a real redis-server: every stage runs, the
// JSON decodes and validates, and the memory model matches what was measured.
func TestCalibrateEndToEnd(t *testing.T) {
	bin := needRedis(t)
	if testing.Short() {
		t.Skip("-short: skipping the end-to-end calibration (a few seconds against a real redis-server)")
	}
	start := time.Now()
	dir := t.TempDir()
	out := filepath.Join(dir, "calibration.json")
	args := []string{"-redis-server", bin, "-out", out, "-date", "2000-01-01", "-quick",
		"-keys", "2000", "-value-sizes", "16,256", "-rtt-samples", "100",
		"-service-ops", "400", "-service-pool", "200",
		"-fork-sizes", "2MiB,4MiB", "-fork-repeats", "1",
		"-cow-dataset", "16MiB", "-cow-shapes", "256", "-cow-rates", "0,20000"}
	var stdout, stderr bytes.Buffer
	if code := realMain(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := calibration.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if c.Machine.Date != "2000-01-01" || !c.Machine.Quick || !strings.HasPrefix(c.Machine.RedisVersion, "7.") {
		t.Errorf("machine = %+v", c.Machine)
	}
	if n := len(c.Measurements.UsedMemory); n != 4 {
		t.Errorf("%d used-memory runs, want 4", n)
	}
	for _, r := range c.Measurements.UsedMemory {
		model := float64(c.UsedMemory(r.Keys, r.KeyBytes, r.ValueBytes, r.TTL) - c.Memory.BaselineUsedBytes)
		if got := float64(r.UsedAfterBytes - r.UsedBeforeBytes); math.Abs(model/got-1) > 0.10 {
			t.Errorf("value %d ttl %v: measured %v B, model %v B", r.ValueBytes, r.TTL, got, model)
		}
	}
	if len(c.Measurements.Service) != len(serviceShapes()) || len(c.Measurements.Fork) != 2 || len(c.Measurements.COW) != 2 {
		t.Errorf("runs: %d service, %d fork, %d cow", len(c.Measurements.Service), len(c.Measurements.Fork), len(c.Measurements.COW))
	}
	if c.Measurements.COW[1].Writes == 0 {
		t.Error("no writes reached the server during the second COW save")
	}
	if !strings.Contains(stdout.String(), "USED MEMORY") {
		t.Error("no table printed")
	}
	t.Logf("tiny calibration took %v", time.Since(start))
}
