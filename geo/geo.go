package geo

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"

	"github.com/oschwald/geoip2-golang"
	"github.com/oschwald/maxminddb-golang"
)

var (
	// ErrDatabaseType is returned by Open and Reload for a MaxMind DB file
	// that holds no country data (an ASN, ISP or anonymous-IP database).
	ErrDatabaseType = errors.New("geo: not a country or city database")
	// ErrInvalidDatabase is returned by Open and Reload for a file that is
	// not a MaxMind DB file, or a damaged one.
	ErrInvalidDatabase = errors.New("geo: not a valid MaxMind DB file")
	// ErrClosed is returned by Reload after Close.
	ErrClosed = errors.New("geo: closed")
)

// Regions answers which country an address is in and which rule set applies
// there, from a GeoIP2 or GeoLite2 Country or City database. It is safe for
// concurrent use; Reload swaps the database in under running lookups.
type Regions struct {
	path string
	mu   sync.Mutex // serialises Reload and Close
	db   atomic.Pointer[database]
}

// maxCached bounds the answers a database keeps (see database.cache). A
// Country database has a few thousand distinct records and fits; a City
// database has many more, and lookups past the bound decode every time.
const maxCached = 1 << 15

// database is one loaded file. It lives in memory (not mapped), so a
// database swapped out by Reload stays valid for lookups still using it and
// is freed by the garbage collector after them.
type database struct {
	r   *maxminddb.Reader
	typ string // metadata database_type, for Type

	// MaxMind databases store each distinct record once and point every
	// network with that record at it, so a record's offset is a cache key:
	// offset (uintptr) → answer. Decoding a record takes microseconds, a
	// hit tens of nanoseconds.
	cache  sync.Map
	cached atomic.Int32
	limit  int32 // maxCached; tests lower it
}

type answer struct{ country, ruleSet string }

// record is the part of a GeoIP2 Country or City record Lookup needs; the
// decoder skips everything else (names in eight languages, locations…).
type record struct {
	Country struct {
		IsoCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	RegisteredCountry struct {
		IsoCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
	Subdivisions []struct {
		IsoCode string `maxminddb:"iso_code"`
	} `maxminddb:"subdivisions"` // City databases only
}

// Open loads the MaxMind DB file at path. It accepts any database with
// country data (GeoIP2-Country, GeoLite2-Country, GeoIP2-City,
// GeoLite2-City, DB-IP's compatible ones…) and refuses the others with
// ErrDatabaseType, naming the database type.
func Open(path string) (*Regions, error) {
	db, err := load(path)
	if err != nil {
		return nil, err
	}
	g := &Regions{path: path}
	g.db.Store(db)
	return g, nil
}

func load(path string) (*database, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("geo: %w", err) // the path is in err
	}
	// geoip2 knows which database types carry country records: ask it, with
	// a lookup of an address no database lists.
	g, err := geoip2.FromBytes(b)
	var unknown geoip2.UnknownDatabaseTypeError
	switch {
	case errors.As(err, &unknown):
		return nil, fmt.Errorf("%w: %s is a %q database", ErrDatabaseType, path, unknown.DatabaseType)
	case err != nil:
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidDatabase, path, err)
	}
	typ := g.Metadata().DatabaseType
	if _, err := g.Country(net.IPv4zero); err != nil {
		var method geoip2.InvalidMethodError
		if errors.As(err, &method) {
			return nil, fmt.Errorf("%w: %s is a %q database", ErrDatabaseType, path, typ)
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidDatabase, path, err)
	}
	// Lookups read the same bytes through maxminddb, which geoip2 wraps,
	// with a record type that decodes only the ISO codes.
	r, err := maxminddb.FromBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidDatabase, path, err)
	}
	return &database{r: r, typ: typ, limit: maxCached}, nil
}

// Reload reads the file again and swaps it in: lookups already running
// finish on the old database, later ones use the new. A file that fails to
// load changes nothing and the error says why. Replace the file by renaming
// a complete new one over it (as geoipupdate does), not by writing into it.
func (g *Regions) Reload() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.db.Load() == nil {
		return ErrClosed
	}
	db, err := load(g.path)
	if err != nil {
		return err // says geo and the path already
	}
	g.db.Store(db)
	return nil
}

// Close releases the database. Lookups after Close answer ("", OptIn).
func (g *Regions) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.db.Store(nil)
	return nil
}

// Type returns the database type from the file's metadata
// ("GeoLite2-Country"…), or "" after Close.
func (g *Regions) Type() string {
	if db := g.db.Load(); db != nil {
		return db.typ
	}
	return ""
}

// Lookup returns the country of addr (ISO 3166-1 alpha-2, "" when the
// database does not place it) and the rule set that applies there (see
// RuleSet). An address the database does not list, the zero Addr, and any
// lookup after Close get ("", OptIn). An IPv4-mapped IPv6 address is looked
// up as the IPv4 address.
//
// addr is expected to be anonymised already (IPv4 with the last octet
// zeroed, IPv6 with all but the first 48 bits zeroed): country databases
// assign whole networks, which are /24 or larger in IPv4 and /48 or larger in
// IPv6 for nearly all addresses, so the answer is the same as for the full
// address.
func (g *Regions) Lookup(addr netip.Addr) (country, ruleSet string) {
	db := g.db.Load()
	if db == nil || !addr.IsValid() {
		return "", OptIn
	}
	a := db.lookup(addr.Unmap())
	return a.country, a.ruleSet
}

func (db *database) lookup(addr netip.Addr) answer {
	unknown := answer{"", OptIn}
	var ip net.IP
	if addr.Is4() {
		b := addr.As4()
		ip = b[:]
	} else {
		b := addr.As16()
		ip = b[:]
	}
	off, err := db.r.LookupOffset(ip)
	if err != nil || off == maxminddb.NotFound {
		return unknown
	}
	if a, ok := db.cache.Load(off); ok {
		return a.(answer)
	}
	a, err := db.decode(off)
	if err != nil {
		return unknown // a damaged record: not cached, so not remembered
	}
	if db.cached.Load() < db.limit { // racing misses may overshoot a little
		db.cached.Add(1)
		db.cache.Store(off, a)
	}
	return a
}

// decode reads the record at off and answers from it.
func (db *database) decode(off uintptr) (answer, error) {
	var rec record
	if err := db.r.Decode(off, &rec); err != nil {
		return answer{}, err
	}
	a := answer{country: isoCode(rec.Country.IsoCode, rec.RegisteredCountry.IsoCode)}
	subdivision := ""
	if a.country != "" && a.country == rec.Country.IsoCode && len(rec.Subdivisions) > 0 {
		subdivision = rec.Subdivisions[0].IsoCode
	}
	a.ruleSet = RuleSet(a.country, subdivision)
	return a, nil
}

// isoCode picks the country, falling back to the country the network is
// registered in (MaxMind leaves country empty for some networks, satellite
// and anycast among them). Anything but two upper-case letters counts as
// unknown: the code goes into consent records as is.
func isoCode(country, registered string) string {
	for _, c := range []string{country, registered} {
		if len(c) == 2 && 'A' <= c[0] && c[0] <= 'Z' && 'A' <= c[1] && c[1] <= 'Z' {
			return c
		}
	}
	return ""
}
