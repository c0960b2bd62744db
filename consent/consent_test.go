package consent

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const validBody = `{"site":"s1","url":"https://shop.example/a?b=1","state":{"necessary":true,"preferences":false,"statistics":true,"marketing":false},"method":"custom","version":"v0123456789abcdef","nonce":"abcdefghijklmnop"}`

func TestDecodeRequest(t *testing.T) {
	req, err := DecodeRequest([]byte(validBody))
	if err != nil {
		t.Fatal(err)
	}
	want := Request{Site: "s1", URL: "https://shop.example/a?b=1", State: State{Necessary: true, Statistics: true}, Method: "custom", Version: "v0123456789abcdef", Nonce: "abcdefghijklmnop"}
	if req != want {
		t.Fatalf("got %+v, want %+v", req, want)
	}
}

func TestDecodeRequestRejects(t *testing.T) {
	state := `{"necessary":true,"preferences":false,"statistics":false,"marketing":false}`
	all := `{"necessary":true,"preferences":true,"statistics":true,"marketing":true}`
	body := func(fields string) string {
		return `{"site":"s1","url":"https://a.example/","version":"v1",` + fields + `}`
	}
	cases := []struct{ name, body, want string }{
		{"empty", ``, "bad JSON"},
		{"not object", `[]`, "must be a JSON object"},
		{"null", `null`, "must be a JSON object"},
		{"truncated", `{"site":"s1"`, "bad JSON"},
		{"trailing", body(`"state":`+state+`,"method":"reject_all"`) + `{}`, "trailing"},
		{"unknown field", body(`"state":` + state + `,"method":"reject_all","ip":"1.2.3.4"`), `unknown field "ip"`},
		{"case-folded field", body(`"state":` + state + `,"Method":"reject_all"`), `unknown field "Method"`},
		{"duplicate field", body(`"state":` + state + `,"method":"reject_all","method":"accept_all"`), "duplicate"},
		{"missing method", body(`"state":` + state), `missing field "method"`},
		{"missing state", body(`"method":"reject_all"`), `missing field "state"`},
		{"null method", body(`"state":` + state + `,"method":null`), "must be a string"},
		{"number site", `{"site":5,"url":"https://a.example/","version":"v1","state":` + state + `,"method":"reject_all"}`, "must be a string"},
		{"bad method", body(`"state":` + state + `,"method":"maybe"`), "method must be"},
		{"state not object", body(`"state":true,"method":"reject_all"`), "state must be a JSON object"},
		{"state string bool", body(`"state":{"necessary":"true","preferences":false,"statistics":false,"marketing":false},"method":"reject_all"`), "must be a boolean"},
		{"state unknown", body(`"state":{"necessary":true,"preferences":false,"statistics":false,"marketing":false,"ads":true},"method":"reject_all"`), "unknown state category"},
		{"state partial", body(`"state":{"necessary":true},"method":"reject_all"`), "must name"},
		{"necessary false", body(`"state":{"necessary":false,"preferences":false,"statistics":false,"marketing":false},"method":"reject_all"`), "necessary must be true"},
		{"accept_all denied", body(`"state":` + state + `,"method":"accept_all"`), "accept_all with a denied"},
		{"reject_all granted", body(`"state":` + all + `,"method":"reject_all"`), "reject_all with a granted"},
		{"withdraw no replaces", body(`"state":` + state + `,"method":"withdraw"`), "withdraw needs replaces"},
		{"gpc marketing", body(`"state":` + all + `,"method":"gpc"`), "gpc with marketing"},
		{"short nonce", body(`"state":` + state + `,"method":"reject_all","nonce":"abc"`), "nonce"},
		{"nonce chars", body(`"state":` + state + `,"method":"reject_all","nonce":"abcdefghijklmnop/"`), "nonce"},
		{"bad replaces", body(`"state":` + state + `,"method":"reject_all","replaces":"x"`), "replaces"},
		{"ftp url", `{"site":"s1","url":"ftp://a.example/","version":"v1","state":` + state + `,"method":"reject_all"}`, "http or https"},
		{"relative url", `{"site":"s1","url":"/path","version":"v1","state":` + state + `,"method":"reject_all"}`, "http or https"},
		{"userinfo url", `{"site":"s1","url":"https://u:p@a.example/","version":"v1","state":` + state + `,"method":"reject_all"}`, "http or https"},
		{"long url", `{"site":"s1","url":"https://a.example/` + strings.Repeat("a", 3000) + `","version":"v1","state":` + state + `,"method":"reject_all"}`, "url must be"},
		{"site with slash", `{"site":"s1/scans","url":"https://a.example/","version":"v1","state":` + state + `,"method":"reject_all"}`, "site must be"},
		{"empty version", `{"site":"s1","url":"https://a.example/","version":"","state":` + state + `,"method":"reject_all"}`, "version must be"},
		{"gpc not bool", body(`"state":` + state + `,"method":"reject_all","gpc":1`), "gpc must be a boolean"},
		{"oversized", `{"site":"` + strings.Repeat("a", MaxBody) + `"}`, "over"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(tc.body))
			if err == nil {
				t.Fatalf("accepted %s", tc.body)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestDecodeRequestGPCMethodSetsFlag(t *testing.T) {
	req, err := DecodeRequest([]byte(`{"site":"s","url":"http://a.example","version":"v","method":"gpc","state":{"necessary":true,"preferences":true,"statistics":true,"marketing":false}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !req.GPC {
		t.Fatal("method gpc must record gpc:true")
	}
}

func TestAnonymizeIP(t *testing.T) {
	cases := map[string]string{
		"203.0.113.77":               "203.0.113.0",
		"::ffff:203.0.113.77":        "203.0.113.0",
		"2001:db8:abcd:1234:5678::1": "2001:db8:abcd::",
		"::1":                        "::",
		"10.1.2.3":                   "10.1.2.0",
	}
	for in, want := range cases {
		if got := AnonymizeIP(netip.MustParseAddr(in)); got != want {
			t.Errorf("AnonymizeIP(%s) = %s, want %s", in, got, want)
		}
	}
	if got := AnonymizeIP(netip.Addr{}); got != "" {
		t.Errorf("invalid address gave %q", got)
	}
}

func TestHostAllowed(t *testing.T) {
	domains := []string{"shop.example", "example.org"}
	cases := map[string]bool{
		"shop.example":      true,
		"SHOP.example.":     true,
		"www.shop.example":  true,
		"evilshop.example":  false,
		"shop.example.evil": false,
		"example.org":       true,
		"org":               false,
		"":                  false,
	}
	for host, want := range cases {
		if got := HostAllowed(host, domains); got != want {
			t.Errorf("HostAllowed(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestRecordFieldOrder(t *testing.T) {
	req, _ := DecodeRequest([]byte(validBody))
	rec := NewRecord(req, NewID(), "s1", time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)), "203.0.113.0", "DE")
	leaf := string(rec.Marshal())
	order := []string{`"id"`, `"site"`, `"time":"2026-01-02T02:04:05Z"`, `"ip"`, `"url"`, `"state"`, `"method"`, `"version"`, `"country":"DE"`, `"gpc"`, `"replaces"`, `"salt"`}
	last := -1
	for _, k := range order {
		i := strings.Index(leaf, k)
		if i <= last {
			t.Fatalf("field %s out of order in %s", k, leaf)
		}
		last = i
	}
	if len(rec.ID) != 22 {
		t.Errorf("id %q is not 22 URL-safe characters", rec.ID)
	}
	salt, err := base64.StdEncoding.DecodeString(rec.Salt)
	if err != nil || len(salt) != 16 {
		t.Errorf("salt %q is not 16 bytes of base64", rec.Salt)
	}
	back, err := ParseRecord([]byte(leaf))
	if err != nil || back != rec {
		t.Fatalf("round trip: %v %+v", err, back)
	}
}

func TestReceipts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "receipt.key")
	r, err := LoadReceipts(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi.Mode(), err)
	}
	again, err := LoadReceipts(path)
	if err != nil || string(again.JWKS()) != string(r.JWKS()) {
		t.Fatalf("reloaded key differs: %v", err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	rec := Record{ID: NewID(), Site: "s1", Time: now.Format(time.RFC3339), State: State{Necessary: true, Marketing: true}, Version: "v1"}
	lh := make([]byte, 32)
	lh[0] = 7
	tok, err := r.Issue(rec, 41, lh, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != rec.ID || c.Subject != "s1" || c.Index != 41 || c.State != rec.State || c.Version != "v1" || c.LeafHash != base64.StdEncoding.EncodeToString(lh) {
		t.Fatalf("claims %+v", c)
	}

	// The JWKS publishes the key that verifies the receipt.
	var set struct{ Keys []map[string]string }
	if err := json.Unmarshal(r.JWKS(), &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks: %v %s", err, r.JWKS())
	}
	x, _ := base64.RawURLEncoding.DecodeString(set.Keys[0]["x"])
	if _, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return ed25519.PublicKey(x), nil }, jwt.WithValidMethods([]string{"EdDSA"})); err != nil {
		t.Fatalf("receipt does not verify with the JWKS key: %v", err)
	}

	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	forged, _ := NewReceipts(otherKey).Issue(rec, 41, lh, time.Hour)
	expired, _ := r.Issue(Record{ID: rec.ID, Site: "s1", Time: now.Add(-48 * time.Hour).Format(time.RFC3339)}, 1, lh, time.Hour)
	hmac, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"jti": "x", "sub": "s1", "exp": now.Add(time.Hour).Unix()}).SignedString([]byte(r.pub))
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"jti": "x", "sub": "s1", "exp": now.Add(time.Hour).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	parts := strings.Split(tok, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"jti":"`+rec.ID+`","sub":"s1","idx":1,"exp":9999999999}`)) + "." + parts[2]
	for name, bad := range map[string]string{"other key": forged, "expired": expired, "hs256 with public key": hmac, "alg none": none, "tampered": tampered, "garbage": "a.b.c", "empty": ""} {
		if _, err := r.Verify(bad); !errors.Is(err, ErrBadReceipt) {
			t.Errorf("%s: Verify = %v, want ErrBadReceipt", name, err)
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(validBody))
	f.Add([]byte(`{"site":"s","url":"http://a","version":"v","method":"withdraw","replaces":"AAAAAAAAAAAAAAAAAAAAAA","state":{"necessary":true,"preferences":false,"statistics":false,"marketing":false}}`))
	f.Add([]byte(`{"state":{"state":{}}}`))
	f.Add([]byte(`{"site":"\u0000"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeRequest(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		// Whatever is accepted is well-formed enough to become a leaf.
		if !req.State.Necessary || req.Site == "" || req.Version == "" || checkURL(req.URL) != nil {
			t.Fatalf("accepted an invalid request: %+v", req)
		}
		rec := NewRecord(req, NewID(), req.Site, time.Unix(0, 0), "203.0.113.0", "")
		if _, err := ParseRecord(rec.Marshal()); err != nil {
			t.Fatalf("record does not round-trip: %v", err)
		}
	})
}
