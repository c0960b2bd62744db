package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/crumb-consent/crumb/account"
	"github.com/crumb-consent/crumb/internal/jsonenc"
	"github.com/crumb-consent/crumb/ledger"
)

func (s *Server) handleProof(c *fiber.Ctx) error {
	id := c.Params("id")
	if !validID(id) {
		return errorf(fiber.StatusNotFound, "no consent with this id")
	}
	// The ledger bounds the wait for a checkpoint that covers a fresh leaf
	// (about a second) and answers ErrPending after it.
	p, err := s.deps.Ledger.Proof(c.UserContext(), id)
	if err != nil {
		return err
	}
	switch c.Query("format") {
	case "", "json":
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(appendProofJSON(nil, p))
	case "tlog-proof":
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		return c.SendString(p.TlogProof())
	}
	return errorf(fiber.StatusBadRequest, "format must be json or tlog-proof")
}

func (s *Server) handleCheckpoint(c *fiber.Ctx) error {
	site, err := s.site(c)
	if err != nil {
		return err
	}
	cp, err := s.deps.Ledger.Checkpoint(site.ID)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return c.Send(cp)
}

func (s *Server) handleConsistency(c *fiber.Ctx) error {
	site, err := s.site(c)
	if err != nil {
		return err
	}
	from, ok1 := parseUint(c.Query("from"))
	to, ok2 := parseUint(c.Query("to"))
	if !ok1 || !ok2 || from == 0 || from > to {
		return errorf(fiber.StatusBadRequest, "from and to must be tree sizes with 0 < from <= to")
	}
	proof, err := s.deps.Ledger.Consistency(c.UserContext(), site.ID, from, to)
	if errors.Is(err, ledger.ErrNotFound) {
		// The site exists; its log is empty.
		return errorf(fiber.StatusBadRequest, "the log has no tree of size %d", to)
	}
	if err != nil {
		return err
	}
	hashes := make([][]byte, len(proof))
	for i := range proof {
		hashes[i] = proof[i][:]
	}
	return c.JSON(fiber.Map{"from": from, "to": to, "proof": hashes})
}

func (s *Server) handleLogKey(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	return c.SendString(s.deps.Ledger.VerifierKey() + "\n")
}

func (s *Server) handleJWKS(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "application/jwk-set+json")
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	return c.Send(s.deps.Receipts.JWKS())
}

func (s *Server) handleHealth(c *fiber.Ctx) error {
	if s.deps.Ready != nil {
		if err := s.deps.Ready(); err != nil {
			return errorf(fiber.StatusServiceUnavailable, "not ready: %v", err)
		}
	}
	return c.JSON(fiber.Map{"status": "ok"})
}

// publicCORS lets any page read the public, non-personal endpoints.
func (s *Server) publicCORS(c *fiber.Ctx) error {
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	if c.Method() == fiber.MethodOptions {
		c.Set(fiber.HeaderAccessControlAllowMethods, "GET, POST")
		c.Set(fiber.HeaderAccessControlAllowHeaders, "Content-Type")
		c.Set(fiber.HeaderAccessControlMaxAge, "86400")
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.Next()
}

// site loads the site named by the :site parameter.
func (s *Server) site(c *fiber.Ctx) (account.Site, error) {
	id := c.Params("site")
	if !validID(id) {
		return account.Site{}, errorf(fiber.StatusNotFound, "no such site")
	}
	return s.deps.Sites.Site(id)
}

// validID admits the URL-safe ids Crumb hands out, so that junk never
// reaches a store lookup.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// decodeStrict decodes one JSON object into the struct v points to, with no
// unknown fields, no duplicate keys and no trailing data; errors are 400s.
// Keys must match a field's json name exactly: encoding/json alone would
// take "Receipt" for "receipt" and let the last of two equal keys win, so
// that the body could mean one thing to a proxy and another here.
func decodeStrict(body []byte, v any) error {
	if err := checkKeys(body, v); err != nil {
		return errorf(fiber.StatusBadRequest, "bad JSON: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf(fiber.StatusBadRequest, "bad JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errorf(fiber.StatusBadRequest, "bad JSON: trailing data")
	}
	return nil
}

// checkKeys walks body's tokens: the top-level object's keys must be json
// names of v's fields, and no object may repeat a key.
func checkKeys(body []byte, v any) error {
	names := map[string]bool{}
	t := reflect.TypeOf(v).Elem()
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			names[name] = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	// One entry per open object or array: the keys seen (nil for an array).
	var open []map[string]bool
	wantKey := false // the next token of the innermost object is a key
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if wantKey {
			key, _ := tok.(string)
			if tok == json.Delim('}') {
				open = open[:len(open)-1]
			} else if seen := open[len(open)-1]; seen[key] {
				return fmt.Errorf("duplicate key %q", key)
			} else if len(open) == 1 && !names[key] {
				return fmt.Errorf("unknown field %q", key)
			} else {
				seen[key] = true
				wantKey = false
				continue
			}
		} else {
			switch tok {
			case json.Delim('{'):
				open = append(open, map[string]bool{})
			case json.Delim('['):
				open = append(open, nil)
			case json.Delim(']'):
				open = open[:len(open)-1]
			}
		}
		wantKey = len(open) > 0 && open[len(open)-1] != nil
	}
}

// appendProofJSON appends p as encoding/json would encode it (a test
// compares the two), without reflection: proofs are the most frequent
// public read. The record takes a fast path when it holds nothing
// encoding/json would escape or compact, and goes through encoding/json
// otherwise.
func appendProofJSON(dst []byte, p *ledger.Proof) []byte {
	dst = append(dst, `{"id":`...)
	dst = jsonenc.AppendString(dst, p.ID)
	dst = append(dst, `,"site":`...)
	dst = jsonenc.AppendString(dst, p.Site)
	dst = append(dst, `,"index":`...)
	dst = strconv.AppendUint(dst, p.Index, 10)
	if len(p.Leaf) > 0 {
		dst = append(dst, `,"leaf":`...)
		dst = appendBase64(dst, p.Leaf)
	}
	dst = append(dst, `,"leaf_hash":`...)
	dst = appendBase64(dst, p.LeafHash)
	if len(p.Record) > 0 {
		dst = append(dst, `,"record":`...)
		if plainJSON(p.Record) {
			dst = append(dst, p.Record...)
		} else {
			b, err := json.Marshal(p.Record)
			if err != nil { // not JSON after all: encoding/json would fail the whole proof
				b = []byte("null")
			}
			dst = append(dst, b...)
		}
	}
	if p.ErasedAt != "" {
		dst = append(dst, `,"erased_at":`...)
		dst = jsonenc.AppendString(dst, p.ErasedAt)
	}
	dst = append(dst, `,"tree_size":`...)
	dst = strconv.AppendUint(dst, p.TreeSize, 10)
	dst = append(dst, `,"inclusion":`...)
	if p.Inclusion == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, h := range p.Inclusion {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendBase64(dst, h)
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"checkpoint":`...)
	dst = jsonenc.AppendString(dst, p.Checkpoint)
	return append(dst, '}')
}

// appendBase64 appends b as encoding/json encodes a []byte: a standard
// base64 string, null when nil.
func appendBase64(dst, b []byte) []byte {
	if b == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

// plainJSON reports whether valid JSON b is already as encoding/json
// writes a json.RawMessage: no whitespace to compact, nothing to escape.
// Consent leaves are written that way (consent.Record.Marshal).
func plainJSON(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r', '<', '>', '&', 0xE2: // 0xE2 starts U+2028 and U+2029
			return false
		}
	}
	return true
}
