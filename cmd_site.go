package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/crumb-consent/crumb/account"
	"github.com/crumb-consent/crumb/widget"
)

func runSite(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return fmt.Errorf("%w: crumb site add --domain example.com [--domain …] [--name N] [--data DIR]", errUsage)
	}
	var domains listFlag
	fs := newFlagSet(env, "site add")
	fs.Var(&domains, "domain", "a domain the site's pages are on (repeatable; subdomains included)")
	name := fs.String("name", "", "display name (default: the first domain)")
	data := fs.String("data", "./data", "data directory")
	if err := parseFlags(fs, env, args[1:]); err != nil {
		return err
	}
	if len(domains) == 0 || fs.NArg() > 0 {
		return fmt.Errorf("%w: crumb site add --domain example.com [--domain …] [--name N] [--data DIR]", errUsage)
	}
	db, err := openCrumbDB(*data)
	if errors.Is(err, errDataInUse) {
		return fmt.Errorf("%w: add the site through the API instead (POST /v1/sites)", err)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	sites, err := account.Open(db)
	if err != nil {
		return err
	}
	site, err := sites.CreateSite(account.Site{Name: *name, Domains: domains}, defaultBanner())
	if err != nil {
		return fmt.Errorf("site add: %w", err)
	}
	fmt.Fprintf(env.Stderr, "site %q created for %v\n", site.Name, site.Domains)
	fmt.Fprintln(env.Stdout, site.ID)
	return nil
}

// defaultBanner is the banner every new site starts with.
func defaultBanner() account.Banner {
	canonical := widget.DefaultConfig().Canonical()
	return account.Banner{Version: widget.VersionOf(canonical), Config: canonical}
}
