package server

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math"
	"mime"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/crumb-consent/crumb/account"
	"github.com/crumb-consent/crumb/consent"
	"github.com/crumb-consent/crumb/ledger"
)

// consentResponse is the body of 201/200 from POST /v1/consent.
type consentResponse struct {
	ID      string `json:"id"`
	Index   uint64 `json:"index"`
	Receipt string `json:"receipt"`
}

// handleConsent records a visitor's choice. The order of checks matters:
// the address is anonymised first, the rate limit is applied before any
// parsing, and nothing reaches the ledger until every check passed.
func (s *Server) handleConsent(c *fiber.Ctx) error {
	addr := s.clientAddr(c)
	anon := consent.AnonymizeIP(addr)
	if s.limiter != nil {
		if ok, wait := s.limiter.allow(anon); !ok {
			return &apiError{status: fiber.StatusTooManyRequests, msg: "too many consents from this network, retry later", retryAfter: int(math.Ceil(wait.Seconds()))}
		}
	}
	body := c.Body()
	if len(body) > consent.MaxBody {
		return errorf(fiber.StatusRequestEntityTooLarge, "body over %d bytes", consent.MaxBody)
	}
	if err := checkContentType(c.Get(fiber.HeaderContentType)); err != nil {
		return err
	}
	req, err := consent.DecodeRequest(body)
	if err != nil {
		return err
	}
	site, err := s.deps.Sites.Site(req.Site)
	if err != nil {
		return err
	}
	origin := c.Get(fiber.HeaderOrigin)
	if origin != "" {
		if !originAllowed(origin, site.Domains) {
			return errorf(fiber.StatusForbidden, "origin is not among the site's domains")
		}
		c.Set(fiber.HeaderAccessControlAllowOrigin, origin)
		c.Vary(fiber.HeaderOrigin)
	}
	if !consent.HostAllowed(consent.URLHost(req.URL), site.Domains) {
		return errorf(fiber.StatusBadRequest, "url is not on the site's domains")
	}
	if !s.deps.Sites.HasVersion(site.ID, req.Version) {
		return errorf(fiber.StatusBadRequest, "unknown banner version %q for this site", req.Version)
	}

	if req.Replaces != "" {
		// A consent may only replace one of the same site's.
		if log, _, err := s.deps.Ledger.Locate(req.Replaces); err != nil || log != site.ID {
			if err != nil && !errors.Is(err, ledger.ErrNotFound) {
				return err
			}
			return errorf(fiber.StatusBadRequest, "replaces names no consent of this site")
		}
	}

	if req.SharedFrom != "" {
		// A consent handed on from another site of the account (share.go):
		// it must be shareable with this site and carry its state.
		src, err := s.sharedRecord(site, req.SharedFrom)
		if err == errNotShared {
			return errorf(fiber.StatusBadRequest, "shared_from names no consent shared with this site")
		}
		if err != nil {
			return err
		}
		if src.State != req.State {
			return errorf(fiber.StatusBadRequest, "state differs from the shared consent's")
		}
	}

	country := ""
	if s.deps.Regions != nil {
		anonAddr, _ := netip.ParseAddr(anon)
		country, _ = s.deps.Regions.Lookup(anonAddr)
	}
	now := s.now()
	rec := consent.NewRecord(req, s.deps.Ledger.NewID(), site.ID, now, anon, country)
	res, err := s.deps.Ledger.Append(c.UserContext(), ledger.Entry{
		Log: site.ID, ID: rec.ID, Nonce: req.Nonce, Time: now, Leaf: rec.Marshal(),
	})
	if err != nil {
		return err
	}
	status := fiber.StatusCreated
	if res.Duplicate {
		// A retried request: answer with the consent the first one made.
		status = fiber.StatusOK
		if rec, err = consent.ParseRecord(res.Leaf); err != nil {
			return err
		}
		s.metrics.consents.WithLabelValues(rec.Method, "duplicate").Inc()
	} else {
		s.metrics.consents.WithLabelValues(rec.Method, "appended").Inc()
	}
	receipt, err := s.deps.Receipts.Issue(rec, res.Index, res.LeafHash[:], lifetime(site))
	if err != nil {
		return err
	}
	c.Status(status)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(appendConsentResponse(make([]byte, 0, 48+len(res.ID)+len(receipt)), res.ID, res.Index, receipt))
}

// appendConsentResponse appends the JSON of consentResponse to dst. The id
// and the receipt are URL-safe ASCII (ledger ids, a compact JWS), so they
// need no escaping; a test checks the result against encoding/json.
func appendConsentResponse(dst []byte, id string, index uint64, receipt string) []byte {
	dst = append(dst, `{"id":"`...)
	dst = append(dst, id...)
	dst = append(dst, `","index":`...)
	dst = strconv.AppendUint(dst, index, 10)
	dst = append(dst, `,"receipt":"`...)
	dst = append(dst, receipt...)
	return append(dst, `"}`...)
}

// handleConsentPreflight answers CORS preflights for clients that post JSON
// (the widget itself sends a simple text/plain request and needs none). A
// preflight does not name the site, so any registered domain may pass; the
// POST itself is then checked against its site.
func (s *Server) handleConsentPreflight(c *fiber.Ctx) error {
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" || !s.deps.Sites.AnyDomains(func(d []string) bool { return originAllowed(origin, d) }) {
		return errorf(fiber.StatusForbidden, "origin is not among any site's domains")
	}
	c.Set(fiber.HeaderAccessControlAllowOrigin, origin)
	c.Set(fiber.HeaderAccessControlAllowMethods, "POST")
	c.Set(fiber.HeaderAccessControlAllowHeaders, "Content-Type")
	c.Set(fiber.HeaderAccessControlMaxAge, "86400")
	c.Vary(fiber.HeaderOrigin)
	return c.SendStatus(fiber.StatusNoContent)
}

// checkContentType accepts JSON and the text/plain of CORS-simple requests.
func checkContentType(ct string) error {
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != fiber.MIMEApplicationJSON && mt != fiber.MIMETextPlain) {
		return errorf(fiber.StatusUnsupportedMediaType, "content type must be application/json or text/plain")
	}
	return nil
}

func originAllowed(origin string, domains []string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	return consent.HostAllowed(u.Hostname(), domains)
}

func lifetime(site account.Site) time.Duration {
	return time.Duration(site.ConsentLifetimeDays) * 24 * time.Hour
}

// clientAddr is the visitor's address: the socket peer, or, when that peer is
// a trusted proxy, the right-most X-Forwarded-For entry that is not itself a
// trusted proxy (entries further left can be forged by the client).
func (s *Server) clientAddr(c *fiber.Ctx) netip.Addr {
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	peer = peer.Unmap()
	if len(s.cfg.TrustProxy) == 0 || !s.trusted(peer) {
		return peer
	}
	hops := strings.Split(c.Get(fiber.HeaderXForwardedFor), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return a
		}
	}
	return peer
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustProxy {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// receiptRequest is the body of POST /v1/receipts/verify.
type receiptRequest struct {
	Receipt string `json:"receipt"`
}

// handleVerifyReceipt checks a receipt's signature and that the ledger holds
// the leaf it names at the index it names.
func (s *Server) handleVerifyReceipt(c *fiber.Ctx) error {
	if err := checkContentType(c.Get(fiber.HeaderContentType)); err != nil {
		return err
	}
	body := c.Body()
	if len(body) > consent.MaxBody {
		return errorf(fiber.StatusRequestEntityTooLarge, "body over %d bytes", consent.MaxBody)
	}
	var req receiptRequest
	if err := decodeStrict(body, &req); err != nil {
		return err
	}
	if req.Receipt == "" {
		return errorf(fiber.StatusBadRequest, "receipt is required")
	}
	claims, err := s.deps.Receipts.Verify(req.Receipt)
	if err != nil {
		return c.JSON(fiber.Map{"valid": false, "error": err.Error()})
	}
	proof, err := s.deps.Ledger.Proof(c.UserContext(), claims.ID)
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		return c.JSON(fiber.Map{"valid": false, "error": "the ledger has no consent with this id"})
	case err != nil:
		return err
	}
	lh, _ := base64.StdEncoding.DecodeString(claims.LeafHash)
	if proof.Index != claims.Index || !bytes.Equal(proof.LeafHash, lh) || proof.Site != claims.Subject {
		return c.JSON(fiber.Map{"valid": false, "error": "the receipt does not match the ledger"})
	}
	return c.JSON(fiber.Map{
		"valid": true, "id": claims.ID, "site": claims.Subject, "state": claims.State,
		"version": claims.Version, "index": claims.Index, "leaf_hash": claims.LeafHash,
		"issued_at": claims.IssuedAt.UTC().Format(time.RFC3339), "expires_at": claims.ExpiresAt.UTC().Format(time.RFC3339),
		"erased": proof.ErasedAt != "", "tree_size": proof.TreeSize, "checkpoint": proof.Checkpoint,
	})
}

func parseUint(s string) (uint64, bool) {
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}
