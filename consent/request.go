package consent

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrInvalid is wrapped by every error that rejects a request's content.
var ErrInvalid = errors.New("invalid consent")

// Limits on request fields. MaxBody is the POST body limit of DESIGN §4.
const (
	MaxBody        = 8 << 10
	maxURL         = 2048
	maxVersion     = 64
	maxSite        = 64
	minNonce       = 16
	maxNonce       = 64
	idLength       = 22
	stateNecessary = "necessary"
)

// Request is the body of POST /v1/consent.
type Request struct {
	Site     string
	URL      string
	State    State
	Method   string
	Version  string
	Replaces string // earlier consent id, or ""
	Nonce    string // client-made idempotency key, or ""
	GPC      bool   // the browser sent Global Privacy Control
	// SharedFrom is the consent id of another site's consent this one takes
	// over (cross-site sharing, "shared_from"), or "". Only its format is
	// checked here; whether it names a consent the site may share from is the
	// caller's question.
	SharedFrom string
}

// DecodeRequest parses and validates a consent request strictly: exact field
// names, no duplicates, no unknown fields, no nulls, no trailing data. Every
// error wraps ErrInvalid and says what is wrong.
//
// It reads the body in one pass (see decode.go) and accepts exactly what a
// strict encoding/json token reader accepts: string escapes are decoded,
// invalid UTF-8 and lone surrogates become U+FFFD, a key may be escaped
// ("\u0073ite" is "site"), and errors come in reading order (an unknown key
// is reported before the syntax that follows it).
func DecodeRequest(data []byte) (Request, error) {
	if len(data) > MaxBody {
		return Request{}, fmt.Errorf("%w: body over %d bytes", ErrInvalid, MaxBody)
	}
	d := reqDecoder{data: data}
	req, have, err := d.request()
	if err != nil {
		return Request{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := req.validate(have); err != nil {
		return Request{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return req, nil
}

type stateSeen struct{ necessary, preferences, statistics, marketing bool }

func (r *Request) validate(have stateSeen) error {
	if r.Site == "" || len(r.Site) > maxSite || !urlSafe(r.Site) {
		return errors.New("site must be a site id")
	}
	if err := checkURL(r.URL); err != nil {
		return err
	}
	if r.Version == "" || len(r.Version) > maxVersion || !urlSafe(r.Version) {
		return errors.New("version must be a banner version id")
	}
	if !have.necessary || !r.State.Necessary {
		return errors.New(`state.necessary must be true`)
	}
	if !have.preferences || !have.statistics || !have.marketing {
		return errors.New("state must name preferences, statistics and marketing")
	}
	if r.Nonce != "" && (len(r.Nonce) < minNonce || len(r.Nonce) > maxNonce || !urlSafe(r.Nonce)) {
		return fmt.Errorf("nonce must be %d to %d URL-safe characters", minNonce, maxNonce)
	}
	if r.Replaces != "" && !isID(r.Replaces) {
		return errors.New("replaces must be a consent id")
	}
	if r.SharedFrom != "" && !isID(r.SharedFrom) {
		return errors.New("shared_from must be a consent id")
	}
	s := r.State
	all := s.Preferences && s.Statistics && s.Marketing
	none := !s.Preferences && !s.Statistics && !s.Marketing
	switch r.Method {
	case MethodAcceptAll:
		if !all {
			return errors.New("accept_all with a denied category")
		}
	case MethodRejectAll:
		if !none {
			return errors.New("reject_all with a granted category")
		}
	case MethodWithdraw:
		if !none {
			return errors.New("withdraw with a granted category")
		}
		if r.Replaces == "" {
			return errors.New("withdraw needs replaces: the consent it withdraws")
		}
	case MethodGPC:
		if s.Marketing {
			return errors.New("gpc with marketing granted")
		}
		r.GPC = true
	case MethodCustom:
	default:
		return fmt.Errorf("method must be one of accept_all, reject_all, custom, gpc, withdraw")
	}
	return nil
}

func checkURL(raw string) error {
	if raw == "" || len(raw) > maxURL {
		return fmt.Errorf("url must be 1 to %d characters", maxURL)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return errors.New("url must be an absolute http or https URL")
	}
	return nil
}

// URLHost returns the lower-case host name (no port) of an already validated URL.
func URLHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// HostAllowed reports whether host is one of domains or a subdomain of one.
// Ports are not part of a domain; callers pass a bare host name.
func HostAllowed(host string, domains []string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, d := range domains {
		if host == d || (len(host) > len(d) && strings.HasSuffix(host, d) && host[len(host)-len(d)-1] == '.') {
			return true
		}
	}
	return false
}

// isID reports whether s has the form of a consent id (see NewID).
func isID(s string) bool { return len(s) == idLength && urlSafe(s) }

func urlSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
