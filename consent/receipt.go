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
	return &Receipts{
		key: key, pub: pub, kid: kid, jwks: jwks,
		parser: jwt.NewParser(jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt()),
	}
}

// JWKS is the JSON of GET /.well-known/jwks.json.
func (r *Receipts) JWKS() []byte { return r.jwks }

// Issue signs the receipt for a committed record.
func (r *Receipts) Issue(rec Record, index uint64, leafHash []byte, lifetime time.Duration) (string, error) {
	issued, err := time.Parse(time.RFC3339, rec.Time)
	if err != nil {
		return "", fmt.Errorf("issue receipt: record time: %w", err)
	}
	claims := Claims{
		State:    rec.State,
		Version:  rec.Version,
		Index:    index,
		LeafHash: base64.StdEncoding.EncodeToString(leafHash),
		RegisteredClaims: jwt.RegisteredClaims{
			ID:        rec.ID,
			Subject:   rec.Site,
			IssuedAt:  jwt.NewNumericDate(issued),
			ExpiresAt: jwt.NewNumericDate(issued.Add(lifetime)),
		},
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = r.kid
	s, err := tok.SignedString(r.key)
	if err != nil {
		return "", fmt.Errorf("issue receipt: %w", err)
	}
	return s, nil
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
