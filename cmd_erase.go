package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/crumb-consent/crumb/account"
	"github.com/crumb-consent/crumb/ledger"
)

// erasure is what one site lost to retention.
type erasure struct {
	Site   string `json:"site"`
	Before string `json:"before"`
	Erased int    `json:"erased"`
}

func runEraseExpired(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "erase-expired")
	asOf := fs.String("as-of", "", "erase as if it were this time (RFC 3339; default now)")
	data := fs.String("data", "./data", "data directory")
	if err := parseFlags(fs, env, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	when := time.Now()
	if *asOf != "" {
		t, err := time.Parse(time.RFC3339, *asOf)
		if err != nil {
			return fmt.Errorf("%w: --as-of: %v", errUsage, err)
		}
		when = t
	}
	var results []erasure
	db, err := openExistingCrumbDB(*data)
	switch {
	case errors.Is(err, errDataInUse):
		results, err = eraseThroughServer(ctx, *data, when)
	case err == nil:
		db.Close()
		var st *stores
		host, herr := ledger.KeyName(*data)
		if herr != nil {
			return herr
		}
		if st, err = openStores(*data, host, nil); err == nil {
			results, err = eraseExpired(st, when)
			err = errors.Join(err, st.Close())
		}
	}
	for _, r := range results {
		fmt.Fprintf(env.Stdout, "site %s: erased %d records from before %s\n", r.Site, r.Erased, r.Before)
	}
	return err
}

// eraseExpired destroys, for every site, the records older than its
// retention as of when: in one pass of the ledger, which records all the
// erasures in one transaction and rewrites its key file once.
func eraseExpired(st *stores, when time.Time) ([]erasure, error) {
	sites := st.sites.Sites("")
	cutoffs := make(map[string]time.Time, len(sites))
	for _, site := range sites {
		cutoffs[site.ID] = cutoff(site, when)
	}
	erased, err := st.ledger.EraseMany(cutoffs)
	if err != nil {
		return nil, fmt.Errorf("erase expired: %w", err)
	}
	out := make([]erasure, 0, len(sites))
	for _, site := range sites {
		out = append(out, erasure{Site: site.ID, Before: cutoffs[site.ID].Format(time.DateOnly), Erased: erased[site.ID]})
	}
	return out, nil
}

// cutoff is the time before which the site's records have expired as of
// when. A cutoff past tomorrow means everything recorded so far (no record
// is dated later than today), and the ledger takes no cutoff beyond that.
func cutoff(site account.Site, when time.Time) time.Time {
	before := when.UTC().AddDate(0, 0, -site.RetentionDays)
	if limit := time.Now().UTC().Add(24 * time.Hour); before.After(limit) {
		before = limit
	}
	return before
}

func eraseThroughServer(ctx context.Context, dir string, when time.Time) ([]erasure, error) {
	body, err := adminCall(dir, http.MethodPost, "/erase-expired?as-of="+url.QueryEscape(when.Format(time.RFC3339)), "", nil)
	if err != nil {
		return nil, err
	}
	var out []erasure
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("server answer: %w", err)
	}
	return out, nil
}
