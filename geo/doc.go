// Package geo picks the consent rule set for a visitor from where the
// visitor is (DESIGN §8), with a MaxMind GeoIP2 or GeoLite2 database.
//
// # Basics
//
// Open a Country or City database once, look addresses up on every request,
// and reload when the file changes:
//
//	regions, err := geo.Open("/var/lib/GeoIP/GeoLite2-Country.mmdb")
//	if err != nil { … }               // ErrDatabaseType, ErrInvalidDatabase, fs errors
//	defer regions.Close()
//	country, ruleSet := regions.Lookup(addr) // "FR", geo.OptIn
//	err = regions.Reload()            // e.g. on SIGHUP, after geoipupdate
//
// *Regions satisfies the server's Regions interface. Without a database the
// server applies OptIn to everyone, and so does Lookup for any address the
// database does not place: the strictest rule set is the default.
//
// # Rule sets
//
// There are three, named as in the Crumb-Rule-Set header and the widget:
//
//   - OptIn: nothing but necessary cookies until the visitor chooses.
//   - OptOut: cookies are allowed until refused, and a Global Privacy
//     Control signal is a refusal.
//   - Notice: the visitor is informed; there is nothing to refuse.
//
// RuleSet maps a country (and, from a City database, a US state) to one of
// them. The table is in rules.go, each entry with the law behind it:
//
//   - OptIn, listed: the EU 27 (the ePrivacy Directive's art. 5(3) asks for
//     consent to anything not strictly necessary, with the GDPR's meaning of
//     consent), the EU regions GeoIP codes separately (AX, GF, GP, MQ, RE,
//     YT, MF), the rest of the EEA (IS, LI, NO), the United Kingdom (PECR)
//     with Gibraltar and the Crown dependencies, Switzerland (DESIGN §8; its
//     law only asks for a way to refuse, but Swiss sites serve EU visitors),
//     Brazil (LGPD) and Türkiye (KVKK cookie guide).
//   - OptOut: the United States, where the state privacy laws are opt-out
//     laws and several make GPC binding.
//   - Notice: Australia and New Zealand, whose privacy acts ask for notice
//     and not for cookie consent. The list is short on purpose: a country
//     belongs on it only when that is well established.
//   - Everything else: OptIn. That is a default, not a finding that the
//     country's law asks for consent: being stricter than the law costs a
//     site some analytics, being laxer exposes it.
//
// # US states
//
// US state laws differ, and a Country database gives only the country, so
// with one every US visitor gets OptOut. A City database also names the
// subdivision: a visitor in one of the states with a comprehensive privacy
// law in force (California, Virginia, Colorado, Connecticut, Utah, Florida,
// Texas, Oregon, Montana, Iowa, Delaware, Nebraska, New Hampshire, New
// Jersey, Tennessee, Minnesota, Maryland, Indiana, Kentucky, Rhode Island)
// gets OptOut, a visitor in any other state or in DC gets Notice, and a US
// network the database places in no state gets OptOut. Subdivisions are
// read only from the US; elsewhere the country decides.
//
// # Anonymised addresses
//
// The server looks up addresses already anonymised the way consent records
// store them: IPv4 with the last octet zeroed, IPv6 with all but the first
// 48 bits zeroed. Country databases assign whole networks, which are /24 or
// larger in IPv4 and /48 or larger in IPv6 for nearly all addresses, so the
// country is the one the full address would give. Subdivisions are less
// sure at that granularity near state borders; a wrong state moves a visitor
// between OptOut and Notice only. IPv4-mapped IPv6 addresses are looked up
// as IPv4; the zero Addr is unknown (OptIn).
//
// The country is the database's country, or else the country the network
// is registered in (MaxMind leaves the first empty for some satellite and
// anycast networks). It goes into consent records, so anything but two
// upper-case letters counts as unknown.
//
// # Databases
//
// Any database geoip2-golang can read country records from is accepted:
// GeoIP2-Country, GeoLite2-Country, the GeoIP2 and GeoLite2 City databases,
// GeoIP2-Enterprise and DB-IP's compatible ones. Others (GeoLite2-ASN,
// GeoIP2-Anonymous-IP, ISP…) are refused with ErrDatabaseType, naming the
// type; anything that is not a MaxMind DB file with ErrInvalidDatabase.
//
// The file is read into memory rather than mapped. A reloaded database
// replaces the old one with an atomic pointer swap, so lookups never wait
// and never see a half-loaded file, and lookups still running on the old
// one finish safely; the garbage collector frees it afterwards. Memory is
// the file's size (about 10 MB for GeoLite2-Country, 60 MB for
// GeoLite2-City), twice that during a reload. A failed Reload keeps the
// database already loaded. Replace the file by renaming a complete new one
// over it, as geoipupdate does.
//
// Lookups decode only the ISO codes of a record, and remember the answer by
// the record's offset: MaxMind databases store each distinct record once, so
// a Country database's few thousand records are all decoded once, and most
// lookups are a tree walk and a map read (BenchmarkLookup). The memory of
// answers is bounded (maxCached, 32768); past it, lookups decode each time.
//
// # Caveats
//
// The table is an engineering default written from public sources as of
// early 2026, not legal advice; laws change, and site owners with other
// advice need another table. A visitor behind a VPN or a proxy is placed
// where the exit is.
package geo
