package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/crumb-consent/crumb/scanner"
)

func runScan(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "scan")
	pages := fs.Int("pages", scanner.DefaultPages, "maximum pages to load")
	engine := fs.String("engine", scanner.EngineColly, "colly (HTTP only) or chrome (a real Chromium: also sees script cookies and storage)")
	format := fs.String("format", "json", "json (the report of DESIGN §7) or table")
	consentRuns := fs.String("consent", "", `chrome engine: "all" also loads each page after Accept all and after Reject all in the Crumb banner`)
	allowPrivate := fs.Bool("allow-private-scan", false, "allow loopback and private addresses as targets")
	if err := parseFlags(fs, env, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: crumb scan URL [--pages N] [--engine colly|chrome] [--format json|table] [--allow-private-scan]", errUsage)
	}
	if *format != "json" && *format != "table" {
		return fmt.Errorf("%w: --format must be json or table", errUsage)
	}
	if *engine != scanner.EngineColly && *engine != scanner.EngineChrome {
		return fmt.Errorf("%w: --engine must be colly or chrome", errUsage)
	}
	if *pages < 1 {
		return fmt.Errorf("%w: --pages must be at least 1", errUsage)
	}
	report, err := scanner.Scan(ctx, scanner.Options{
		URL: fs.Arg(0), Pages: *pages, Engine: *engine, Consent: *consentRuns, AllowPrivate: *allowPrivate,
		Progress: func(done, planned int) { fmt.Fprintf(env.Stderr, "\rscanned %d/%d pages", done, planned) },
	})
	fmt.Fprintln(env.Stderr)
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	if *format == "table" {
		return writeScanTable(env.Stdout, report)
	}
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(report)
}

func writeScanTable(w io.Writer, r *scanner.Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%d pages, %d cookies, %d third-party requests from %s (%s)\n\n", len(r.Pages), len(r.Cookies), countThirdParty(r), r.URL, r.Engine)
	fmt.Fprintln(tw, "NAME\tDOMAIN\tCATEGORY\tSOURCE\tPARTY\tSET BY\tEXPIRES\tBEFORE CONSENT")
	for _, c := range r.Cookies {
		party, expires, before := "first", c.Expires, ""
		if c.ThirdParty {
			party = "third"
		}
		if expires == "" {
			expires = "session"
		}
		if c.BeforeConsent {
			before = "FLAGGED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Domain, c.Category, c.Source, party, c.SetBy, expires, before)
	}
	return tw.Flush()
}

func countThirdParty(r *scanner.Report) int {
	n := 0
	for _, req := range r.Requests {
		if req.ThirdParty {
			n++
		}
	}
	return n
}
