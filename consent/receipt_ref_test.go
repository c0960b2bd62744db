package consent

import (
	"encoding/base64"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// issueRef is Receipts.Issue as it was first written, on golang-jwt's
// NewWithClaims and SignedString: the reference the hand-built receipts are
// compared with byte for byte.
func (r *Receipts) issueRef(rec Record, index uint64, leafHash []byte, lifetime time.Duration) (string, error) {
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
