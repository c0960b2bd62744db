package server

import (
	"context"
	"net/netip"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/crumb-consent/crumb/account"
	"github.com/crumb-consent/crumb/ledger"
)

// Ledger is what the server needs of the proof-of-consent ledger.
type Ledger interface {
	// NewID returns a fresh consent id (128 bits, URL-safe, unpredictable)
	// that the ledger indexes cheaply.
	NewID() string
	// Append returns after the entry is durable; a nonce seen before returns
	// the first entry with Duplicate set. ErrPushback when overloaded.
	Append(ctx context.Context, e ledger.Entry) (ledger.Appended, error)
	// Proof returns ErrNotFound for an unknown id; it waits briefly for a
	// checkpoint that covers the entry.
	Proof(ctx context.Context, id string) (*ledger.Proof, error)
	// Locate returns the log and index of a committed entry, or ErrNotFound;
	// it does not wait.
	Locate(id string) (log string, index uint64, err error)
	// Checkpoint returns ErrNotFound while the log has no checkpoint.
	Checkpoint(log string) ([]byte, error)
	// Consistency returns ErrRange for sizes the log cannot prove.
	Consistency(ctx context.Context, log string, from, to uint64) ([]tlog.Hash, error)
	// Leaves calls fn with the leaves of log from index on (leaf nil and
	// err ErrErased for an erased one) until fn returns false.
	Leaves(log string, from uint64, fn func(index uint64, leaf []byte, err error) bool) error
	VerifierKey() string
}

// Sites is what the server needs of the site registry; errors wrap
// account.ErrNotFound for unknown sites.
type Sites interface {
	Site(id string) (account.Site, error)
	HasVersion(site, version string) bool
	CurrentBanner(site string) (account.Banner, error)
	AnyDomains(match func(domains []string) bool) bool
	// Sites lists the sites of an account ("" lists every site).
	Sites(account string) []account.Site
}

// Regions maps an (anonymised) address to a country and the rule set that
// applies there (widget.OptIn, OptOut or Notice; "" for OptIn). Without one,
// every visitor gets the strictest rule set.
type Regions interface {
	Lookup(addr netip.Addr) (country, ruleSet string)
}

var _ Ledger = (*ledger.Ledger)(nil)
var _ Sites = (*account.Store)(nil)
