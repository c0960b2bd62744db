package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/crumb-consent/crumb/account"
	"github.com/crumb-consent/crumb/widget"
)

const siteUsage = "crumb site add --domain example.com [--domain …] [--name N] [--account A] [--banner FILE] [--data DIR]\n" +
	"       crumb site banner --site ID [--data DIR] FILE\n" +
	"       crumb site list [--account A] [--json] [--data DIR]"

func runSite(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "add":
			return runSiteAdd(env, args[1:])
		case "banner":
			return runSiteBanner(env, args[1:])
		case "list":
			return runSiteList(env, args[1:])
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
	req := siteRequest{Name: *name, Domains: domains, Account: *acct}
	if *bannerFile != "" {
		var err error
		if req.Banner, err = readBannerFile(*bannerFile); err != nil {
			return fmt.Errorf("site add: %w", err)
		}
	}
	var site account.Site
	err := withSites(*data, true, func(sites *account.Store) (err error) {
		site, err = req.create(sites)
		return err
	}, func() error {
		body, err := json.Marshal(req)
		if err != nil {
			return err
		}
		out, err := adminCall(*data, http.MethodPost, "/sites", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		return json.Unmarshal(out, &site)
	})
	if err != nil {
		return fmt.Errorf("site add: %w", err)
	}
	fmt.Fprintf(env.Stderr, "site %q created for %v\n", site.Name, site.Domains)
	fmt.Fprintln(env.Stdout, site.ID)
	return nil
}

// siteRequest is a new site as `crumb site add` asks for it, from the store
// itself or through a running server's admin socket.
type siteRequest struct {
	Name    string          `json:"name"`
	Domains []string        `json:"domains"`
	Account string          `json:"account,omitempty"`
	Banner  json.RawMessage `json:"banner,omitempty"` // banner config; the built-in one if empty
}

func (r siteRequest) create(sites *account.Store) (account.Site, error) {
	banner := defaultBanner()
	if len(r.Banner) > 0 {
		var err error
		if banner, err = parseBanner(r.Banner); err != nil {
			return account.Site{}, err
		}
	}
	return sites.CreateSite(account.Site{Name: r.Name, Domains: r.Domains, Account: r.Account}, banner)
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
	config, err := readBannerFile(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("site banner: %w", err)
	}
	var version string
	err = withSites(*data, false, func(sites *account.Store) (err error) {
		version, err = saveBanner(sites, *id, config)
		return err
	}, func() error {
		out, err := adminCall(*data, http.MethodPut, "/sites/"+url.PathEscape(*id)+"/banner", "application/json", bytes.NewReader(config))
		version = string(out)
		return err
	})
	if err != nil {
		return fmt.Errorf("site banner: %w", err)
	}
	fmt.Fprintln(env.Stdout, version)
	return nil
}

// runSiteList prints the registered sites, oldest first: their ids are what
// the other commands and the widget's script tag need.
func runSiteList(env *Env, args []string) error {
	fs := newFlagSet(env, "site list")
	acct := fs.String("account", "", "only the sites of this account")
	asJSON := fs.Bool("json", false, "print the sites as JSON")
	data := fs.String("data", "./data", "data directory")
	if err := parseFlags(fs, env, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: %s", errUsage, siteUsage)
	}
	var list []account.Site
	err := withSites(*data, false, func(sites *account.Store) error {
		list = sites.Sites(*acct)
		return nil
	}, func() error {
		out, err := adminCall(*data, http.MethodGet, "/sites?"+url.Values{"account": {*acct}}.Encode(), "", nil)
		if err != nil {
			return err
		}
		return json.Unmarshal(out, &list)
	})
	if err != nil {
		return fmt.Errorf("site list: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tACCOUNT\tBANNER\tDOMAINS")
	for _, site := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", site.ID, site.Name, site.Account, site.Banner, strings.Join(site.Domains, ","))
	}
	return tw.Flush()
}

// saveBanner makes config the site's current banner and returns its version.
func saveBanner(sites *account.Store, id string, config []byte) (string, error) {
	banner, err := parseBanner(config)
	if err != nil {
		return "", err
	}
	if err := sites.SaveBanner(id, banner); err != nil {
		return "", err
	}
	return banner.Version, nil
}

// withSites runs local on the data directory's site registry, or, while a
// server holds it, remote, which goes through that server's admin socket.
// Only create makes a data directory that is not there yet.
func withSites(data string, create bool, local func(*account.Store) error, remote func() error) error {
	open := openExistingCrumbDB
	if create {
		open = openCrumbDB
	}
	db, err := open(data)
	if errors.Is(err, errDataInUse) {
		return remote()
	}
	if err != nil {
		return err
	}
	defer db.Close()
	sites, err := account.Open(db)
	if err != nil {
		return err
	}
	return local(sites)
}

// maxBannerBytes bounds a banner config.
const maxBannerBytes = 1 << 20

// readBannerFile reads a banner config file and checks it (parseBanner), so
// that a bad file fails here, named, before anything is stored.
func readBannerFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if _, err := parseBanner(data); err != nil {
		return nil, fmt.Errorf("banner config %s: %w", path, err)
	}
	return data, nil
}

// parseBanner validates a banner config (widget.ParseConfig: fields left
// out keep their defaults) and gives its canonical form and version.
func parseBanner(data []byte) (account.Banner, error) {
	if len(data) > maxBannerBytes {
		return account.Banner{}, errors.New("banner config over 1 MiB")
	}
	cfg, err := widget.ParseConfig(data)
	if err != nil {
		return account.Banner{}, err
	}
	canonical := cfg.Canonical()
	return account.Banner{Version: widget.VersionOf(canonical), Config: canonical}, nil
}

// defaultBanner is the banner every new site starts with.
func defaultBanner() account.Banner {
	canonical := widget.DefaultConfig().Canonical()
	return account.Banner{Version: widget.VersionOf(canonical), Config: canonical}
}
