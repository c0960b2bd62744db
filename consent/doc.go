// Package consent defines Crumb's proof-of-consent record and the rules a
// visitor's choice must satisfy before it may reach the ledger.
//
// # The record
//
// A [Record] is the leaf of a site's Merkle log (DESIGN §3). Its compact JSON,
// produced by [Record.Marshal], is exactly what is hashed and stored; field
// order is part of the contract. The visitor's address is kept only in the
// anonymised form of [AnonymizeIP], and every record carries 16 random salt
// bytes so that a leaf hash cannot be used to confirm a guessed address or
// choice. A leaf looks like this (one line in the log):
//
//	{"id":"q3Zk0vYb9Lr2mXc7TgHa1w","site":"s1","time":"2026-01-02T02:04:05Z",
//	 "ip":"203.0.113.0","url":"https://shop.example/a?b=1\u0026c=2",
//	 "state":{"necessary":true,"preferences":false,"statistics":true,"marketing":false},
//	 "method":"custom","version":"v1","country":"DE","gpc":false,"replaces":"",
//	 "salt":"3q2+7wABAgMEBQYHCAkKCw==","shared_from":"AAECAwQFBgcICQoLDA0ODw"}
//
// Marshal writes these bytes by hand, but they are, to the byte, what
// encoding/json's Marshal writes for the struct (HTML-safe escapes such as
// \u0026 included): leaves written before the hand-written encoder existed
// hash the same, and the tests hold the two together on fuzzed records.
//
// # Fields added later
//
// The contract grows only by adding fields (DESIGN §3), and a new field must
// not change the bytes of a record that does not use it. So a new field goes
// last and is left out when empty. The first such field is shared_from:
// with cross-site consent sharing, a visitor's consent on one site of an
// account is taken over by another site of it, and the new record names the
// consent it came from. Request.SharedFrom ("shared_from" in the POST body,
// optional, checked to have a consent id's form like "replaces") becomes
// Record.SharedFrom; a record without it is byte-identical to one written
// before the field existed. [ParseRecord] reads both.
//
// # Requests
//
// [DecodeRequest] is the only way from untrusted bytes to a [Request]: it
// rejects unknown fields, duplicate fields, wrong types (null included),
// trailing data, impossible states (an "accept_all" with a denied category)
// and malformed nonces and ids, and every error wraps [ErrInvalid] so that
// callers answer 400 without inspecting it further. Checks that need the
// site (URL host, Origin, banner version, whether replaces or shared_from
// name a consent the site may refer to) belong to the caller, with
// [HostAllowed] to match hosts against a site's domains.
//
// The decoder reads the body once, without reflection, and allocates only
// the strings of its result (one allocation for all of them) plus what
// url.Parse needs for the URL check. It accepts exactly what the first
// version, built on encoding/json's Decoder.Token, accepted: escaped keys
// count ("\u0073ite" is "site"), invalid UTF-8 and lone surrogates in a
// string become U+FFFD, and errors come in reading order. A differential
// fuzz target keeps it there.
//
// # Receipts
//
// [Receipts] issues the visitor's receipt: an EdDSA-signed JWT naming the
// consent, its leaf index and leaf hash, so that the visitor holds evidence
// that does not depend on Crumb's goodwill. Its header is
// {"alg":"EdDSA","kid":<RFC 7638 thumbprint>,"typ":"JWT"} and its claims come
// in this order:
//
//	{"state":{…},"ver":"v1","idx":41,"lh":"<base64 leaf hash>",
//	 "sub":"<site>","exp":1804136767,"iat":1772600767,"jti":"<consent id>"}
//
// [Receipts.Issue] builds the token by hand (one buffer, one ed25519.Sign);
// Ed25519 signatures are deterministic, and the tests check that every
// receipt is the very string golang-jwt produced for the same claims.
// Verification stays with golang-jwt: [Receipts.Verify] accepts only EdDSA
// (jwt.WithValidMethods), requires an expiry, and uses the key published by
// [Receipts.JWKS].
//
// # Caveats
//
// A record's bytes are a contract: change Marshal only together with a
// test that old leaves still marshal to themselves (testdata/leaf-v1.json).
// The receipt's times are whole seconds, as golang-jwt's default
// jwt.TimePrecision writes them; a program that changed that global would
// see golang-jwt and Issue disagree.
package consent
