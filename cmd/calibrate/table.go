package main

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/spillway-sim/spillway/sim/calibration"
)

// errPct is the model's error relative to the measurement, in percent.
func errPct(measured, model float64) float64 {
	if measured == 0 {
		if model == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return (model - measured) / measured * 100
}

// printTable prints every measurement next to the model's prediction from the fitted
// constants, with the error in percent.
func printTable(w io.Writer, c calibration.Calibration) {
	m := c.Machine
	fmt.Fprintf(w, "Calibration %s: redis %s (%s), kernel %s, THP %s (redis disable-thp %s), overcommit_memory %d, %s x%d\n",
		m.Date, m.RedisVersion, m.MemAllocator, m.Kernel, m.TransparentHugepage, m.RedisDisableTHP,
		m.OvercommitMemory, m.CPUModel, m.CPUs)
	fmt.Fprintf(w, "jemalloc quantum %d B; baseline used_memory %d B; RSS/used %.4f\n\n",
		c.Memory.JemallocQuantumBytes, c.Memory.BaselineUsedBytes, c.Memory.RSSFragmentationRatio)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "USED MEMORY\tkeys\tkey B\tvalue B\tttl\tmeasured B/key\tmodel B/key\terr %\t")
	for _, r := range c.Measurements.UsedMemory {
		model := float64(c.UsedMemory(r.Keys, r.KeyBytes, r.ValueBytes, r.TTL)-c.Memory.BaselineUsedBytes) / float64(r.Keys)
		measured := float64(r.UsedAfterBytes-r.UsedBeforeBytes) / float64(r.Keys)
		fmt.Fprintf(tw, "\t%d\t%d\t%d\t%v\t%.2f\t%.2f\t%+.2f\t\n", r.Keys, r.KeyBytes, r.ValueBytes, r.TTL,
			measured, model, errPct(measured, model))
	}
	tw.Flush()

	fmt.Fprintf(w, "\nRTT (loopback PING, go-redis): p50 %.1f us, p99 %.1f us, mean %.1f us over %d samples\n\n",
		float64(c.Measurements.RTT.P50Nanos)/1e3, float64(c.Measurements.RTT.P99Nanos)/1e3,
		float64(c.Measurements.RTT.MeanNanos)/1e3, c.Measurements.RTT.Samples)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "SERVICE\top\tkeys\tbytes\tpipeline\twall ns/cmd\tserver cpu ns/cmd\tmodel ns\terr %\t")
	for _, r := range c.Measurements.Service {
		model := float64(c.ServiceTime(r.Op, r.KeysPerCmd, r.BytesPerCmd))
		fmt.Fprintf(tw, "\t%s\t%d\t%d\t%d\t%.0f\t%.0f\t%.0f\t%+.1f\t\n", r.Op, r.KeysPerCmd, r.BytesPerCmd,
			r.Pipeline, r.WallNanosPerCmd, r.ServerCPUNanosPerCmd, model, errPct(r.ServerCPUNanosPerCmd, model))
	}
	tw.Flush()
	fmt.Fprintln(w, "fitted (ns): op\tper_op\tper_key\tper_byte")
	for _, op := range calibration.OpKinds {
		oc, _ := c.Latency.Cost(op)
		fmt.Fprintf(w, "             %-8s %8.1f %8.1f %8.4f\n", op, oc.PerOpNanos, oc.PerKeyNanos, oc.PerByteNanos)
	}

	fmt.Fprintf(w, "\nFORK: %.2f ms + %.2f ms/GiB; snapshot %.1f MiB/s incompressible, %.1f MiB/s compressible\n",
		c.Fork.BaseNanos/1e6, c.Fork.NanosPerGiB/1e6, c.Fork.SnapshotBytesPerSec/(1<<20),
		c.Fork.SnapshotCompressibleBytesPerSec/(1<<20))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "FORK\tdataset\tused MiB\tfork ms\tmodel ms\terr %\tsave s\tmodel s\terr %\tMiB/s\t")
	row := func(kind string, used, forkUsec, saveNs int64, rate float64) {
		fm := float64(c.ForkTime(used)) / 1e6
		fms := float64(forkUsec) / 1e3
		sm := float64(used) / rate
		ss := float64(saveNs) / 1e9
		fmt.Fprintf(tw, "\t%s\t%.1f\t%.2f\t%.2f\t%+.1f\t%.2f\t%.2f\t%+.1f\t%.1f\t\n", kind, mib(used), fms, fm,
			errPct(fms, fm), ss, sm, errPct(ss, sm), float64(used)/(1<<20)/ss)
	}
	for _, r := range c.Measurements.Fork {
		row("populate", r.UsedBytes, r.ForkUsec, r.SaveNanos, c.Fork.SnapshotCompressibleBytesPerSec)
	}
	for _, r := range c.Measurements.COW {
		row(fmt.Sprintf("random@%d/s", r.TargetWritesPerSec), r.UsedBytes, r.ForkUsec, r.SaveNanos, c.Fork.SnapshotBytesPerSec)
	}
	tw.Flush()

	fmt.Fprintf(w, "\nCOW: baseline %.1f MiB + dirtied pages of each size-class region, touch scale %.3f (page %d B)\n",
		mib(c.COW.BaselineBytes), c.COW.TouchScale, c.COW.PageSizeBytes)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "COW\tvalue B\tttl\tkeys\ttarget/s\twrites\tsave s\tused MiB\tcow MiB\tmodel MiB\terr %\tmodel 2MiB pages\t")
	for _, r := range c.Measurements.COW {
		model := c.ExpectedCOW(r.Shape(), r.Keys, r.Writes, c.COW.PageSizeBytes)
		huge := c.ExpectedCOW(r.Shape(), r.Keys, r.Writes, 2<<20)
		fmt.Fprintf(tw, "\t%d\t%v\t%d\t%d\t%d\t%.2f\t%.1f\t%.1f\t%.1f\t%+.1f\t%.1f\t\n", r.ValueBytes, r.TTL, r.Keys,
			r.TargetWritesPerSec, r.Writes, float64(r.SaveNanos)/1e9, mib(r.UsedBytes), mib(r.COWBytes), mib(model),
			errPct(float64(r.COWBytes), float64(model)), mib(huge))
	}
	tw.Flush()
	for _, n := range m.Notes {
		fmt.Fprintln(w, "note:", n)
	}
}

// printFidelity prints the measured fidelity cases (the simulator's replay of
// them is sim's TestFidelity and docs/fidelity.md).
func printFidelity(w io.Writer, f calibration.Fidelity) {
	m := f.Machine
	fmt.Fprintf(w, "Fidelity %s: redis %s (%s), kernel %s, THP %s, %s x%d\n", m.Date, m.RedisVersion, m.MemAllocator,
		m.Kernel, m.TransparentHugepage, m.CPUModel, m.CPUs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "FIDELITY\tcase\tkeys\twrites\twrites/s\tused MiB\tfork ms\tchild s\tcow MiB\tcow/used %\t")
	for _, c := range f.Cases {
		fmt.Fprintf(tw, "\t%s\t%d\t%d\t%.0f\t%.1f\t%.2f\t%.2f\t%.1f\t%.1f\t\n", c.Name, c.Keys, c.Writes, c.WritesPerSec(),
			mib(c.UsedBytes), float64(c.ForkUsec)/1e3, float64(c.ChildNanos)/1e9, mib(c.COWBytes),
			100*float64(c.COWBytes)/float64(c.UsedBytes))
	}
	tw.Flush()
	for _, n := range m.Notes {
		fmt.Fprintln(w, "note:", n)
	}
}
