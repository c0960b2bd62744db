package geo

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// A network of a test database and what MaxMind would say about it.
type testNet struct {
	cidr        string
	country     string // country.iso_code; "" leaves country out
	registered  string // registered_country.iso_code; "" leaves it out
	subdivision string // City databases: subdivisions[0].iso_code
}

// testNets is what the tests' databases hold; lookups of anonymised
// addresses inside them are checked in geo_test.go.
var testNets = []testNet{
	{cidr: "2.0.0.0/16", country: "FR", registered: "FR", subdivision: "IDF"},
	{cidr: "81.2.69.0/24", country: "GB", registered: "GB", subdivision: "ENG"},
	{cidr: "3.0.0.0/16", country: "US", registered: "US", subdivision: "CA"},
	{cidr: "3.1.0.0/16", country: "US", registered: "US", subdivision: "WY"},
	{cidr: "3.2.0.0/16", country: "US", registered: "US"}, // placed in the US only
	{cidr: "1.0.0.0/24", country: "AU", registered: "AU", subdivision: "NSW"},
	{cidr: "5.0.0.0/24", registered: "NL"},                 // satellite: registered country only
	{cidr: "6.0.0.0/24", country: "usa", registered: "us"}, // not an ISO code
	{cidr: "2001:db8::/32", country: "DE", registered: "DE", subdivision: "BE"},
}

// names is a localised name map as MaxMind writes them, so that decoding
// costs in benchmarks are those of a real database.
func names(s string) mmdbtype.Map {
	m := mmdbtype.Map{}
	for _, lang := range []string{"de", "en", "es", "fr", "ja", "pt-BR", "ru", "zh-CN"} {
		m[mmdbtype.String(lang)] = mmdbtype.String(s)
	}
	return m
}

func place(code string, id uint32) mmdbtype.Map {
	return mmdbtype.Map{
		"geoname_id": mmdbtype.Uint32(id),
		"iso_code":   mmdbtype.String(code),
		"names":      names("Country " + code),
	}
}

// testRecord builds a GeoIP2-Country or, with city set, a GeoIP2-City record.
func testRecord(n testNet, city bool) mmdbtype.Map {
	rec := mmdbtype.Map{
		"continent": mmdbtype.Map{"code": mmdbtype.String("EU"), "geoname_id": mmdbtype.Uint32(6255148), "names": names("Europe")},
	}
	if n.country != "" {
		rec["country"] = place(n.country, 1)
	}
	if n.registered != "" {
		rec["registered_country"] = place(n.registered, 2)
	}
	if city {
		rec["city"] = mmdbtype.Map{"geoname_id": mmdbtype.Uint32(3), "names": names("Some City")}
		rec["location"] = mmdbtype.Map{
			"accuracy_radius": mmdbtype.Uint16(20),
			"latitude":        mmdbtype.Float64(48.85),
			"longitude":       mmdbtype.Float64(2.35),
			"time_zone":       mmdbtype.String("Europe/Paris"),
		}
		rec["postal"] = mmdbtype.Map{"code": mmdbtype.String("75001")}
		if n.subdivision != "" {
			rec["subdivisions"] = mmdbtype.Slice{mmdbtype.Map{
				"geoname_id": mmdbtype.Uint32(4),
				"iso_code":   mmdbtype.String(n.subdivision),
				"names":      names("Region " + n.subdivision),
			}}
		}
	}
	return rec
}

// writeDB writes a MaxMind DB of type dbType holding nets to path, the way
// geoipupdate does: to a temporary file renamed over path. City-shaped
// records go into databases whose type names a city database.
func writeDB(tb testing.TB, path, dbType string, nets []testNet) {
	tb.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            dbType,
		BuildEpoch:              1767225600, // 2026-01-01, for byte-identical fixtures
		Languages:               []string{"de", "en", "es", "fr", "ja", "pt-BR", "ru", "zh-CN"},
		RecordSize:              28,
		IncludeReservedNetworks: true, // 2001:db8::/32 is the documentation prefix
	})
	if err != nil {
		tb.Fatal(err)
	}
	city := dbType == "GeoIP2-City" || dbType == "GeoLite2-City"
	for _, n := range nets {
		_, network, err := net.ParseCIDR(n.cidr)
		if err != nil {
			tb.Fatal(err)
		}
		var rec mmdbtype.DataType = testRecord(n, city)
		if dbType == "GeoLite2-ASN" {
			rec = mmdbtype.Map{
				"autonomous_system_number":       mmdbtype.Uint32(64512),
				"autonomous_system_organization": mmdbtype.String("Example AS"),
			}
		}
		if err := tree.Insert(network, rec); err != nil {
			tb.Fatal(err)
		}
	}
	f, err := os.CreateTemp(filepath.Dir(path), "mmdb-*")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		tb.Fatal(err)
	}
}

// mustOpen writes a database of type dbType and opens it.
func mustOpen(tb testing.TB, dbType string) *Regions {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), dbType+".mmdb")
	writeDB(tb, path, dbType, testNets)
	g, err := Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { g.Close() })
	return g
}
