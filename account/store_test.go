package account

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func openTestDB(tb testing.TB) (*bolt.DB, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "crumb.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db, path
}

func TestSiteLifecycle(t *testing.T) {
	db, path := openTestDB(t)
	s, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	site, err := s.CreateSite(Site{Domains: []string{"https://Shop.Example:8443/path", "shop.example", "blog.example."}}, Banner{Version: "v1", Config: []byte(`{"a":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if len(site.ID) != 16 || !slices.Equal(site.Domains, []string{"shop.example", "blog.example"}) || site.Name != "shop.example" {
		t.Fatalf("site %+v", site)
	}
	if site.ConsentLifetimeDays != 365 || site.RetentionDays != 365 || site.Banner != "v1" {
		t.Fatalf("defaults %+v", site)
	}
	if err := s.SaveBanner(site.ID, Banner{Version: "v2", Config: []byte(`{"a":2}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveBanner(site.ID, Banner{Version: "v2", Config: []byte(`{"a":3}`)}); !errors.Is(err, ErrConflict) {
		t.Fatalf("changing a version's bytes: %v, want ErrConflict", err)
	}
	if err := s.SaveBanner("nope", Banner{Version: "v2", Config: []byte(`{}`)}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown site: %v", err)
	}

	// Everything survives a reopen, including the cache contents.
	db.Close()
	db2, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	s2, err := Open(db2)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s2.Site(site.ID)
	if err != nil || got.Banner != "v2" {
		t.Fatalf("reopened site %+v %v", got, err)
	}
	if !s2.HasVersion(site.ID, "v1") || !s2.HasVersion(site.ID, "v2") || s2.HasVersion(site.ID, "v3") || s2.HasVersion("nope", "v1") {
		t.Fatal("HasVersion wrong after reopen")
	}
	cur, _ := s2.CurrentBanner(site.ID)
	if cur.Version != "v2" || string(cur.Config) != `{"a":2}` {
		t.Fatalf("current %+v", cur)
	}
	old, err := s2.Banner(site.ID, "v1")
	if err != nil || string(old.Config) != `{"a":1}` {
		t.Fatalf("old version %+v %v", old, err)
	}
	if _, err := s2.Banner(site.ID, "#\x00\x00\x00\x00\x00\x00\x00\x01"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("sequence keys must not be readable as versions: %v", err)
	}
	hist, _ := s2.BannerHistory(site.ID)
	if !slices.Equal(hist, []string{"v1", "v2"}) {
		t.Fatalf("history %v", hist)
	}
	match := func(host string) func([]string) bool {
		return func(ds []string) bool { return slices.Contains(ds, host) }
	}
	if !s2.AnyDomains(match("blog.example")) || s2.AnyDomains(match("evil.example")) {
		t.Fatal("AnyDomains")
	}

	upd, err := s2.UpdateSite(Site{ID: site.ID, Name: "Shop", Domains: []string{"shop.example"}, RetentionDays: 30})
	if err != nil || upd.Banner != "v2" || upd.RetentionDays != 30 || !upd.Created.Equal(site.Created) {
		t.Fatalf("update %+v %v", upd, err)
	}
	if err := s2.DeleteSite(site.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Site(site.ID); !errors.Is(err, ErrNotFound) {
		t.Fatal("deleted site still there")
	}
	if err := s2.DeleteSite(site.ID); !errors.Is(err, ErrNotFound) {
		t.Fatal("deleting twice")
	}
}

func TestCreateSiteRejects(t *testing.T) {
	db, _ := openTestDB(t)
	s, _ := Open(db)
	banner := Banner{Version: "v1", Config: []byte(`{}`)}
	cases := map[string]Site{
		"no domains":    {},
		"bad domain":    {Domains: []string{"exa mple.com"}},
		"label dash":    {Domains: []string{"-a.example"}},
		"empty label":   {Domains: []string{"a..example"}},
		"long lifetime": {Domains: []string{"a.example"}, ConsentLifetimeDays: 1000},
		"neg retention": {Domains: []string{"a.example"}, RetentionDays: -1},
	}
	for name, site := range cases {
		if _, err := s.CreateSite(site, banner); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := s.CreateSite(Site{Domains: []string{"a.example"}}, Banner{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("no banner: %v", err)
	}
	if n := len(s.Sites("")); n != 0 {
		t.Fatalf("rejected sites were stored: %d", n)
	}
}

func TestNormaliseDomain(t *testing.T) {
	ok := map[string]string{
		"Example.COM":           "example.com",
		"http://127.0.0.1:80/":  "127.0.0.1",
		"[::1]:8080":            "::1",
		"localhost":             "localhost",
		"xn--bcher-kva.example": "xn--bcher-kva.example",
	}
	for in, want := range ok {
		if got, err := NormaliseDomain(in); err != nil || got != want {
			t.Errorf("NormaliseDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "a b", "ex*ample.com", "[zz::1]", "a.-b", "ünï.example"} {
		if got, err := NormaliseDomain(bad); err == nil {
			t.Errorf("NormaliseDomain(%q) accepted as %q", bad, got)
		}
	}
}
