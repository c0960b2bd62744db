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
// choice.
//
// # Requests
//
// [DecodeRequest] is the only way from untrusted bytes to a [Request]: it
// rejects unknown fields, wrong types, trailing data, impossible states (an
// "accept_all" with a denied category) and malformed nonces, and every error
// wraps [ErrInvalid] so that callers answer 400 without inspecting it further.
// Checks that need the site (URL host, Origin, banner version) belong to the
// caller, with [HostAllowed] to match hosts against a site's domains.
//
// # Receipts
//
// [Receipts] issues the visitor's receipt: an EdDSA-signed JWT naming the
// consent, its leaf index and leaf hash, so that the visitor holds evidence
// that does not depend on Crumb's goodwill. Verification accepts only EdDSA
// (jwt.WithValidMethods) and the key published by [Receipts.JWKS].
package consent
