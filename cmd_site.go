package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/crumb-consent/crumb/account"
	"github.com/crumb-consent/crumb/widget"
)

const siteUsage = "crumb site add --domain example.com [--domain …] [--name N] [--account A] [--banner FILE] [--data DIR]\n" +
	"       crumb site banner --site ID [--data DIR] FILE"

func runSite(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "add":
			return runSiteAdd(env, args[1:])
		case "banner":
			return runSiteBanner(env, args[1:])
		}
	}
	return fmt.Errorf("%w: %s", errUsage, siteUsage)
}

func runSiteAdd(env *Env, args []string) error {
	var domains listFlag
	fs := newFlagSet(env, "site add")
	fs.Var(&domains, "domain", "a domain the site's pages are on (repeatable; subdomains included)")
	name := fs.String("name", "", "display name (default: the first domain)")
	acct := fs.String("account", "", "the account the site belongs to (sites of one account may share consent)")
	bannerFile := fs.String("banner", "", "banner config JSON for the site (default: the built-in banner)")
	data := fs.String("data", "./data", "data directory")
	if err := parseFlags(fs, env, args); err != nil {
		return err
	}
	if len(domains) == 0 || fs.NArg() > 0 {
		return fmt.Errorf("%w: %s", errUsage, siteUsage)
	}
	banner := defaultBanner()
	if *bannerFile != "" {
		var err error
		if banner, err = readBanner(*bannerFile); err != nil {
			return fmt.Errorf("site add: %w", err)
		}
	}
	return withSites(*data, "POST /v1/sites", func(sites *account.Store) error {
		site, err := sites.CreateSite(account.Site{Name: *name, Domains: domains, Account: *acct}, banner)
		if err != nil {
			return fmt.Errorf("site add: %w", err)
		}
		fmt.Fprintf(env.Stderr, "site %q created for %v\n", site.Name, site.Domains)
		fmt.Fprintln(env.Stdout, site.ID)
		return nil
	})
}

// runSiteBanner saves a new banner version for a site and makes it current;
// earlier versions stay readable (consents name the version they saw).
func runSiteBanner(env *Env, args []string) error {
	fs := newFlagSet(env, "site banner")
	id := fs.String("site", "", "the site's id")
	data := fs.String("data", "./data", "data directory")
	if err := parseFlags(fs, env, args); err != nil {
		return err
	}
	if *id == "" || fs.NArg() != 1 {
		return fmt.Errorf("%w: %s", errUsage, siteUsage)
	}
	banner, err := readBanner(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("site banner: %w", err)
	}
	return withSites(*data, "PUT /v1/sites/{site}/banner", func(sites *account.Store) error {
		if err := sites.SaveBanner(*id, banner); err != nil {
			return fmt.Errorf("site banner: %w", err)
		}
		fmt.Fprintln(env.Stdout, banner.Version)
		return nil
	})
}

// withSites opens the site registry of the data directory while the server
// is stopped (it holds crumb.db while it runs).
func withSites(data, apiInstead string, fn func(*account.Store) error) error {
	db, err := openCrumbDB(data)
	if errors.Is(err, errDataInUse) {
		return fmt.Errorf("%w: do this through the API instead (%s)", err, apiInstead)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	sites, err := account.Open(db)
	if err != nil {
		return err
	}
	return fn(sites)
}

// readBanner reads and validates a banner config file (widget.ParseConfig:
// fields left out keep their defaults).
func readBanner(path string) (account.Banner, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return account.Banner{}, err
	}
	if len(data) > 1<<20 {
		return account.Banner{}, fmt.Errorf("banner config %s: over 1 MiB", path)
	}
	cfg, err := widget.ParseConfig(data)
	if err != nil {
		return account.Banner{}, fmt.Errorf("banner config %s: %w", path, err)
	}
	canonical := cfg.Canonical()
	return account.Banner{Version: widget.VersionOf(canonical), Config: canonical}, nil
}

// defaultBanner is the banner every new site starts with.
func defaultBanner() account.Banner {
	canonical := widget.DefaultConfig().Canonical()
	return account.Banner{Version: widget.VersionOf(canonical), Config: canonical}
}
