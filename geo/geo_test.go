package geo

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// *Regions is what the server's Regions interface asks for.
var _ interface {
	Lookup(netip.Addr) (country, ruleSet string)
} = (*Regions)(nil)

func TestLookup(t *testing.T) {
	country := mustOpen(t, "GeoIP2-Country")
	city := mustOpen(t, "GeoIP2-City")
	tests := []struct {
		name, addr string
		// want from the Country and the City database: country and rule set.
		country, countryRule string
		city, cityRule       string
	}{
		{"EU", "2.0.1.0", "FR", OptIn, "FR", OptIn},
		{"UK", "81.2.69.0", "GB", OptIn, "GB", OptIn},
		{"US state with a privacy law", "3.0.7.0", "US", OptOut, "US", OptOut},
		{"US state without one", "3.1.0.0", "US", OptOut, "US", Notice},
		{"US, no subdivision", "3.2.0.0", "US", OptOut, "US", OptOut},
		{"notice country", "1.0.0.0", "AU", Notice, "AU", Notice},
		{"registered country only", "5.0.0.0", "NL", OptIn, "NL", OptIn},
		{"not an ISO code", "6.0.0.0", "", OptIn, "", OptIn},
		{"IPv6", "2001:db8:1234::", "DE", OptIn, "DE", OptIn},
		{"IPv4-mapped IPv6", "::ffff:3.1.0.0", "US", OptOut, "US", Notice},
		{"IPv4-mapped IPv6, notice", "::ffff:1.0.0.0", "AU", Notice, "AU", Notice},
		{"unlisted IPv4", "9.9.9.0", "", OptIn, "", OptIn},
		{"unlisted IPv6", "2001:db9::", "", OptIn, "", OptIn},
		{"IPv4 just outside a network", "2.1.0.0", "", OptIn, "", OptIn},
		{"zero Addr", "", "", OptIn, "", OptIn},
	}
	// The first pass decodes records, the second answers from the cache;
	// with lower, the cache holds one answer and the rest are decoded each time.
	lower := func() {
		for _, g := range []*Regions{country, city} {
			g.db.Store(&database{r: g.db.Load().r, typ: g.Type(), limit: 1})
		}
	}
	for _, pass := range []struct {
		name   string
		before func()
	}{{"decoded", func() {}}, {"cached", func() {}}, {"cache bound", lower}, {"past the bound", func() {}}} {
		pass.before()
		for _, tt := range tests {
			t.Run(pass.name+"/"+tt.name, func(t *testing.T) {
				var addr netip.Addr // the zero Addr for ""
				if tt.addr != "" {
					addr = netip.MustParseAddr(tt.addr)
				}
				for _, db := range []struct {
					g           *Regions
					country, rs string
				}{{country, tt.country, tt.countryRule}, {city, tt.city, tt.cityRule}} {
					c, rs := db.g.Lookup(addr)
					if c != db.country || rs != db.rs {
						t.Errorf("%s: Lookup(%s) = %q, %q; want %q, %q", db.g.Type(), tt.addr, c, rs, db.country, db.rs)
					}
				}
			})
		}
	}
	for _, g := range []*Regions{country, city} {
		n := 0
		g.db.Load().cache.Range(func(any, any) bool { n++; return true })
		if n != 1 {
			t.Errorf("%s: %d answers cached, want 1 (the bound)", g.Type(), n)
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.mmdb")
	if err := os.WriteFile(garbage, []byte("this is not a MaxMind database\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.mmdb")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	asn := filepath.Join(dir, "asn.mmdb")
	writeDB(t, asn, "GeoLite2-ASN", testNets)
	truncated := filepath.Join(dir, "truncated.mmdb")
	writeDB(t, truncated, "GeoLite2-Country", testNets)
	if b, err := os.ReadFile(truncated); err != nil {
		t.Fatal(err)
	} else if err := os.WriteFile(truncated, b[:len(b)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	unknown := filepath.Join(dir, "unknown.mmdb")
	writeDB(t, unknown, "Crumb-Test-Regions", testNets)
	tests := []struct {
		name, path string
		want       error
		msg        string // part of the error text
	}{
		{"ASN database", asn, ErrDatabaseType, `"GeoLite2-ASN"`},
		{"unknown database type", unknown, ErrDatabaseType, `"Crumb-Test-Regions"`},
		{"garbage", garbage, ErrInvalidDatabase, "garbage.mmdb"},
		{"empty file", empty, ErrInvalidDatabase, "empty.mmdb"},
		{"truncated database", truncated, ErrInvalidDatabase, "truncated.mmdb"},
		{"missing file", filepath.Join(dir, "missing.mmdb"), fs.ErrNotExist, "missing.mmdb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Open(tt.path)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Open = %v, %v; want an error wrapping %v and mentioning %s", g, err, tt.want, tt.msg)
			}
		})
	}
}

func TestOpenAccepts(t *testing.T) {
	for _, typ := range []string{"GeoIP2-Country", "GeoLite2-Country", "GeoIP2-City", "GeoLite2-City"} {
		t.Run(typ, func(t *testing.T) {
			g := mustOpen(t, typ)
			if g.Type() != typ {
				t.Errorf("Type() = %q", g.Type())
			}
			if c, rs := g.Lookup(netip.MustParseAddr("3.0.0.0")); c != "US" || rs != OptOut {
				t.Errorf("Lookup = %q, %q; want US, opt-out", c, rs)
			}
		})
	}
}

func TestReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "GeoLite2-Country.mmdb")
	writeDB(t, path, "GeoLite2-Country", []testNet{{cidr: "2.0.0.0/16", country: "FR"}})
	g, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	addr := netip.MustParseAddr("2.0.3.0")
	check := func(wantCountry, wantRule string) {
		t.Helper()
		if c, rs := g.Lookup(addr); c != wantCountry || rs != wantRule {
			t.Fatalf("Lookup = %q, %q; want %q, %q", c, rs, wantCountry, wantRule)
		}
	}
	check("FR", OptIn)

	// An updated database is picked up.
	writeDB(t, path, "GeoLite2-Country", []testNet{{cidr: "2.0.0.0/16", country: "AU"}})
	check("FR", OptIn) // not before Reload
	if err := g.Reload(); err != nil {
		t.Fatal(err)
	}
	check("AU", Notice)

	// A bad file changes nothing.
	if err := os.WriteFile(path, []byte("truncated"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(); !errors.Is(err, ErrInvalidDatabase) {
		t.Fatalf("Reload of garbage = %v; want ErrInvalidDatabase", err)
	}
	check("AU", Notice)
	writeDB(t, path, "GeoLite2-ASN", []testNet{{cidr: "2.0.0.0/16"}})
	if err := g.Reload(); !errors.Is(err, ErrDatabaseType) {
		t.Fatalf("Reload of an ASN database = %v; want ErrDatabaseType", err)
	}
	check("AU", Notice)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Reload of a removed file = %v; want fs.ErrNotExist", err)
	}
	check("AU", Notice)

	// After Close: the strictest rule set, and no more reloading.
	writeDB(t, path, "GeoLite2-Country", []testNet{{cidr: "2.0.0.0/16", country: "US"}})
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	check("", OptIn)
	if err := g.Reload(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Reload after Close = %v; want ErrClosed", err)
	}
	check("", OptIn)
	if g.Type() != "" {
		t.Errorf("Type() after Close = %q", g.Type())
	}
}

// TestReloadUnderLookups swaps databases while lookups run (go test -race
// checks the swap); every answer comes whole from one database or the other.
func TestReloadUnderLookups(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "GeoIP2-City.mmdb")
	writeDB(t, path, "GeoIP2-City", []testNet{{cidr: "3.0.0.0/16", country: "US", subdivision: "CA"}})
	g, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	// Two versions of the file, renamed over path in turn.
	versions := []string{filepath.Join(dir, "a"), filepath.Join(dir, "b")}
	writeDB(t, versions[0], "GeoIP2-City", []testNet{{cidr: "3.0.0.0/16", country: "US", subdivision: "CA"}})
	writeDB(t, versions[1], "GeoIP2-City", []testNet{{cidr: "3.0.0.0/16", country: "US", subdivision: "WY"}})
	valid := map[string]bool{OptOut: true, Notice: true}

	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := netip.MustParseAddr("3.0.9.0")
			for {
				select {
				case <-stop:
					return
				default:
				}
				if c, rs := g.Lookup(addr); c != "US" || !valid[rs] {
					t.Errorf("Lookup during Reload = %q, %q", c, rs)
					return
				}
			}
		}()
	}
	for i := range 20 {
		b, err := os.ReadFile(versions[i%2])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
		if err := g.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if _, rs := g.Lookup(netip.MustParseAddr("3.0.9.0")); rs != Notice {
		t.Errorf("after the last Reload (WY): rule set %q, want notice", rs)
	}
}

// BenchmarkLookup measures Lookup as the server calls it, on every widget.js
// and consent request: mostly cache hits. The decode benchmarks measure a
// miss (the first lookup of a record, or any past the cache bound).
func BenchmarkLookup(b *testing.B) {
	addrs := []netip.Addr{
		netip.MustParseAddr("2.0.1.0"),
		netip.MustParseAddr("3.0.7.0"),
		netip.MustParseAddr("2001:db8:1234::"),
		netip.MustParseAddr("9.9.9.0"), // not listed
	}
	for _, typ := range []string{"GeoIP2-Country", "GeoIP2-City"} {
		g := mustOpen(b, typ)
		b.Run(typ, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				g.Lookup(addrs[i%len(addrs)])
				i++
			}
		})
		b.Run(typ+"/decode", func(b *testing.B) {
			db := g.db.Load()
			off, err := db.r.LookupOffset(addrs[1].AsSlice())
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := db.decode(off); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
