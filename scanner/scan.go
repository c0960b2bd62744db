package scanner

import "context"

// Scan crawls the site at opts.URL and reports every cookie it sets, with
// its category and whether it is set before consent (DESIGN §7).
//
// It fails with an error wrapping ErrBadURL or ErrBadOptions for bad input,
// ErrPrivateTarget when the start host resolves only to private addresses
// (and AllowPrivate is not set), and ErrNoBrowser when the chrome engine has
// no browser. When ctx ends during the crawl, Scan returns the partial report
// (Truncated set) together with an error wrapping ctx.Err().
func Scan(ctx context.Context, opts Options) (*Report, error) {
	o, start, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if o.Engine == EngineChrome {
		return scanChrome(ctx, o, start)
	}
	return scanColly(ctx, o, start)
}
