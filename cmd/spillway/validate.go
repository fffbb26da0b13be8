package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spillway-sim/spillway/reports"
	"github.com/spillway-sim/spillway/scenarios"
)

// cmdValidate loads each scenario (strict decode, defaults, validation of every
// variant and sweep point) and prints every problem as file:line: field: message.
func (a *app) cmdValidate(args []string) int {
	if len(args) == 0 {
		fmt.Fprintf(a.stderr, "usage: spillway validate SCENARIO...\n")
		return exitUsage
	}
	code := exitOK
	for _, arg := range args {
		sc, err := scenarios.Open(arg)
		if err == nil {
			var plan *scenarios.Plan
			if plan, err = sc.Plan(); err == nil {
				fmt.Fprintf(a.stdout, "ok %s: scenario %s, %d run(s), simulator memory about %s\n", arg, sc.Name,
					len(plan.Runs), reports.FormatBytes(float64(scenarios.EstimateFootprint(sc))))
				continue
			}
		}
		printLoadError(a.stderr, arg, err)
		code = exitUsage
	}
	return code
}

// cmdList prints the shipped scenarios with their descriptions (with -names,
// only their names, one per line, for scripts: make report runs them all).
func (a *app) cmdList(args []string) int {
	if len(args) == 1 && (args[0] == "-names" || args[0] == "--names") {
		for _, e := range scenarios.Library() {
			fmt.Fprintln(a.stdout, e.Name)
		}
		return exitOK
	}
	if len(args) > 0 {
		fmt.Fprintf(a.stderr, "usage: spillway list [-names]\n")
		return exitUsage
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDESCRIPTION")
	for _, e := range scenarios.Library() {
		fmt.Fprintf(tw, "%s\t%s\n", e.Name, e.Description)
	}
	tw.Flush()
	return exitOK
}
