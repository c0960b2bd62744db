package consent

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/netip"
	"time"
)

// Sizes of a record's random parts.
const (
	idBytes   = 16 // 128-bit consent id, 22 base64url characters
	saltBytes = 16 // leaf salt, 24 base64 characters
)

// Methods a consent may be given with.
const (
	MethodAcceptAll = "accept_all"
	MethodRejectAll = "reject_all"
	MethodCustom    = "custom"
	MethodGPC       = "gpc"
	MethodWithdraw  = "withdraw"
)

// State is the visitor's choice per category. Necessary is always true.
type State struct {
	Necessary   bool `json:"necessary"`
	Preferences bool `json:"preferences"`
	Statistics  bool `json:"statistics"`
	Marketing   bool `json:"marketing"`
}

// Record is one proof-of-consent leaf. The field order is the contract's
// (DESIGN §3). Marshal writes it by hand; the json tags say what it writes
// and are what ParseRecord reads, and tests hold the two to json.Marshal.
type Record struct {
	ID       string `json:"id"`
	Site     string `json:"site"`
	Time     string `json:"time"`
	IP       string `json:"ip"`
	URL      string `json:"url"`
	State    State  `json:"state"`
	Method   string `json:"method"`
	Version  string `json:"version"`
	Country  string `json:"country"`
	GPC      bool   `json:"gpc"`
	Replaces string `json:"replaces"`
	Salt     string `json:"salt"`
	// SharedFrom is the consent id of another site's record this consent
	// was taken over from (cross-site sharing), or "". It comes last and is
	// omitted when empty, so that records without it keep the bytes they
	// always had.
	SharedFrom string `json:"shared_from,omitempty"`
}

// NewRecord builds the record for an accepted request under id (the
// ledger's, so that the id index stays sequential; NewID for a random one).
// ip must already be anonymised (see AnonymizeIP); now is the server's clock.
func NewRecord(req Request, id, site string, now time.Time, anonIP, country string) Record {
	// One string for the salt and the time, which the fields slice.
	var b [saltBytes]byte
	rand.Read(b[:])
	var text [64]byte
	t := base64.StdEncoding.AppendEncode(text[:0], b[:])
	saltEnd := len(t)
	t = now.UTC().AppendFormat(t, time.RFC3339)
	s := string(t)
	return Record{
		ID:         id,
		Site:       site,
		Time:       s[saltEnd:],
		IP:         anonIP,
		URL:        req.URL,
		State:      req.State,
		Method:     req.Method,
		Version:    req.Version,
		Country:    country,
		GPC:        req.GPC,
		Replaces:   req.Replaces,
		Salt:       s[:saltEnd],
		SharedFrom: req.SharedFrom,
	}
}

// Marshal returns the compact JSON leaf bytes: exactly what json.Marshal
// writes for r (HTML-safe escaping included), in one allocation.
func (r Record) Marshal() []byte {
	// Fixed parts (keys, punctuation, state) take about 200 bytes; strings
	// grow only when they need escapes.
	n := 220 + len(r.ID) + len(r.Site) + len(r.Time) + len(r.IP) + len(r.URL) +
		len(r.Method) + len(r.Version) + len(r.Country) + len(r.Replaces) + len(r.Salt) + len(r.SharedFrom)
	b := make([]byte, 0, n)
	b = append(b, `{"id":`...)
	b = appendJSONString(b, r.ID)
	b = append(b, `,"site":`...)
	b = appendJSONString(b, r.Site)
	b = append(b, `,"time":`...)
	b = appendJSONString(b, r.Time)
	b = append(b, `,"ip":`...)
	b = appendJSONString(b, r.IP)
	b = append(b, `,"url":`...)
	b = appendJSONString(b, r.URL)
	b = append(b, `,"state":`...)
	b = appendJSONState(b, r.State)
	b = append(b, `,"method":`...)
	b = appendJSONString(b, r.Method)
	b = append(b, `,"version":`...)
	b = appendJSONString(b, r.Version)
	b = append(b, `,"country":`...)
	b = appendJSONString(b, r.Country)
	b = append(b, `,"gpc":`...)
	b = appendJSONBool(b, r.GPC)
	b = append(b, `,"replaces":`...)
	b = appendJSONString(b, r.Replaces)
	b = append(b, `,"salt":`...)
	b = appendJSONString(b, r.Salt)
	if r.SharedFrom != "" {
		b = append(b, `,"shared_from":`...)
		b = appendJSONString(b, r.SharedFrom)
	}
	return append(b, '}')
}

// ParseRecord decodes leaf bytes written by Marshal.
func ParseRecord(leaf []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(leaf, &r); err != nil {
		return Record{}, err
	}
	return r, nil
}

// NewID returns a 128-bit random, URL-safe identifier (22 characters).
func NewID() string {
	var b [idBytes]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// AnonymizeIP truncates an address before anything else sees it: IPv4 keeps
// its first three octets, IPv6 its first 48 bits. IPv4-mapped IPv6 addresses
// are treated as IPv4. An invalid address gives "".
func AnonymizeIP(addr netip.Addr) string {
	addr = addr.Unmap()
	switch {
	case addr.Is4():
		b := addr.As4()
		b[3] = 0
		return netip.AddrFrom4(b).String()
	case addr.Is6():
		b := addr.As16()
		clear(b[6:])
		return netip.AddrFrom16(b).String()
	}
	return ""
}
