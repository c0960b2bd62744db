// Package account keeps the owners' side of Crumb in crumb.db: sites, their
// domains and lifetimes, and the versions of each site's banner configuration.
//
// # Sites
//
// A [Site] is registered with one or more domains; consents are accepted only
// from pages on those domains and their subdomains. Its id is random and
// URL-safe and names the site's ledger log.
//
// # Banner versions
//
// A banner configuration is stored as an immutable version whose id is a hash
// of its canonical JSON, computed by the caller (package widget owns the
// schema; to this package a configuration is opaque bytes). Saving a version
// never changes an earlier one, so every consent can name the exact banner its
// visitor saw, and the server can refuse a version the site never had.
//
// # Caching
//
// Sites and the set of versions are read on every consent, so the store keeps
// them in memory, loaded at Open and updated by its own writes. It therefore
// assumes one process writes crumb.db, which bbolt's file lock guarantees.
package account
