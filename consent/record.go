package consent

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/netip"
	"time"
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
// (DESIGN §3): encoding/json keeps declaration order.
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
}

// NewRecord builds the record for an accepted request. ip must already be
// anonymised (see AnonymizeIP); now is the server's clock.
func NewRecord(req Request, site string, now time.Time, anonIP, country string) Record {
	return Record{
		ID:       NewID(),
		Site:     site,
		Time:     now.UTC().Format(time.RFC3339),
		IP:       anonIP,
		URL:      req.URL,
		State:    req.State,
		Method:   req.Method,
		Version:  req.Version,
		Country:  country,
		GPC:      req.GPC,
		Replaces: req.Replaces,
		Salt:     newSalt(),
	}
}

// Marshal returns the compact JSON leaf bytes.
func (r Record) Marshal() []byte {
	b, err := json.Marshal(r)
	if err != nil {
		// A struct of strings and bools cannot fail to encode.
		panic("consent: marshal record: " + err.Error())
	}
	return b
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
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func newSalt() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
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
