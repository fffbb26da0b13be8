package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spillway-sim/spillway/sim/calibration"
)

// config is what one calibration run measures.
type config struct {
	out         string
	refit       string
	redisServer string
	dir         string
	date        string
	command     string
	quick       bool
	seed        uint64
	keys        int64
	valueSizes  []int
	rttSamples  int
	serviceOps  int64
	servicePool int64
	forkSizes   []int64
	forkValue   int
	forkRepeats int
	cowDataset  int64
	cowShapes   []cowShape
	cowRates    []int
	// The fidelity suite (fidelity.go): written to fidelityOut when set; with
	// fidelityOnly the calibration itself is not measured.
	fidelityOut      string
	fidelityOnly     bool
	fidelitySizes    []int64
	fidelityRates    []int
	fidelityBigRates []int // for datasets of bigDataset and more
}

// fullConfig is the shipped calibration's configuration.
func fullConfig() config {
	return config{
		redisServer: "redis-server",
		seed:        1,
		keys:        1_000_000,
		valueSizes:  []int{16, 64, 128, 256, 1024},
		rttSamples:  5000,
		serviceOps:  200_000,
		servicePool: 20_000,
		forkSizes:   []int64{256 << 20, 512 << 20, 1 << 30, 2 << 30},
		forkValue:   256,
		forkRepeats: 2,
		cowDataset:  1 << 30,
		cowShapes:   []cowShape{{valueBytes: 256}, {valueBytes: 64, ttl: true}},
		cowRates:    []int{0, 2000, 10000, 50000},

		fidelitySizes:    []int64{512 << 20, 2 << 30},
		fidelityRates:    []int{5000, 20000, 50000},
		fidelityBigRates: []int{50000},
	}
}

// quickConfig overrides a config with sizes that run in well under a minute.
func quickConfig(c config) config {
	c.quick = true
	c.keys = 50_000
	c.rttSamples = 1000
	c.serviceOps = 20_000
	c.servicePool = 5_000
	c.forkSizes = []int64{16 << 20, 32 << 20, 64 << 20}
	c.forkRepeats = 1
	c.cowDataset = 64 << 20
	c.cowRates = []int{0, 5000, 20000}
	c.fidelitySizes = []int64{32 << 20}
	c.fidelityRates = []int{2000, 10000}
	return c
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := realMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// realMain parses args, runs the calibration, prints the table to stdout and writes
// the JSON; progress goes to stderr. It returns the exit code.
func realMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "calibrate:", err)
		return 2
	}
	var cal calibration.Calibration
	var fid *calibration.Fidelity
	if cfg.refit != "" {
		cal, err = refit(cfg.refit)
	} else {
		cal, fid, err = run(ctx, cfg, stderr)
	}
	if err != nil {
		fmt.Fprintln(stderr, "calibrate:", err)
		return 1
	}
	if fid != nil {
		printFidelity(stdout, *fid)
		var buf bytes.Buffer
		if err := calibration.EncodeFidelity(&buf, *fid); err != nil {
			fmt.Fprintln(stderr, "calibrate:", err)
			return 1
		}
		if err := os.WriteFile(cfg.fidelityOut, buf.Bytes(), 0o644); err != nil {
			fmt.Fprintln(stderr, "calibrate:", err)
			return 1
		}
		fmt.Fprintf(stderr, "wrote %s\n", cfg.fidelityOut)
	}
	if cfg.fidelityOnly {
		return 0
	}
	printTable(stdout, cal)
	if cfg.out != "" {
		var buf bytes.Buffer
		if err := calibration.Encode(&buf, cal); err != nil {
			fmt.Fprintln(stderr, "calibrate:", err)
			return 1
		}
		if err := os.WriteFile(cfg.out, buf.Bytes(), 0o644); err != nil {
			fmt.Fprintln(stderr, "calibrate:", err)
			return 1
		}
		fmt.Fprintf(stderr, "wrote %s\n", cfg.out)
	}
	return 0
}

// parseFlags builds the config from the command line.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("calibrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./cmd/calibrate [-quick] [-out sim/calibration/calibration.json] [flags]")
		fmt.Fprintln(stderr, "Starts its own redis-server on a free loopback port, measures memory, service time,")
		fmt.Fprintln(stderr, "fork, snapshot and copy-on-write, prints measured vs model, and writes the JSON.")
		fs.PrintDefaults()
	}
	def := fullConfig()
	out := fs.String("out", "", "write the calibration JSON here (e.g. sim/calibration/calibration.json)")
	refitFrom := fs.String("refit", "", "no measuring: re-derive the constants from the measurements in this calibration JSON")
	quick := fs.Bool("quick", false, "small sizes (about a minute): a smoke test, not a calibration to ship")
	bin := fs.String("redis-server", def.redisServer, "redis-server binary")
	dir := fs.String("dir", "", "directory for the server's files (default: a new temporary directory, removed after)")
	date := fs.String("date", "", "date to record (default: today, YYYY-MM-DD)")
	seed := fs.Uint64("seed", def.seed, "seed of the workload's keys and values")
	keys := fs.Int64("keys", def.keys, "keys per used-memory run")
	values := fs.String("value-sizes", joinInts(def.valueSizes), "value sizes of the used-memory runs (bytes)")
	rtt := fs.Int("rtt-samples", def.rttSamples, "PING round trips to time")
	svcOps := fs.Int64("service-ops", def.serviceOps, "keys touched per service-time shape")
	svcPool := fs.Int64("service-pool", def.servicePool, "keys in the pool a service-time shape reads and writes")
	forks := fs.String("fork-sizes", joinSizes(def.forkSizes), "used-memory sizes of the fork-time datasets")
	forkRep := fs.Int("fork-repeats", def.forkRepeats, "BGSAVEs per fork-time dataset size")
	cowSet := fs.String("cow-dataset", joinSizes([]int64{def.cowDataset}), "used memory of the copy-on-write dataset")
	cowShapes := fs.String("cow-shapes", joinShapes(def.cowShapes), "copy-on-write datasets: value sizes, +ttl for keys with a TTL")
	rates := fs.String("cow-rates", joinInts(def.cowRates), "random-key write rates during the COW BGSAVEs (writes/s)")
	fidOut := fs.String("fidelity", "", "also measure the fidelity suite and write it here (e.g. sim/calibration/fidelity.json)")
	fidOnly := fs.Bool("fidelity-only", false, "measure only the fidelity suite (needs -fidelity)")
	fidSizes := fs.String("fidelity-sizes", joinSizes(def.fidelitySizes), "used-memory sizes of the fidelity datasets")
	fidRates := fs.String("fidelity-rates", joinInts(def.fidelityRates), "write rates of the fidelity cases (writes/s, all writers together)")
	fidBig := fs.String("fidelity-big-rates", joinInts(def.fidelityBigRates), "write rates of the fidelity cases of datasets of 1 GiB and more")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg := def
	if *quick {
		cfg = quickConfig(cfg)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	cfg.out, cfg.refit, cfg.redisServer, cfg.dir, cfg.seed = *out, *refitFrom, *bin, *dir, *seed
	if set["keys"] {
		cfg.keys = *keys
	}
	if set["value-sizes"] {
		if cfg.valueSizes, err = parseInts(*values); err != nil {
			return config{}, fmt.Errorf("-value-sizes: %w", err)
		}
	}
	if set["rtt-samples"] {
		cfg.rttSamples = *rtt
	}
	if set["service-ops"] {
		cfg.serviceOps = *svcOps
	}
	if set["service-pool"] {
		cfg.servicePool = *svcPool
	}
	if set["fork-sizes"] {
		if cfg.forkSizes, err = parseSizes(*forks); err != nil {
			return config{}, fmt.Errorf("-fork-sizes: %w", err)
		}
	}
	if set["fork-repeats"] {
		cfg.forkRepeats = *forkRep
	}
	if set["cow-dataset"] {
		s, err := parseSizes(*cowSet)
		if err != nil || len(s) != 1 {
			return config{}, fmt.Errorf("-cow-dataset: want one size, got %q", *cowSet)
		}
		cfg.cowDataset = s[0]
	}
	if set["cow-shapes"] {
		if cfg.cowShapes, err = parseShapes(*cowShapes); err != nil {
			return config{}, fmt.Errorf("-cow-shapes: %w", err)
		}
	}
	if set["cow-rates"] {
		if cfg.cowRates, err = parseInts(*rates); err != nil {
			return config{}, fmt.Errorf("-cow-rates: %w", err)
		}
	}
	cfg.fidelityOut, cfg.fidelityOnly = *fidOut, *fidOnly
	if set["fidelity-sizes"] {
		if cfg.fidelitySizes, err = parseSizes(*fidSizes); err != nil {
			return config{}, fmt.Errorf("-fidelity-sizes: %w", err)
		}
	}
	if set["fidelity-rates"] {
		if cfg.fidelityRates, err = parseInts(*fidRates); err != nil {
			return config{}, fmt.Errorf("-fidelity-rates: %w", err)
		}
	}
	if set["fidelity-big-rates"] {
		if cfg.fidelityBigRates, err = parseInts(*fidBig); err != nil {
			return config{}, fmt.Errorf("-fidelity-big-rates: %w", err)
		}
	}
	cfg.date = *date
	if cfg.date == "" {
		cfg.date = time.Now().Format("2006-01-02")
	}
	cfg.command = "go run ./cmd/calibrate " + strings.Join(args, " ")
	return cfg, cfg.validate()
}

// validate rejects configurations the measurements cannot run with.
func (c config) validate() error {
	switch {
	case c.keys < 1:
		return errors.New("-keys must be >= 1")
	case len(c.valueSizes) == 0:
		return errors.New("-value-sizes must list at least one size")
	case c.rttSamples < 10:
		return errors.New("-rtt-samples must be >= 10")
	case c.serviceOps < 1 || c.servicePool < 1:
		return errors.New("-service-ops and -service-pool must be >= 1")
	case len(c.forkSizes) == 0 || c.forkRepeats < 1:
		return errors.New("-fork-sizes must list a size and -fork-repeats be >= 1")
	case c.cowDataset < 1<<20:
		return errors.New("-cow-dataset must be at least 1MiB")
	case len(c.cowShapes) == 0:
		return errors.New("-cow-shapes must list at least one shape")
	case len(c.cowRates) == 0:
		return errors.New("-cow-rates must list at least one rate")
	case c.fidelityOnly && c.fidelityOut == "":
		return errors.New("-fidelity-only needs -fidelity FILE")
	case c.fidelityOut != "" && c.refit != "":
		return errors.New("-fidelity measures; it cannot be combined with -refit")
	case c.fidelityOut != "" && (len(c.fidelitySizes) == 0 || len(c.fidelityRates) == 0):
		return errors.New("-fidelity-sizes and -fidelity-rates must list at least one value")
	}
	for _, r := range append(slices.Clone(c.fidelityRates), c.fidelityBigRates...) {
		if r < 1 {
			return fmt.Errorf("fidelity write rate %d must be >= 1", r)
		}
	}
	for _, v := range c.valueSizes {
		if v < 1 {
			return fmt.Errorf("value size %d must be >= 1", v)
		}
	}
	for _, s := range c.cowShapes {
		if s.valueBytes < 1 {
			return fmt.Errorf("COW value size %d must be >= 1", s.valueBytes)
		}
	}
	for _, r := range c.cowRates {
		if r < 0 {
			return fmt.Errorf("write rate %d must be >= 0", r)
		}
	}
	return nil
}

// refit re-derives the constants of the calibration in path from its measurements
// (after a change to the model or the fitting), keeping its machine facts.
func refit(path string) (calibration.Calibration, error) {
	f, err := os.Open(path)
	if err != nil {
		return calibration.Calibration{}, err
	}
	defer f.Close()
	old, err := calibration.Decode(f)
	if err != nil {
		return calibration.Calibration{}, fmt.Errorf("%s: %w", path, err)
	}
	return calibration.FromMeasurements(old.Machine, old.Measurements)
}

// run starts a server, measures everything and fits the calibration; with
// -fidelity it also measures the fidelity suite (and with -fidelity-only only that).
func run(ctx context.Context, cfg config, log io.Writer) (calibration.Calibration, *calibration.Fidelity, error) {
	dir := cfg.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "spillway-calibrate-")
		if err != nil {
			return calibration.Calibration{}, nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	srv, err := startServer(ctx, cfg.redisServer, dir)
	if err != nil {
		return calibration.Calibration{}, nil, err
	}
	defer func() {
		if err := srv.stop(); err != nil {
			fmt.Fprintln(log, "calibrate:", err)
		}
	}()
	b := newBench(srv, cfg.seed, log)
	defer b.close()
	var cal calibration.Calibration
	if !cfg.fidelityOnly {
		if cal, err = measureAll(ctx, b, cfg); err != nil {
			return cal, nil, err
		}
	}
	if cfg.fidelityOut == "" {
		return cal, nil, nil
	}
	m := calibration.Machine{Date: cfg.date, Command: cfg.command, Quick: cfg.quick}
	hostFacts(&m)
	if err := b.machineFromServer(ctx, &m); err != nil {
		return cal, nil, fmt.Errorf("machine facts: %w", err)
	}
	m.Notes = fidelityNotes(m)
	prov, err := b.provisional(ctx)
	if err != nil {
		return cal, nil, err
	}
	save := func(cases []calibration.FidelityCase) error { // after every case
		var buf bytes.Buffer
		if err := calibration.EncodeFidelity(&buf, calibration.Fidelity{Machine: m, Cases: cases}); err != nil {
			return err
		}
		return os.WriteFile(cfg.fidelityOut, buf.Bytes(), 0o644)
	}
	cases, err := b.fidelityRuns(ctx, prov, cfg.fidelitySizes, cfg.fidelityRates, cfg.fidelityBigRates, save)
	if err != nil {
		return cal, nil, fmt.Errorf("fidelity: %w", err)
	}
	return cal, &calibration.Fidelity{Machine: m, Cases: cases}, nil
}

// provisional is the memory model from the Redis source's struct sizes with the
// server's measured jemalloc quantum and empty-server baseline: enough to size a
// dataset before anything is fitted.
func (b *bench) provisional(ctx context.Context) (calibration.Calibration, error) {
	classes, err := b.sizeClasses(ctx)
	if err != nil {
		return calibration.Calibration{}, fmt.Errorf("size classes: %w", err)
	}
	if err := b.flush(ctx); err != nil {
		return calibration.Calibration{}, err
	}
	base, _, err := b.settledMemory(ctx)
	if err != nil {
		return calibration.Calibration{}, fmt.Errorf("baseline: %w", err)
	}
	return calibration.Calibration{Memory: calibration.RedisMemory(calibration.QuantumFromClasses(classes), base)}, nil
}

// fidelityNotes are the caveats recorded with every fidelity suite.
func fidelityNotes(m calibration.Machine) []string {
	return []string{
		fmt.Sprintf("A %d-CPU VM shared with other jobs: the writers, the server and its fork child compete for the CPUs, "+
			"so the achieved write rate and the child's lifetime vary between runs; the replay uses the achieved numbers.", m.CPUs),
		"COW is rdb_last_cow_size / aof_last_cow_size with " + m.TransparentHugepage + " transparent huge pages " +
			"(Redis disable-thp " + m.RedisDisableTHP + "); aof-rewrite cases run with appendonly yes, appendfsync everysec.",
		"Writes: SET key value PX ms of same-length random values, pipelined from 4 connections every 5 ms; " +
			"hot: 90 % of the writes to the 1 % of the keys whose id is a multiple of 100.",
	}
}

// measureAll runs every measurement in a fixed order and fits the calibration.
func measureAll(ctx context.Context, b *bench, cfg config) (calibration.Calibration, error) {
	fail := func(what string, err error) (calibration.Calibration, error) {
		return calibration.Calibration{}, fmt.Errorf("%s: %w", what, err)
	}
	m := calibration.Machine{Date: cfg.date, Command: cfg.command, Quick: cfg.quick}
	hostFacts(&m)
	if err := b.machineFromServer(ctx, &m); err != nil {
		return fail("machine facts", err)
	}
	m.Notes = notes(m)
	var meas calibration.Measurements
	var err error
	if meas.JemallocSmallClassesBytes, err = b.sizeClasses(ctx); err != nil {
		return fail("size classes", err)
	}
	if err := b.flush(ctx); err != nil {
		return fail("flush", err)
	}
	base, _, err := b.settledMemory(ctx)
	if err != nil {
		return fail("baseline", err)
	}
	// A provisional model (source constants, measured quantum) sizes the datasets.
	prov := calibration.Calibration{Memory: calibration.RedisMemory(calibration.QuantumFromClasses(meas.JemallocSmallClassesBytes), base)}
	b.logf("redis %s (%s), kernel %s, THP %s, overcommit %d, %d CPUs", m.RedisVersion, m.MemAllocator,
		m.Kernel, m.TransparentHugepage, m.OvercommitMemory, m.CPUs)

	b.logf("used memory: %d keys per run", cfg.keys)
	for _, v := range cfg.valueSizes {
		for _, ttl := range []bool{false, true} {
			r, err := b.usedMemoryRun(ctx, cfg.keys, v, ttl)
			if err != nil {
				return fail(fmt.Sprintf("used memory (value %d, ttl %v)", v, ttl), err)
			}
			meas.UsedMemory = append(meas.UsedMemory, r)
			b.logf("  value %5d ttl %-5v: %8.2f B/key (model %d + dict)", v, ttl, r.PerKeyBytes,
				prov.UsedMemoryPerKey(r.KeyBytes, v, ttl))
		}
	}
	if err := b.flush(ctx); err != nil {
		return fail("flush", err)
	}

	b.logf("rtt: %d PINGs", cfg.rttSamples)
	if meas.RTT, err = b.rttRun(ctx, cfg.rttSamples); err != nil {
		return fail("rtt", err)
	}

	b.logf("service time: %d keys per shape", cfg.serviceOps)
	for _, sh := range serviceShapes() {
		r, err := b.serviceRun(ctx, sh, cfg.serviceOps, cfg.servicePool)
		if err != nil {
			return fail(fmt.Sprintf("service %s keys=%d value=%d", sh.op, sh.keys, sh.valueBytes), err)
		}
		meas.Service = append(meas.Service, r)
		b.logf("  %-7s keys %3d value %4d: cpu %8.0f ns/cmd  wall %8.0f ns/cmd", r.Op, r.KeysPerCmd, r.ValueBytes,
			r.ServerCPUNanosPerCmd, r.WallNanosPerCmd)
	}
	if err := b.flush(ctx); err != nil {
		return fail("flush", err)
	}

	b.logf("fork: sizes %s", joinSizes(cfg.forkSizes))
	if meas.Fork, err = b.forkRuns(ctx, prov, cfg.forkSizes, cfg.forkValue, cfg.forkRepeats); err != nil {
		return fail("fork", err)
	}
	for _, sh := range cfg.cowShapes {
		b.logf("copy-on-write: dataset %s of %s values, rates %s", joinSizes([]int64{cfg.cowDataset}),
			joinShapes([]cowShape{sh}), joinInts(cfg.cowRates))
		runs, err := b.cowRuns(ctx, prov, cfg.cowDataset, sh, cfg.cowRates)
		if err != nil {
			return fail("cow", err)
		}
		meas.COW = append(meas.COW, runs...)
	}
	cal, err := calibration.FromMeasurements(m, meas)
	if err != nil {
		return fail("fit", err)
	}
	return cal, nil
}

// notes are the caveats recorded with every calibration.
func notes(m calibration.Machine) []string {
	return []string{
		fmt.Sprintf("Timing numbers (RTT, service time, fork, snapshot) come from a %d-CPU VM shared with other jobs: "+
			"they are noisy (expect +-30%% between runs); memory numbers are exact allocator accounting.", m.CPUs),
		"Service time is the server main thread's user+sys CPU per pipelined command (INFO cpu), not client wall time.",
		"Snapshot rate is BGSAVE to local disk with rdbcompression yes; the incompressible rate uses random values.",
		"COW is rdb_last_cow_size with " + m.TransparentHugepage + " transparent huge pages (Redis disable-thp " +
			m.RedisDisableTHP + "); writes overwrite uniformly random keys with same-size values.",
	}
}

// parseInts parses "1,2,3".
func parseInts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// parseShapes parses "256,64+ttl".
func parseShapes(s string) ([]cowShape, error) {
	var out []cowShape
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		v, ttl := strings.CutSuffix(f, "+ttl")
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("bad shape %q (want e.g. 256 or 64+ttl)", f)
		}
		out = append(out, cowShape{n, ttl})
	}
	return out, nil
}

func joinShapes(v []cowShape) string {
	s := make([]string, len(v))
	for i, sh := range v {
		s[i] = strconv.Itoa(sh.valueBytes)
		if sh.ttl {
			s[i] += "+ttl"
		}
	}
	return strings.Join(s, ",")
}

// parseSizes parses "256MiB,1GiB,4096" (B, KiB, MiB, GiB suffixes).
func parseSizes(s string) ([]int64, error) {
	var out []int64
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		mult := int64(1)
		for _, u := range []struct {
			suffix string
			mult   int64
		}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
			if strings.HasSuffix(f, u.suffix) {
				f, mult = strings.TrimSuffix(f, u.suffix), u.mult
				break
			}
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("bad size %q", f)
		}
		out = append(out, int64(v*float64(mult)))
	}
	return out, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// joinSizes formats sizes with the largest unit that divides them.
func joinSizes(v []int64) string {
	s := make([]string, len(v))
	for i, n := range v {
		switch {
		case n%(1<<30) == 0:
			s[i] = fmt.Sprintf("%dGiB", n>>30)
		case n%(1<<20) == 0:
			s[i] = fmt.Sprintf("%dMiB", n>>20)
		case n%(1<<10) == 0:
			s[i] = fmt.Sprintf("%dKiB", n>>10)
		default:
			s[i] = strconv.FormatInt(n, 10)
		}
	}
	return strings.Join(s, ",")
}
