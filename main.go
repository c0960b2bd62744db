// Command crumb runs the Crumb cookie-consent platform: the server, and the
// commands that manage its data directory (see DESIGN §5 and README.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand. It gets the arguments after its name.
type command struct {
	run   func(ctx context.Context, env *Env, args []string) error
	usage string
}

var commands = map[string]command{
	"serve":         {runServe, "run the server"},
	"site":          {runSite, "manage sites: site add --domain example.com"},
	"scan":          {runScan, "scan a site for cookies: scan URL [--pages N] [--engine colly|chrome] [--format json|table]"},
	"cookies":       {runCookies, "load the Open Cookie Database CSV into the classifier: cookies import FILE"},
	"verify":        {runVerify, "verify a consent proof offline: verify --key VKEY PROOF.json"},
	"erase-expired": {runEraseExpired, "erase consent records past each site's retention"},
	"backup":        {runBackup, "write a hot, consistent backup of the data directory"},
	"healthcheck":   {runHealthcheck, "exit 0 when the local server answers /healthz"},
}

// Env is what a command may use of the outside world; tests supply their own.
type Env struct {
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Ready, when set, receives the server's address once it listens.
	Ready chan<- string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &Env{Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	if err := run(ctx, env, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "crumb:", err)
		}
		os.Exit(exitCode(err))
	}
}

// run dispatches to a subcommand.
func run(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.Stderr)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		usage(env.Stderr)
		return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	return cmd.run(ctx, env, args[1:])
}

var errUsage = errors.New("usage")

func exitCode(err error) int {
	switch {
	case errors.Is(err, flag.ErrHelp): // asked for: not a failure, as with crumb -h
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	return 1
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: crumb <command> [flags]\n\ncommands:")
	for _, name := range []string{"serve", "site", "verify", "scan", "cookies", "erase-expired", "backup", "healthcheck"} {
		if c, ok := commands[name]; ok {
			fmt.Fprintf(w, "  %-14s %s\n", name, c.usage)
		}
	}
	fmt.Fprintln(w, "\nEvery flag also reads CRUMB_<NAME> from the environment (--rate-limit → CRUMB_RATE_LIMIT).")
}
