package consent

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testKey is a fixed Ed25519 key, so that receipts are reproducible.
func testKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("crumb consent test key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

// receiptCase is one receipt to issue: a record and the other arguments.
type receiptCase struct {
	name     string
	rec      Record
	index    uint64
	leafHash []byte
	lifetime time.Duration
}

func receiptCases() []receiptCase {
	lh := sha256.Sum256([]byte("leaf"))
	base := Record{ID: "AAECAwQFBgcICQoLDA0ODw", Site: "s1", Time: "2026-03-04T05:06:07Z", State: State{Necessary: true, Statistics: true}, Version: "v0123456789abcdef"}
	with := func(name string, f func(*receiptCase)) receiptCase {
		c := receiptCase{name: name, rec: base, index: 41, leafHash: lh[:], lifetime: 365 * 24 * time.Hour}
		f(&c)
		return c
	}
	cases := []receiptCase{
		with("plain", func(*receiptCase) {}),
		with("all granted", func(c *receiptCase) { c.rec.State = State{true, true, true, true} }),
		with("none at all", func(c *receiptCase) { c.rec.State = State{} }),
		with("long site id", func(c *receiptCase) { c.rec.Site = strings.Repeat("Site_-9", 9) }),
		with("empty site (sub omitted)", func(c *receiptCase) { c.rec.Site = "" }),
		with("empty id (jti omitted)", func(c *receiptCase) { c.rec.ID = "" }),
		with("long version", func(c *receiptCase) { c.rec.Version = strings.Repeat("v", 64) }),
		with("very long version", func(c *receiptCase) { c.rec.Version = strings.Repeat("0123456789", 120) }),
		with("empty version", func(c *receiptCase) { c.rec.Version = "" }),
		with("unicode", func(c *receiptCase) { c.rec.Version = "vé✓𝄞"; c.rec.Site = "sité" }),
		with("html and separators", func(c *receiptCase) { c.rec.Version = "<a href='x'>&amp;</a>\u2028\u2029" }),
		with("control characters", func(c *receiptCase) { c.rec.Version = "\x00\x01\b\f\n\r\t\x1f\x7f\"\\/" }),
		with("invalid UTF-8", func(c *receiptCase) { c.rec.Version = "a\xffb\xe2\x82c\xed\xa0\x80" }),
		with("index zero", func(c *receiptCase) { c.index = 0 }),
		with("index max", func(c *receiptCase) { c.index = math.MaxUint64 }),
		with("no leaf hash", func(c *receiptCase) { c.leafHash = nil }),
		with("odd leaf hash", func(c *receiptCase) { c.leafHash = []byte{0xfb, 0xff} }),
		with("zero lifetime", func(c *receiptCase) { c.lifetime = 0 }),
		with("negative lifetime", func(c *receiptCase) { c.lifetime = -90 * time.Minute }),
		with("sub-second lifetime", func(c *receiptCase) { c.lifetime = 1500 * time.Millisecond }),
		with("long lifetime", func(c *receiptCase) { c.lifetime = 100 * 365 * 24 * time.Hour }),
		with("time with offset", func(c *receiptCase) { c.rec.Time = "2026-03-04T07:06:07+02:00" }),
		with("fractional time", func(c *receiptCase) { c.rec.Time = "2026-03-04T05:06:07.999999999Z" }),
		with("before 1970", func(c *receiptCase) { c.rec.Time = "1969-12-31T23:59:59.5Z"; c.lifetime = time.Second }),
		with("fields Issue ignores", func(c *receiptCase) {
			c.rec.IP, c.rec.URL, c.rec.Method, c.rec.Country, c.rec.GPC = "203.0.113.0", "https://a.example/", "custom", "DE", true
			c.rec.Replaces, c.rec.Salt, c.rec.SharedFrom = "BBECAwQFBgcICQoLDA0ODw", "c2FsdA==", "CCECAwQFBgcICQoLDA0ODw"
		}),
	}
	return cases
}

// TestIssueMatchesReference: the hand-built receipt is the very token the
// golang-jwt code made, so every verifier that accepted one accepts the
// other and reads the same claims.
func TestIssueMatchesReference(t *testing.T) {
	r := NewReceipts(testKey("issue"))
	for _, tc := range receiptCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Issue(tc.rec, tc.index, tc.leafHash, tc.lifetime)
			if err != nil {
				t.Fatal(err)
			}
			want, err := r.issueRef(tc.rec, tc.index, tc.leafHash, tc.lifetime)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("receipt differs from golang-jwt's\n got %s\nwant %s", got, want)
			}
			// Both decode, with the JWKS key and only EdDSA, to the same
			// claims.
			gotClaims, gotHeader := parseWithJWKS(t, r, got)
			wantClaims, wantHeader := parseWithJWKS(t, r, want)
			if !reflect.DeepEqual(gotClaims, wantClaims) || !reflect.DeepEqual(gotHeader, wantHeader) {
				t.Fatalf("claims %+v %v, want %+v %v", gotClaims, gotHeader, wantClaims, wantHeader)
			}
			if gotClaims.Index != tc.index || gotClaims.Version != viaJSON(tc.rec.Version) || gotClaims.State != tc.rec.State ||
				gotClaims.ID != tc.rec.ID || gotClaims.LeafHash != base64.StdEncoding.EncodeToString(tc.leafHash) {
				t.Fatalf("claims %+v do not say what was issued", gotClaims)
			}
		})
	}
}

// viaJSON is what a JSON reader makes of s as json.Marshal writes it
// (invalid UTF-8 becomes U+FFFD).
func viaJSON(s string) string {
	b, _ := json.Marshal(s)
	var out string
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// parseWithJWKS verifies tok with the key the JWKS publishes, EdDSA only,
// and returns its claims and header. Expiry is not checked: some cases are
// issued in the past on purpose.
func parseWithJWKS(t *testing.T, r *Receipts, tok string) (*Claims, map[string]any) {
	t.Helper()
	var set struct{ Keys []map[string]string }
	if err := json.Unmarshal(r.JWKS(), &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks: %v %s", err, r.JWKS())
	}
	x, err := base64.RawURLEncoding.DecodeString(set.Keys[0]["x"])
	if err != nil {
		t.Fatal(err)
	}
	var c Claims
	parsed, err := jwt.ParseWithClaims(tok, &c, func(tok *jwt.Token) (any, error) {
		if tok.Header["kid"] != set.Keys[0]["kid"] {
			t.Errorf("kid %v is not the JWKS key's %s", tok.Header["kid"], set.Keys[0]["kid"])
		}
		return ed25519.PublicKey(x), nil
	}, jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithoutClaimsValidation())
	if err != nil {
		t.Fatalf("receipt does not verify with the JWKS key: %v", err)
	}
	return &c, parsed.Header
}

// TestIssueVerifies: a fresh receipt passes Receipts.Verify.
func TestIssueVerifies(t *testing.T) {
	r := NewReceipts(testKey("verify"))
	for _, tc := range receiptCases()[:12] {
		tc.rec.Time = time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
		tok, err := r.Issue(tc.rec, tc.index, tc.leafHash, tc.lifetime)
		if err != nil {
			t.Fatal(err)
		}
		c, err := r.Verify(tok)
		if tc.rec.ID == "" || tc.rec.Site == "" {
			if err == nil {
				t.Errorf("%s: a receipt without jti or sub verified", tc.name)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c.ID != tc.rec.ID || c.Subject != tc.rec.Site || c.State != tc.rec.State || c.Index != tc.index {
			t.Errorf("%s: claims %+v", tc.name, c)
		}
	}
}

func TestIssueRejectsBadInput(t *testing.T) {
	r := NewReceipts(testKey("bad"))
	if _, err := r.Issue(Record{ID: "x", Site: "s", Time: "yesterday"}, 1, nil, time.Hour); err == nil || !strings.Contains(err.Error(), "record time") {
		t.Errorf("bad record time: %v", err)
	}
	broken := &Receipts{key: r.key[:10], header: r.header}
	if _, err := broken.Issue(Record{ID: "x", Site: "s", Time: "2026-01-01T00:00:00Z"}, 1, nil, time.Hour); err == nil {
		t.Error("a short key signed")
	}
}

// TestReceiptGolden pins receipts of a fixed key to testdata: a change to
// their bytes is a change to what visitors hold (go test -update rewrites).
func TestReceiptGolden(t *testing.T) {
	r := NewReceipts(testKey("golden"))
	var b strings.Builder
	b.WriteString(string(r.JWKS()) + "\n")
	for _, tc := range receiptCases() {
		tok, err := r.Issue(tc.rec, tc.index, tc.leafHash, tc.lifetime)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(tc.name + "\t" + tok + "\n")
	}
	path := filepath.Join("testdata", "receipts.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Fatalf("receipts differ from %s:\n%s", path, b.String())
	}
}

// FuzzIssueDifferential compares hand-built receipts with golang-jwt's for
// arbitrary records.
func FuzzIssueDifferential(f *testing.F) {
	for _, tc := range receiptCases() {
		at, _ := time.Parse(time.RFC3339, tc.rec.Time)
		f.Add(tc.rec.ID, tc.rec.Site, tc.rec.Version, uint8(0b1011), tc.index, tc.leafHash, at.UnixNano(), int64(tc.lifetime))
	}
	r := NewReceipts(testKey("fuzz"))
	f.Fuzz(func(t *testing.T, id, site, version string, state uint8, index uint64, lh []byte, at, lifetime int64) {
		rec := Record{
			ID: id, Site: site, Version: version,
			Time:  time.Unix(0, at).UTC().Format(time.RFC3339Nano),
			State: State{state&1 != 0, state&2 != 0, state&4 != 0, state&8 != 0},
		}
		got, gerr := r.Issue(rec, index, lh, time.Duration(lifetime))
		want, werr := r.issueRef(rec, index, lh, time.Duration(lifetime))
		if (gerr == nil) != (werr == nil) || got != want {
			t.Fatalf("Issue = %q, %v\nreference %q, %v", got, gerr, want, werr)
		}
	})
}
