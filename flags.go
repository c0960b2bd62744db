package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
)

// newFlagSet returns a flag set whose flags default to their CRUMB_*
// environment twins: --rate-limit reads CRUMB_RATE_LIMIT. Flags on the
// command line win over the environment.
func newFlagSet(env *Env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("crumb "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// parseFlags applies the command line, then the environment to every flag
// the command line left unset. In that order a list flag given on the
// command line replaces its environment twin instead of adding to it: an
// operator's --trust-proxy must not keep trusting CRUMB_TRUST_PROXY's
// networks as well.
func parseFlags(fs *flag.FlagSet, env *Env, args []string) error {
	if err := fs.Parse(flagsFirst(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || onCommandLine[f.Name] {
			return
		}
		key := "CRUMB_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := env.Getenv(key); v != "" {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("%w: %s=%q: %v", errUsage, key, v, serr)
			}
		}
	})
	return err
}

// listFlag collects a repeated flag (--domain a --domain b) or a
// comma-separated value (CRUMB_DOMAIN=a,b).
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// flagsFirst moves flags that follow positional arguments in front of them,
// so that `crumb scan URL --pages 5` works as DESIGN §5 writes it (package
// flag stops at the first non-flag). "--" ends the flags as usual.
func flagsFirst(fs *flag.FlagSet, args []string) []string {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // Parse reports it
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	return append(flags, positional...)
}
