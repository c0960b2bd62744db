package consent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
}

// DecodeRequest parses and validates a consent request strictly: exact field
// names, no duplicates, no unknown fields, no nulls, no trailing data. Every
// error wraps ErrInvalid and says what is wrong.
func DecodeRequest(data []byte) (Request, error) {
	if len(data) > MaxBody {
		return Request{}, fmt.Errorf("%w: body over %d bytes", ErrInvalid, MaxBody)
	}
	var req Request
	var have stateSeen
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	seen := map[string]bool{}
	err := decodeObject(dec, "body", func(key string) error {
		if seen[key] {
			return fmt.Errorf("duplicate field %q", key)
		}
		seen[key] = true
		switch key {
		case "site":
			return decodeScalar(dec, key, &req.Site)
		case "url":
			return decodeScalar(dec, key, &req.URL)
		case "method":
			return decodeScalar(dec, key, &req.Method)
		case "version":
			return decodeScalar(dec, key, &req.Version)
		case "replaces":
			return decodeScalar(dec, key, &req.Replaces)
		case "nonce":
			return decodeScalar(dec, key, &req.Nonce)
		case "gpc":
			return decodeScalar(dec, key, &req.GPC)
		case "state":
			return decodeState(dec, &req.State, &have)
		}
		return fmt.Errorf("unknown field %q", key)
	})
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("trailing data after the object")
		}
	}
	if err != nil {
		return Request{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	for _, f := range []string{"site", "url", "state", "method", "version"} {
		if !seen[f] {
			return Request{}, fmt.Errorf("%w: missing field %q", ErrInvalid, f)
		}
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
	if r.Replaces != "" && (len(r.Replaces) != idLength || !urlSafe(r.Replaces)) {
		return errors.New("replaces must be a consent id")
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

func urlSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// decodeObject reads one JSON object, calling field for each key with the
// decoder positioned at its value.
func decodeObject(dec *json.Decoder, what string, field func(key string) error) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("bad JSON: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("%s must be a JSON object", what)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("bad JSON: %v", err)
		}
		key, ok := tok.(string)
		if !ok {
			return errors.New("bad JSON: object key")
		}
		if err := field(key); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("bad JSON: %v", err)
	}
	return nil
}

// decodeScalar reads one JSON string or boolean into dst; any other token
// (null included) is a type error.
func decodeScalar[T string | bool](dec *json.Decoder, key string, dst *T) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("bad JSON: %v", err)
	}
	v, ok := tok.(T)
	if !ok {
		kind := "a string"
		if _, isBool := any(*dst).(bool); isBool {
			kind = "a boolean"
		}
		return fmt.Errorf("%s must be %s", key, kind)
	}
	*dst = v
	return nil
}

func decodeState(dec *json.Decoder, s *State, have *stateSeen) error {
	return decodeObject(dec, "state", func(key string) error {
		var dst *bool
		var seen *bool
		switch key {
		case stateNecessary:
			dst, seen = &s.Necessary, &have.necessary
		case "preferences":
			dst, seen = &s.Preferences, &have.preferences
		case "statistics":
			dst, seen = &s.Statistics, &have.statistics
		case "marketing":
			dst, seen = &s.Marketing, &have.marketing
		default:
			return fmt.Errorf("unknown state category %q", key)
		}
		if *seen {
			return fmt.Errorf("duplicate state category %q", key)
		}
		*seen = true
		return decodeScalar(dec, "state."+key, dst)
	})
}
