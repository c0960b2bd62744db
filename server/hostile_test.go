package server

import (
	"bufio"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/crumb-consent/crumb/consent"
	"github.com/crumb-consent/crumb/widget"
)

// Malformed, oversized and hostile input to every public route (DESIGN §4
// and the sharing route of docs/contract-changes.md): each case names the
// exact status, whether the body must be {"error": …}, and checks that
// nothing changed (every log's size, the sites and their banners) and that
// the server still answers.

// hostileCase is one request. raw, when set, is written to the socket as is
// (for what net/http refuses to send); method, path, body and header are
// used otherwise.
type hostileCase struct {
	name         string
	method, path string
	body         []byte
	header       []string
	raw          string
	chunked      bool // send body with Transfer-Encoding: chunked
	status       int
	jsonErr      bool   // the body must be {"error": "<non-empty>"}
	allow        string // for a 405, a method the Allow header must name
	errHas       string // and the error must contain this
}

// state is everything a public request could change: each site with its
// current banner and its log's size.
func (ts *testServer) state() string {
	var b strings.Builder
	for _, s := range ts.sites.Sites("") {
		fmt.Fprintf(&b, "%s:%s:%d;", s.ID, s.Banner, ts.ledger.Size(s.ID))
	}
	return b.String()
}

// raw writes req to the server's socket and reads one response.
func (ts *testServer) raw(tb testing.TB, req string) (*http.Response, []byte) {
	tb.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		tb.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		tb.Fatalf("no HTTP response: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func runHostile(t *testing.T, ts *testServer, cases []hostileCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := ts.state()
			var resp *http.Response
			var body []byte
			switch {
			case tc.raw != "":
				resp, body = ts.raw(t, tc.raw)
			case tc.chunked:
				req, err := http.NewRequest(tc.method, ts.url+tc.path, io.MultiReader(strings.NewReader(string(tc.body))))
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i+1 < len(tc.header); i += 2 {
					req.Header.Set(tc.header[i], tc.header[i+1])
				}
				r, err := ts.client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ = io.ReadAll(r.Body)
				r.Body.Close()
				resp = r
			default:
				resp, body = ts.do(t, tc.method, tc.path, tc.body, tc.header...)
			}
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d: %.300s", resp.StatusCode, tc.status, body)
			}
			if tc.status == http.StatusMethodNotAllowed {
				if allow := strings.Join(resp.Header.Values("Allow"), ", "); allow == "" || strings.Contains(allow, tc.method) ||
					(tc.allow != "" && !strings.Contains(allow, tc.allow)) {
					t.Errorf("Allow %q after %s (want one naming %q)", allow, tc.method, tc.allow)
				}
			}
			if tc.jsonErr {
				var e map[string]any
				if err := json.Unmarshal(body, &e); err != nil {
					t.Errorf("body is not JSON: %.300s", body)
				} else if msg, _ := e["error"].(string); msg == "" || !strings.Contains(msg, tc.errHas) {
					t.Errorf("error %q, want one containing %q", e["error"], tc.errHas)
				}
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type %q for a JSON error", ct)
				}
			}
			if after := ts.state(); after != before {
				t.Errorf("bad input changed the stores:\n before %s\n after  %s", before, after)
			}
		})
	}
	if resp, body := ts.do(t, "GET", "/healthz", nil); resp.StatusCode != 200 {
		t.Fatalf("server unhealthy after hostile input: %d %s", resp.StatusCode, body)
	}
}

// waitCheckpoint waits until the site's signed checkpoint covers size leaves.
func (ts *testServer) waitCheckpoint(tb testing.TB, site string, size uint64) {
	tb.Helper()
	for i := 0; i < 200; i++ {
		if cp, err := ts.ledger.Checkpoint(site); err == nil && strings.Contains(string(cp), fmt.Sprintf("\n%d\n", size)) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	tb.Fatalf("no checkpoint of size %d for %s", size, site)
}

func TestHostileInputToReadRoutes(t *testing.T) {
	f := newShareFixture(t)
	ts := f.ts
	// Two consents on the test site (so that its log has a signed tree of
	// size 2) and one on sharing site A that B may look up.
	var ids []string
	for i := 0; i < 2; i++ {
		resp, body := ts.do(t, "POST", "/v1/consent", ts.consentBody(nil))
		if resp.StatusCode != 201 {
			t.Fatalf("consent: %d %s", resp.StatusCode, body)
		}
		var cr consentResponse
		json.Unmarshal(body, &cr)
		ids = append(ids, cr.ID)
	}
	status, onA := ts.postConsent(t, f.a, nil)
	if status != 201 {
		t.Fatalf("consent on A: %d %v", status, onA)
	}
	shared := onA["id"].(string)
	ts.waitCheckpoint(t, ts.site.ID, 2)
	site, id := ts.site.ID, ids[0]

	// Controls: the well-formed requests these cases are variations of.
	for _, p := range []string{"/healthz", "/v1/sites/" + site + "/widget.js", "/v1/sites/" + site + "/config",
		"/v1/proof/" + id, "/v1/proof/" + id + "?format=tlog-proof", "/v1/sites/" + site + "/checkpoint",
		"/v1/sites/" + site + "/consistency?from=1&to=2", "/v1/log-key", "/.well-known/jwks.json",
		"/v1/sites/" + f.b.ID + "/shared/" + shared} {
		if resp, body := ts.do(t, "GET", p, nil); resp.StatusCode != 200 {
			t.Fatalf("control GET %s: %d %s", p, resp.StatusCode, body)
		}
	}

	long := strings.Repeat("a", 65)          // one past validID's limit
	huge := strings.Repeat("9", 3000)        // fits the request buffer
	overBuffer := strings.Repeat("q", 10000) // does not: 431
	uni := "%E2%80%AE%F0%9F%8D%AA%E6%97%A5"  // RLO, cookie emoji, CJK
	nul := "%00"
	traversal := "..%2F..%2Fv1%2Flog-key" // an encoded ../../v1/log-key inside one segment
	cases := []hostileCase{
		// GET /healthz
		{name: "healthz/wrong method", method: "POST", path: "/healthz", status: 405, jsonErr: true, errHas: "method not allowed", allow: "GET"},
		{name: "healthz/nul suffix", method: "GET", path: "/healthz" + nul, status: 404, jsonErr: true},
		{name: "healthz/huge query ignored", method: "GET", path: "/healthz?x=" + huge, status: 200},
		{name: "healthz/query over buffer", method: "GET", path: "/healthz?x=" + overBuffer, status: 431, jsonErr: true},

		// GET /v1/sites/{site}/widget.js and /config
		{name: "widget/nul site", method: "GET", path: "/v1/sites/" + nul + "/widget.js", status: 404, jsonErr: true},
		{name: "widget/unicode site", method: "GET", path: "/v1/sites/" + uni + "/widget.js", status: 404, jsonErr: true},
		{name: "widget/long site", method: "GET", path: "/v1/sites/" + long + "/widget.js", status: 404, jsonErr: true},
		{name: "widget/dot-dot site", method: "GET", path: "/v1/sites/" + traversal + "/widget.js", status: 404, jsonErr: true},
		{name: "widget/site over buffer", method: "GET", path: "/v1/sites/" + overBuffer + "/widget.js", status: 431, jsonErr: true},
		{name: "widget/wrong method", method: "POST", path: "/v1/sites/" + site + "/widget.js", body: []byte("x"), status: 405, jsonErr: true, errHas: "method not allowed", allow: "GET"},
		{name: "config/nul site", method: "GET", path: "/v1/sites/a" + nul + "b/config", status: 404, jsonErr: true},
		{name: "config/unicode site", method: "GET", path: "/v1/sites/" + uni + "/config", status: 404, jsonErr: true},
		{name: "config/long site", method: "GET", path: "/v1/sites/" + long + "/config", status: 404, jsonErr: true},
		{name: "config/wrong method", method: "DELETE", path: "/v1/sites/" + site + "/config", status: 405, jsonErr: true, errHas: "method not allowed", allow: "GET"},
		{name: "config/huge query ignored", method: "GET", path: "/v1/sites/" + site + "/config?lang=" + huge, status: 200},

		// GET /v1/proof/{id}
		{name: "proof/unknown format", method: "GET", path: "/v1/proof/" + id + "?format=xml", status: 400, jsonErr: true, errHas: "format"},
		{name: "proof/format case", method: "GET", path: "/v1/proof/" + id + "?format=TLOG-PROOF", status: 400, jsonErr: true, errHas: "format"},
		{name: "proof/huge format", method: "GET", path: "/v1/proof/" + id + "?format=" + huge, status: 400, jsonErr: true, errHas: "format"},
		{name: "proof/nul format", method: "GET", path: "/v1/proof/" + id + "?format=tlog-proof" + nul, status: 400, jsonErr: true, errHas: "format"},
		{name: "proof/tlog-proof of unknown id", method: "GET", path: "/v1/proof/AAAAAAAAAAAAAAAAAAAAAA?format=tlog-proof", status: 404, jsonErr: true},
		{name: "proof/id with nul", method: "GET", path: "/v1/proof/" + id + nul, status: 404, jsonErr: true},
		{name: "proof/unicode id", method: "GET", path: "/v1/proof/" + uni, status: 404, jsonErr: true},
		{name: "proof/longest valid-looking id", method: "GET", path: "/v1/proof/" + strings.Repeat("A", 64), status: 404, jsonErr: true},
		{name: "proof/too long id", method: "GET", path: "/v1/proof/" + long, status: 404, jsonErr: true},
		{name: "proof/id over buffer", method: "GET", path: "/v1/proof/" + overBuffer, status: 431, jsonErr: true},
		{name: "proof/dot-dot id", method: "GET", path: "/v1/proof/" + traversal, status: 404, jsonErr: true},
		{name: "proof/wrong method", method: "POST", path: "/v1/proof/" + id, status: 405, jsonErr: true, errHas: "method not allowed", allow: "GET"},

		// GET /v1/sites/{site}/checkpoint
		{name: "checkpoint/nul site", method: "GET", path: "/v1/sites/" + site + nul + "/checkpoint", status: 404, jsonErr: true},
		{name: "checkpoint/unicode site", method: "GET", path: "/v1/sites/" + uni + "/checkpoint", status: 404, jsonErr: true},
		{name: "checkpoint/long site", method: "GET", path: "/v1/sites/" + long + "/checkpoint", status: 404, jsonErr: true},
		{name: "checkpoint/dot-dot site", method: "GET", path: "/v1/sites/" + traversal + "/checkpoint", status: 404, jsonErr: true},
		{name: "checkpoint/wrong method", method: "PUT", path: "/v1/sites/" + site + "/checkpoint", body: []byte("1\n"), status: 405, jsonErr: true, errHas: "method not allowed", allow: "GET"},
		{name: "checkpoint/huge query ignored", method: "GET", path: "/v1/sites/" + site + "/checkpoint?size=" + huge, status: 200},

		// GET /v1/sites/{site}/consistency
		{name: "consistency/to overflows uint64", method: "GET", path: "/v1/sites/" + site + "/consistency?from=1&to=18446744073709551616", status: 400, jsonErr: true, errHas: "from and to"},
		{name: "consistency/both max uint64", method: "GET", path: "/v1/sites/" + site + "/consistency?from=18446744073709551615&to=18446744073709551615", status: 400, jsonErr: true},
		{name: "consistency/to max uint64", method: "GET", path: "/v1/sites/" + site + "/consistency?from=1&to=18446744073709551615", status: 400, jsonErr: true},
		{name: "consistency/to past tree", method: "GET", path: "/v1/sites/" + site + "/consistency?from=1&to=3", status: 400, jsonErr: true},
		{name: "consistency/from zero", method: "GET", path: "/v1/sites/" + site + "/consistency?from=0&to=2", status: 400, jsonErr: true, errHas: "from and to"},
		{name: "consistency/negative", method: "GET", path: "/v1/sites/" + site + "/consistency?from=-1&to=2", status: 400, jsonErr: true, errHas: "from and to"},
		{name: "consistency/plus sign", method: "GET", path: "/v1/sites/" + site + "/consistency?from=%2B1&to=2", status: 400, jsonErr: true},
		{name: "consistency/hex", method: "GET", path: "/v1/sites/" + site + "/consistency?from=0x1&to=2", status: 400, jsonErr: true},
		{name: "consistency/float", method: "GET", path: "/v1/sites/" + site + "/consistency?from=1e0&to=2", status: 400, jsonErr: true},
		{name: "consistency/arabic digits", method: "GET", path: "/v1/sites/" + site + "/consistency?from=%D9%A1&to=2", status: 400, jsonErr: true},
		{name: "consistency/nul in to", method: "GET", path: "/v1/sites/" + site + "/consistency?from=1&to=2" + nul, status: 400, jsonErr: true},
		{name: "consistency/missing", method: "GET", path: "/v1/sites/" + site + "/consistency", status: 400, jsonErr: true},
		{name: "consistency/empty", method: "GET", path: "/v1/sites/" + site + "/consistency?from=&to=", status: 400, jsonErr: true},
		{name: "consistency/huge value", method: "GET", path: "/v1/sites/" + site + "/consistency?from=1&to=" + huge, status: 400, jsonErr: true},
		{name: "consistency/query over buffer", method: "GET", path: "/v1/sites/" + site + "/consistency?from=1&to=" + overBuffer, status: 431, jsonErr: true},
		{name: "consistency/empty log", method: "GET", path: "/v1/sites/" + f.b.ID + "/consistency?from=1&to=1", status: 400, jsonErr: true},
		{name: "consistency/unknown site", method: "GET", path: "/v1/sites/AAAAAAAAAAAAAAAAAAAAAA/consistency?from=1&to=2", status: 404, jsonErr: true},
		{name: "consistency/nul site", method: "GET", path: "/v1/sites/" + nul + "/consistency?from=1&to=2", status: 404, jsonErr: true},
		{name: "consistency/wrong method", method: "POST", path: "/v1/sites/" + site + "/consistency?from=1&to=2", status: 405, jsonErr: true, errHas: "method not allowed", allow: "GET"},

		// GET /v1/log-key and /.well-known/jwks.json
		{name: "log-key/wrong method", method: "POST", path: "/v1/log-key", body: []byte("key"), status: 405, jsonErr: true, errHas: "method not allowed", allow: "GET"},
		{name: "log-key/extra segment", method: "GET", path: "/v1/log-key/" + nul, status: 404, jsonErr: true},
		{name: "log-key/huge query ignored", method: "GET", path: "/v1/log-key?x=" + huge, status: 200},
		{name: "jwks/wrong method", method: "PUT", path: "/.well-known/jwks.json", body: []byte(`{"keys":[]}`), status: 405, jsonErr: true, errHas: "method not allowed", allow: "GET"},
		{name: "jwks/nul", method: "GET", path: "/.well-known/jwks.json" + nul, status: 404, jsonErr: true},
		{name: "jwks/unicode", method: "GET", path: "/.well-known/" + uni, status: 404, jsonErr: true},
		{name: "jwks/huge query ignored", method: "GET", path: "/.well-known/jwks.json?kid=" + huge, status: 200},

		// GET /v1/sites/{site}/shared/{id}: one answer, 404, for every refusal.
		{name: "shared/nul id", method: "GET", path: "/v1/sites/" + f.b.ID + "/shared/" + shared + nul, status: 404, jsonErr: true, errHas: "no consent shared"},
		{name: "shared/unicode id", method: "GET", path: "/v1/sites/" + f.b.ID + "/shared/" + uni, status: 404, jsonErr: true, errHas: "no consent shared"},
		{name: "shared/long id", method: "GET", path: "/v1/sites/" + f.b.ID + "/shared/" + long, status: 404, jsonErr: true, errHas: "no consent shared"},
		{name: "shared/dot-dot id", method: "GET", path: "/v1/sites/" + f.b.ID + "/shared/" + traversal, status: 404, jsonErr: true},
		{name: "shared/id over buffer", method: "GET", path: "/v1/sites/" + f.b.ID + "/shared/" + overBuffer, status: 431, jsonErr: true},
		{name: "shared/nul site", method: "GET", path: "/v1/sites/" + nul + "/shared/" + shared, status: 404, jsonErr: true},
		{name: "shared/site of another account", method: "GET", path: "/v1/sites/" + f.otherAccount.ID + "/shared/" + shared, status: 404, jsonErr: true, errHas: "no consent shared"},
		{name: "shared/wrong method", method: "POST", path: "/v1/sites/" + f.b.ID + "/shared/" + shared, status: 405, jsonErr: true, errHas: "method not allowed", allow: "GET"},
		{name: "shared/spoofed origin changes nothing", method: "GET", path: "/v1/sites/" + f.otherAccount.ID + "/shared/" + shared, header: []string{"Origin", "https://shop-b.example", "Referer", "https://shop-a.example/"}, status: 404, jsonErr: true},

		// What net/http will not send: raw bytes in the request line.
		{name: "raw/nul byte in path", raw: "GET /v1/proof/a\x00b HTTP/1.1\r\nHost: x\r\n\r\n", status: 404, jsonErr: true},
		{name: "raw/utf-8 in path", raw: "GET /v1/sites/日本/checkpoint HTTP/1.1\r\nHost: x\r\n\r\n", status: 404, jsonErr: true},
		{name: "raw/plain dot-dot", raw: "GET /v1/sites/../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", status: 404, jsonErr: true},
		{name: "raw/absolute-form other host", raw: "GET http://evil.example/v1/sites/" + site + "/shared/" + shared + " HTTP/1.1\r\nHost: x\r\n\r\n", status: 404, jsonErr: true},
	}
	runHostile(t, ts, cases)
}

// jwtPart is base64url without padding, as in a JWS.
func jwtPart(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func TestHostileReceiptsToVerify(t *testing.T) {
	ts := startServer(t)
	resp, body := ts.do(t, "POST", "/v1/consent", ts.consentBody(nil))
	if resp.StatusCode != 201 {
		t.Fatalf("consent: %d %s", resp.StatusCode, body)
	}
	var cr consentResponse
	json.Unmarshal(body, &cr)
	ts.waitCheckpoint(t, ts.site.ID, 1)
	parts := strings.Split(cr.Receipt, ".")
	if len(parts) != 3 {
		t.Fatalf("receipt %q is not a compact JWS", cr.Receipt)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	p, err := ts.ledger.Proof(t.Context(), cr.ID)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := consent.ParseRecord(p.Leaf)
	if err != nil {
		t.Fatal(err)
	}
	var jwks struct{ Keys []struct{ X string } }
	if err := json.Unmarshal(ts.receipts.JWKS(), &jwks); err != nil || len(jwks.Keys) != 1 {
		t.Fatalf("jwks: %v", err)
	}
	pub, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].X)

	sign := func(header string, key any) string {
		in := jwtPart([]byte(header)) + "." + parts[1]
		switch k := key.(type) {
		case nil:
			return in + "."
		case ed25519.PrivateKey:
			return in + "." + jwtPart(ed25519.Sign(k, []byte(in)))
		case []byte:
			m := hmac.New(sha256.New, k)
			m.Write([]byte(in))
			return in + "." + jwtPart(m.Sum(nil))
		}
		panic("key")
	}
	_, evil, _ := ed25519.GenerateKey(rand.Reader)
	var claims map[string]any
	json.Unmarshal(payload, &claims)
	claims["state"] = map[string]bool{"necessary": true, "preferences": true, "statistics": true, "marketing": true}
	tampered, _ := json.Marshal(claims)
	issue := func(r consent.Record, index uint64, lifetime time.Duration) string {
		tok, err := ts.receipts.Issue(r, index, p.LeafHash, lifetime)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	unknown := rec
	unknown.ID = ts.ledger.NewID()

	// Forged or stale receipts: 200 {"valid":false,"error":…}.
	invalid := map[string]string{
		"alg none":                        sign(`{"alg":"none","typ":"JWT"}`, nil),
		"alg None":                        sign(`{"alg":"None"}`, nil),
		"HS256 keyed with the public key": sign(`{"alg":"HS256","typ":"JWT"}`, pub),
		"HS256 keyed with the JWKS":       sign(`{"alg":"HS256","typ":"JWT"}`, ts.receipts.JWKS()),
		"EdDSA by another key":            sign(`{"alg":"EdDSA","typ":"JWT"}`, evil),
		"jku and kid pointing away":       sign(`{"alg":"EdDSA","jku":"https://evil.example/jwks.json","kid":"evil"}`, evil),
		"embedded jwk":                    sign(`{"alg":"EdDSA","jwk":{"kty":"OKP","crv":"Ed25519","x":"`+jwtPart(evil.Public().(ed25519.PublicKey))+`"}}`, evil),
		"tampered claims":                 parts[0] + "." + jwtPart(tampered) + "." + parts[2],
		"signature stripped":              parts[0] + "." + parts[1] + ".",
		"four segments":                   cr.Receipt + ".AAAA",
		"dots only":                       strings.Repeat(".", 4000),
		"unicode":                         "日本.\u202e.🍪",
		"expired":                         issue(rec, p.Index, -time.Hour),
		"index not the ledger's":          issue(rec, p.Index+1, 365*24*time.Hour),
		"id unknown to the ledger":        issue(unknown, p.Index, 365*24*time.Hour),
	}
	for name, tok := range invalid {
		t.Run(name, func(t *testing.T) {
			b, _ := json.Marshal(map[string]string{"receipt": tok})
			before := ts.state()
			resp, body := ts.do(t, "POST", "/v1/receipts/verify", b, "Content-Type", "application/json", "Origin", "https://evil.example")
			var out struct {
				Valid *bool
				Error string
				State any
			}
			if err := json.Unmarshal(body, &out); err != nil || resp.StatusCode != 200 || out.Valid == nil || *out.Valid || out.Error == "" || out.State != nil {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if ts.state() != before {
				t.Fatal("verifying a receipt changed the stores")
			}
		})
	}

	receipt := func(s string) []byte { return []byte(`{"receipt":"` + s + `"}`) }
	cases := []hostileCase{
		{name: "empty body", body: nil, status: 400, jsonErr: true, errHas: "bad JSON"},
		{name: "null", body: []byte(`null`), status: 400, jsonErr: true, errHas: "receipt"},
		{name: "empty object", body: []byte(`{}`), status: 400, jsonErr: true, errHas: "receipt"},
		{name: "receipt empty", body: []byte(`{"receipt":""}`), status: 400, jsonErr: true, errHas: "receipt"},
		{name: "receipt null", body: []byte(`{"receipt":null}`), status: 400, jsonErr: true, errHas: "receipt"},
		{name: "array", body: []byte(`[` + string(receipt(cr.Receipt)) + `]`), status: 400, jsonErr: true, errHas: "bad JSON"},
		{name: "receipt as object", body: []byte(`{"receipt":{"alg":"none"}}`), status: 400, jsonErr: true, errHas: "bad JSON"},
		{name: "duplicate key, forged first", body: []byte(`{"receipt":"x.y.z","receipt":"` + cr.Receipt + `"}`), status: 400, jsonErr: true, errHas: "duplicate"},
		{name: "duplicate key, escaped", body: []byte(`{"receipt":"x.y.z","\u0072eceipt":"` + cr.Receipt + `"}`), status: 400, jsonErr: true, errHas: "duplicate"},
		{name: "key in other case", body: []byte(`{"Receipt":"` + cr.Receipt + `"}`), status: 400, jsonErr: true, errHas: "bad JSON"},
		{name: "deep nesting", body: []byte(`{"receipt":` + strings.Repeat("[", 4000) + strings.Repeat("]", 4000) + `}`), status: 400, jsonErr: true, errHas: "bad JSON"},
		{name: "deep nesting unclosed", body: []byte(strings.Repeat(`{"receipt":`, 700)), status: 400, jsonErr: true, errHas: "bad JSON"},
		{name: "trailing data", body: append(receipt(cr.Receipt), "{}"...), status: 400, jsonErr: true, errHas: "trailing"},
		{name: "nul byte", body: []byte("{\"receipt\":\"\x00\"}"), status: 400, jsonErr: true, errHas: "bad JSON"},
		{name: "form body", body: []byte("receipt=" + cr.Receipt), header: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 415, jsonErr: true, errHas: "content type"},
		{name: "bad content type", body: receipt(cr.Receipt), header: []string{"Content-Type", "application/json; charset"}, status: 415, jsonErr: true, errHas: "content type"},
		{name: "text/plain body", body: receipt(cr.Receipt), header: []string{"Content-Type", "text/plain;charset=UTF-8"}, status: 200},
		{name: "one byte over the limit", body: append(receipt(cr.Receipt), strings.Repeat(" ", consent.MaxBody+1-len(receipt(cr.Receipt)))...), status: 413, jsonErr: true, errHas: "body over"},
		// Over the server's limit the answer comes from the headers alone
		// and the connection closes: a client still sending its body may get
		// a reset instead of the answer, so only the headers are sent.
		{name: "over the server's body limit", raw: "POST /v1/receipts/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 307200\r\n\r\n", status: 413, jsonErr: true},
		{name: "chunked over the limit", body: append(receipt(cr.Receipt), strings.Repeat(" ", 20<<10)...), chunked: true, status: 413, jsonErr: true, errHas: "body over"},
		{name: "wrong method", method: "GET", body: nil, status: 405, jsonErr: true, errHas: "method not allowed", allow: "POST"},
		{name: "wrong method with body", method: "PUT", body: receipt(cr.Receipt), status: 405, jsonErr: true, errHas: "method not allowed", allow: "POST"},
	}
	for i := range cases {
		if cases[i].method == "" {
			cases[i].method = "POST"
		}
		cases[i].path = "/v1/receipts/verify"
	}
	runHostile(t, ts, cases)

	// The genuine receipt still verifies.
	if resp, body := ts.do(t, "POST", "/v1/receipts/verify", receipt(cr.Receipt)); resp.StatusCode != 200 || !strings.Contains(string(body), `"valid":true`) {
		t.Fatalf("genuine receipt: %d %s", resp.StatusCode, body)
	}
}

func TestHostileConsentPosts(t *testing.T) {
	ts := startServer(t)
	valid := string(ts.consentBody(nil))
	// with replaces the first field: {"site":…} becomes {"site":X,"site":…}.
	withField := func(field string) []byte { return []byte(`{` + field + `,` + valid[1:]) }
	cases := []hostileCase{
		{name: "duplicate site", body: withField(`"site":"AAAAAAAAAAAAAAAAAAAAAA"`), status: 400, jsonErr: true, errHas: "duplicate"},
		{name: "duplicate escaped key", body: withField(`"\u0073ite":"AAAAAAAAAAAAAAAAAAAAAA"`), status: 400, jsonErr: true, errHas: "duplicate"},
		{name: "duplicate method", body: withField(`"method":"accept_all"`), status: 400, jsonErr: true, errHas: "duplicate"},
		{name: "duplicate state category", body: ts.consentBody(func(m map[string]any) {
			m["state"] = json.RawMessage(`{"necessary":true,"preferences":false,"statistics":true,"marketing":false,"marketing":true}`)
		}), status: 400, jsonErr: true, errHas: "duplicate"},
		{name: "null field", body: ts.consentBody(func(m map[string]any) { m["replaces"] = nil }), status: 400, jsonErr: true},
		{name: "empty body", body: nil, status: 400, jsonErr: true},
		{name: "top-level array", body: []byte(`[` + valid + `]`), status: 400, jsonErr: true},
		{name: "two objects", body: []byte(valid + valid), status: 400, jsonErr: true},
		{name: "deep array nesting", body: withField(`"x":` + strings.Repeat("[", 3000)), status: 400, jsonErr: true},
		{name: "huge number", body: ts.consentBody(func(m map[string]any) { m["method"] = json.Number("1e999999999") }), status: 400, jsonErr: true},
		{name: "escaped nul in site", body: ts.consentBody(func(m map[string]any) { m["site"] = "\x00" + ts.site.ID }), status: 400, jsonErr: true, errHas: "site"},
		{name: "unicode site", body: ts.consentBody(func(m map[string]any) { m["site"] = "şite\u202e" }), status: 400, jsonErr: true, errHas: "site"},
		{name: "dot-dot site", body: ts.consentBody(func(m map[string]any) { m["site"] = "../" + ts.site.ID }), status: 400, jsonErr: true, errHas: "site"},
		{name: "long site", body: ts.consentBody(func(m map[string]any) { m["site"] = strings.Repeat("a", 5000) }), status: 400, jsonErr: true, errHas: "site"},
		{name: "long url", body: ts.consentBody(func(m map[string]any) { m["url"] = "https://shop.example/" + strings.Repeat("a", 3000) }), status: 400, jsonErr: true},
		{name: "url with credentials elsewhere", body: ts.consentBody(func(m map[string]any) { m["url"] = "https://shop.example@evil.example/" }), status: 400, jsonErr: true, errHas: "url"},
		{name: "short nonce", body: ts.consentBody(func(m map[string]any) { m["nonce"] = "short" }), status: 400, jsonErr: true, errHas: "nonce"},
		{name: "long nonce", body: ts.consentBody(func(m map[string]any) { m["nonce"] = strings.Repeat("n", 65) }), status: 400, jsonErr: true, errHas: "nonce"},
		{name: "nonce with slash", body: ts.consentBody(func(m map[string]any) { m["nonce"] = "../../../../etc/passwd" }), status: 400, jsonErr: true, errHas: "nonce"},
		{name: "replaces junk", body: ts.consentBody(func(m map[string]any) { m["replaces"] = "../" + strings.Repeat("A", 19) }), status: 400, jsonErr: true, errHas: "replaces"},
		{name: "one byte over the limit", body: withField(`"x":"` + strings.Repeat("a", consent.MaxBody+1-len(valid)-7) + `"`), status: 413, jsonErr: true, errHas: "body over"},
		{name: "over the server's body limit", raw: "POST /v1/consent HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 307200\r\n\r\n", status: 413, jsonErr: true}, // headers only, as above
		{name: "chunked over the limit", body: []byte(valid + strings.Repeat(" ", 20<<10)), chunked: true, status: 413, jsonErr: true, errHas: "body over"},
		{name: "content type html", body: []byte(valid), header: []string{"Content-Type", "text/html"}, status: 415, jsonErr: true, errHas: "content type"},
		{name: "content type list", body: []byte(valid), header: []string{"Content-Type", "application/json, text/plain"}, status: 415, jsonErr: true, errHas: "content type"},
		// Multipart bodies are not parsed ahead of the handler
		// (DisablePreParseMultipartForm): broken or not, they get its 415.
		{name: "content type multipart, broken body", body: []byte(valid), header: []string{"Content-Type", "multipart/form-data; boundary=x"}, status: 415, jsonErr: true, errHas: "content type"},
		{name: "content type multipart", body: []byte("--x\r\nContent-Disposition: form-data; name=\"site\"\r\n\r\n" + ts.site.ID + "\r\n--x--\r\n"), header: []string{"Content-Type", "multipart/form-data; boundary=x"}, status: 415, jsonErr: true, errHas: "content type"},
		{name: "content type garbage", body: []byte(valid), header: []string{"Content-Type", "application/json;;;=x"}, status: 415, jsonErr: true, errHas: "content type"},
		{name: "origin suffix lookalike", body: []byte(valid), header: []string{"Origin", "https://shop.example.evil.test"}, status: 403, jsonErr: true, errHas: "origin"},
		{name: "origin with userinfo", body: []byte(valid), header: []string{"Origin", "https://shop.example@evil.example"}, status: 403, jsonErr: true, errHas: "origin"},
		{name: "origin with fragment", body: []byte(valid), header: []string{"Origin", "https://evil.example#.shop.example"}, status: 403, jsonErr: true, errHas: "origin"},
		{name: "origin javascript scheme", body: []byte(valid), header: []string{"Origin", "javascript://shop.example"}, status: 403, jsonErr: true, errHas: "origin"},
		{name: "origin file", body: []byte(valid), header: []string{"Origin", "file://"}, status: 403, jsonErr: true, errHas: "origin"},
		{name: "preflight without origin", method: "OPTIONS", status: 403, jsonErr: true, errHas: "origin"},
		{name: "preflight null origin", method: "OPTIONS", header: []string{"Origin", "null"}, status: 403, jsonErr: true, errHas: "origin"},
		{name: "preflight lookalike origin", method: "OPTIONS", header: []string{"Origin", "https://shop.example.evil.test"}, status: 403, jsonErr: true, errHas: "origin"},
		{name: "wrong method GET", method: "GET", status: 405, jsonErr: true, errHas: "method not allowed", allow: "POST"},
		{name: "wrong method PUT", method: "PUT", body: []byte(valid), status: 405, jsonErr: true, errHas: "method not allowed", allow: "POST"},
		{name: "path with nul", path: "/v1/consent%00", body: []byte(valid), status: 404, jsonErr: true},
		{name: "raw negative content length", raw: "POST /v1/consent HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n" + valid, status: 400, jsonErr: true},
		{name: "raw content length past limit", raw: "POST /v1/consent HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n" + valid, status: 413, jsonErr: true},
	}
	for i := range cases {
		if cases[i].method == "" {
			cases[i].method = "POST"
		}
		if cases[i].path == "" {
			cases[i].path = "/v1/consent"
		}
	}
	runHostile(t, ts, cases)
	if n := ts.ledger.Size(ts.site.ID); n != 0 {
		t.Fatalf("tree size %d after only bad input", n)
	}
	// The valid body these cases were made from is accepted.
	if resp, body := ts.do(t, "POST", "/v1/consent", []byte(valid)); resp.StatusCode != 201 {
		t.Fatalf("control: %d %s", resp.StatusCode, body)
	}
}

// Without --trust-proxy, X-Forwarded-For must neither pick the visitor's
// rule set nor give each request a fresh rate-limit bucket.
func TestForwardedForIgnoredWithoutTrustProxy(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.RateLimit = 1 })
	var seen []netip.Addr
	ts.srv.deps.Regions = regionsFunc(func(a netip.Addr) (string, string) {
		seen = append(seen, a)
		if a.Is4() && a.As4()[0] == 198 {
			return "US", widget.OptOut
		}
		return "DE", widget.OptIn
	})
	for _, route := range []string{"/widget.js", "/config"} {
		resp, body := ts.do(t, "GET", "/v1/sites/"+ts.site.ID+route, nil, "X-Forwarded-For", "198.51.100.7", "X-Real-IP", "198.51.100.7", "Forwarded", "for=198.51.100.7")
		if resp.StatusCode != 200 || resp.Header.Get("Crumb-Rule-Set") != widget.OptIn {
			t.Fatalf("%s with a forged X-Forwarded-For: %d, rule set %q: %.200s", route, resp.StatusCode, resp.Header.Get("Crumb-Rule-Set"), body)
		}
	}
	for _, a := range seen {
		if a != netip.MustParseAddr("127.0.0.0") {
			t.Fatalf("regions saw %v, not the socket peer", a)
		}
	}
	limited := 0
	for i := 0; i < 6; i++ {
		resp, _ := ts.do(t, "POST", "/v1/consent", ts.consentBody(nil), "X-Forwarded-For", fmt.Sprintf("203.0.%d.9", i))
		if resp.StatusCode == 429 {
			limited++
		}
	}
	if limited == 0 || ts.ledger.Size(ts.site.ID) >= 6 {
		t.Fatalf("rotating X-Forwarded-For escaped the rate limit: %d limited, tree size %d", limited, ts.ledger.Size(ts.site.ID))
	}
}
