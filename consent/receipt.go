package consent

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrBadReceipt is wrapped by every receipt verification failure.
var ErrBadReceipt = errors.New("invalid receipt")

// Receipts signs and verifies consent receipts with one Ed25519 key.
type Receipts struct {
	key    ed25519.PrivateKey
	pub    ed25519.PublicKey
	kid    string
	jwks   []byte
	parser *jwt.Parser
	// header is the first segment of every receipt and its dot: base64url
	// of {"alg":"EdDSA","kid":…,"typ":"JWT"}, the header golang-jwt wrote
	// (a map, so its keys sorted).
	header string
}

// Claims are a receipt's contents (DESIGN §4).
type Claims struct {
	State    State  `json:"state"`
	Version  string `json:"ver"`
	Index    uint64 `json:"idx"`
	LeafHash string `json:"lh"` // base64 of the RFC 6962 leaf hash
	jwt.RegisteredClaims
}

// LoadReceipts reads the receipt signing key from path, creating it (0600)
// on first start.
func LoadReceipts(path string) (*Receipts, error) {
	key, err := loadOrCreateKey(path)
	if err != nil {
		return nil, fmt.Errorf("receipt key: %w", err)
	}
	return NewReceipts(key), nil
}

// NewReceipts uses key for receipts.
func NewReceipts(key ed25519.PrivateKey) *Receipts {
	pub := key.Public().(ed25519.PublicKey)
	x := base64.RawURLEncoding.EncodeToString(pub)
	// RFC 7638 thumbprint: the required members in lexicographic order.
	thumb := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`))
	kid := base64.RawURLEncoding.EncodeToString(thumb[:])
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "use": "sig", "alg": "EdDSA",
	}}})
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","kid":"`+kid+`","typ":"JWT"}`)) + "."
	return &Receipts{
		key: key, pub: pub, kid: kid, jwks: jwks, header: header,
		parser: jwt.NewParser(jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt()),
	}
}

// JWKS is the JSON of GET /.well-known/jwks.json.
func (r *Receipts) JWKS() []byte { return r.jwks }

// Issue signs the receipt for a committed record.
//
// The receipt is built by hand rather than through golang-jwt: a constant
// header, the claims appended into one buffer, one ed25519.Sign. Its bytes
// are the ones jwt.NewWithClaims(jwt.SigningMethodEdDSA, Claims{…}) with a
// "kid" header and SignedString produced (Ed25519 signatures are
// deterministic, so the whole token is): claims in the order encoding/json
// writes Claims, "state", "ver", "idx", "lh", then the registered claims
// "sub", "exp", "iat", "jti" ("sub" and "jti" left out when empty), times in
// whole seconds. The tests compare it with that code and a golden file.
func (r *Receipts) Issue(rec Record, index uint64, leafHash []byte, lifetime time.Duration) (string, error) {
	issued, err := time.Parse(time.RFC3339, rec.Time)
	if err != nil {
		return "", fmt.Errorf("issue receipt: record time: %w", err)
	}
	if len(r.key) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("issue receipt: bad key length %d", len(r.key))
	}
	var claimsBuf [512]byte
	c := claimsBuf[:0]
	c = append(c, `{"state":`...)
	c = appendJSONState(c, rec.State)
	c = append(c, `,"ver":`...)
	c = appendJSONString(c, rec.Version)
	c = append(c, `,"idx":`...)
	c = strconv.AppendUint(c, index, 10)
	c = append(c, `,"lh":"`...)
	c = base64.StdEncoding.AppendEncode(c, leafHash)
	c = append(c, '"')
	if rec.Site != "" {
		c = append(c, `,"sub":`...)
		c = appendJSONString(c, rec.Site)
	}
	c = append(c, `,"exp":`...)
	c = strconv.AppendInt(c, issued.Add(lifetime).Unix(), 10)
	c = append(c, `,"iat":`...)
	c = strconv.AppendInt(c, issued.Unix(), 10)
	if rec.ID != "" {
		c = append(c, `,"jti":`...)
		c = appendJSONString(c, rec.ID)
	}
	c = append(c, '}')

	var tokBuf [1024]byte
	t := append(tokBuf[:0], r.header...)
	t = base64.RawURLEncoding.AppendEncode(t, c)
	sig := ed25519.Sign(r.key, t)
	t = append(t, '.')
	t = base64.RawURLEncoding.AppendEncode(t, sig)
	return string(t), nil
}

// Verify checks a receipt's signature, algorithm and expiry and returns its
// claims. Errors wrap ErrBadReceipt.
func (r *Receipts) Verify(token string) (*Claims, error) {
	if len(token) > MaxBody {
		return nil, fmt.Errorf("%w: too long", ErrBadReceipt)
	}
	var c Claims
	_, err := r.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return r.pub, nil })
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadReceipt, err)
	}
	if c.ID == "" || c.Subject == "" {
		return nil, fmt.Errorf("%w: missing jti or sub", ErrBadReceipt)
	}
	return &c, nil
}

func loadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		if err := createKeyFile(path, pemBytes); err != nil {
			return nil, err
		}
		return key, nil
	}
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: not a PEM key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 key", path)
	}
	return key, nil
}

// createKeyFile creates path with mode 0600 and fsyncs it, so that a key is
// never half-written; it refuses to replace an existing file.
func createKeyFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
