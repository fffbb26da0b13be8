package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/spillway-sim/spillway/sim/swarm"
)

// Exit codes: a contract for scripts and CI.
const (
	exitOK     = 0 // everything ran and every expectation held
	exitExpect = 1 // an expectation failed
	exitUsage  = 2 // bad input or usage, or a run that could not complete
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := newApp(ctx, os.Stdout, os.Stderr).main(os.Args[1:])
	stop()
	os.Exit(code)
}

// run is the whole CLI, in-process: args without the program name; it returns
// the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	return newApp(context.Background(), stdout, stderr).main(args)
}

// app carries the CLI's environment, so tests can replace what it reads from
// the machine.
type app struct {
	ctx            context.Context
	stdout, stderr io.Writer
	// memAvailable returns MemAvailable from /proc/meminfo, false when unknown.
	memAvailable func() (int64, bool)
	// isTerminal reports whether w is a terminal (the progress bar's condition).
	isTerminal func(w io.Writer) bool
	// cpus is the default of run -parallel.
	cpus int
	// getenv reads the environment (CI=true turns the progress bar into lines).
	getenv func(string) string
}

func newApp(ctx context.Context, stdout, stderr io.Writer) *app {
	return &app{ctx: ctx, stdout: stdout, stderr: stderr, memAvailable: memAvailable, isTerminal: isTerminal,
		cpus: runtime.NumCPU(), getenv: os.Getenv}
}

// command is one verb. Adding a verb is adding one entry to commands.
type command struct {
	name    string
	args    string // the synopsis after the verb
	summary string
	run     func(a *app, args []string) int
}

// commands are the verbs, in help order. (swarm: another issue.)
var commands []command

func init() {
	commands = []command{
		{"run", "[-out DIR] [-seed N] [-repeat N] [-shard i/N] [-quiet] [-parallel N] [-force] [-set PATH=VALUE]... SCENARIO...",
			"run scenarios and write a report per scenario to DIR/<name>/ (with -shard, a partial for merge)",
			(*app).cmdRun},
		{"merge", "[-out DIR] [-quiet] PARTIAL...", "join the partials of sharded runs into DIR/<name>/: the report " +
			"an unsharded run writes", (*app).cmdMerge},
		{"validate", "SCENARIO...", "check scenario files; errors name file:line: field", (*app).cmdValidate},
		{"list", "[-names]", "list the shipped scenarios", (*app).cmdList},
		{"swarm", "[-seeds N | -seed S] [-budget D] [-out DIR]", "draw random fault schedules from seeds, run them and check invariants", (*app).cmdSwarm},
		{"help", "[VERB]", "show this help, or a verb's flags", (*app).cmdHelp},
	}
}

func lookupCommand(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// main dispatches args[0] to its verb.
func (a *app) main(args []string) int {
	if len(args) == 0 {
		a.usage(a.stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		a.usage(a.stdout)
		return exitOK
	}
	c, ok := lookupCommand(args[0])
	if !ok {
		fmt.Fprintf(a.stderr, "spillway: unknown command %q\n\n", args[0])
		a.usage(a.stderr)
		return exitUsage
	}
	return c.run(a, args[1:])
}

func (a *app) usage(w io.Writer) {
	fmt.Fprint(w, `spillway simulates stateful stream consumers that spill per-key context to Redis on
scale-in and rebalance, and reports context loss, latency and Redis memory.

Usage:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  spillway %s %s\n", c.name, c.args)
	}
	fmt.Fprint(w, `
Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
SCENARIO is a shipped scenario name (see "spillway list") or a path to a YAML file
(a path contains a '/' or ends in .yaml or .yml).

Exit status: 0 ok; 1 an expectation failed; 2 bad input or usage, or a run that
could not complete.
`)
}

func (a *app) cmdHelp(args []string) int {
	if len(args) == 0 {
		a.usage(a.stdout)
		return exitOK
	}
	c, ok := lookupCommand(args[0])
	if !ok {
		fmt.Fprintf(a.stderr, "spillway help: unknown command %q\n", args[0])
		return exitUsage
	}
	fmt.Fprintf(a.stdout, "usage: spillway %s %s\n\n%s\n", c.name, c.args, c.summary)
	if fs := a.flagSet(c.name); fs != nil {
		var b strings.Builder
		fs.SetOutput(&b)
		fs.PrintDefaults()
		if b.Len() > 0 {
			fmt.Fprintf(a.stdout, "\nFlags:\n%s", b.String())
		}
	}
	if c.name == "swarm" {
		fmt.Fprintf(a.stdout, "\nInvariants checked on every seed (docs/design.md, \"Swarm testing\"):\n  %s\n",
			strings.Join(swarm.Names(), "\n  "))
	}
	return exitOK
}

// flagSet returns a verb's flags (unbound to values), for help.
func (a *app) flagSet(verb string) *flag.FlagSet {
	switch verb {
	case "run":
		fs, _ := a.runFlags()
		return fs
	case "swarm":
		fs, _ := a.swarmFlags()
		return fs
	case "merge":
		fs, _ := a.mergeFlags()
		return fs
	}
	return nil
}

// parseInterspersed parses flags anywhere among the positional arguments
// ("run scale-in -seed 3"); everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
