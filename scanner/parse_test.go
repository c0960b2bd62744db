package scanner

import (
	"bytes"
	"compress/gzip"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseSitemap(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`<urlset><url><loc>https://a.example/gz</loc></url></urlset>`))
	zw.Close()
	for _, tc := range []struct {
		name, in        string
		pages, sitemaps string
	}{
		{"urlset", `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
 <url><loc> https://a.example/1 </loc><lastmod>2024-01-01</lastmod></url>
 <url><loc>https://a.example/2?x=1&amp;y=2</loc></url>
</urlset>`, "https://a.example/1 https://a.example/2?x=1&y=2", ""},
		{"index", `<sitemapindex><sitemap><loc>https://a.example/s1.xml</loc></sitemap><sitemap><loc>https://a.example/s2.xml.gz</loc></sitemap></sitemapindex>`,
			"", "https://a.example/s1.xml https://a.example/s2.xml.gz"},
		{"text", "\ufeff\nhttps://a.example/t1\n# comment\nhttps://a.example/t2\nftp://nope\n", "https://a.example/t1 https://a.example/t2", ""},
		{"truncated", `<urlset><url><loc>https://a.example/1</loc></url><url><loc>https://a.exa`, "https://a.example/1", ""},
		{"loc outside url", `<urlset><loc>https://a.example/stray</loc></urlset>`, "", ""},
		{"gzip", gz.String(), "https://a.example/gz", ""},
		{"empty", "", "", ""},
		{"charset", `<?xml version="1.0" encoding="ISO-8859-1"?><urlset><url><loc>https://a.example/l</loc></url></urlset>`, "https://a.example/l", ""},
	} {
		p, s, err := parseSitemap(strings.NewReader(tc.in), 1<<20, 100)
		if err != nil || strings.Join(p, " ") != tc.pages || strings.Join(s, " ") != tc.sitemaps {
			t.Errorf("%s: pages %q sitemaps %q err %v; want %q %q", tc.name, p, s, err, tc.pages, tc.sitemaps)
		}
	}
	// Limits: at most max locations, at most limit bytes.
	var b strings.Builder
	b.WriteString("<urlset>")
	for range 1000 {
		b.WriteString("<url><loc>https://a.example/x</loc></url>")
	}
	if p, _, _ := parseSitemap(strings.NewReader(b.String()), 1<<20, 10); len(p) != 10 {
		t.Errorf("max 10: got %d", len(p))
	}
	if p, _, _ := parseSitemap(strings.NewReader(b.String()), 200, 1000); len(p) > 5 {
		t.Errorf("200-byte limit: got %d pages", len(p))
	}
}

func FuzzParseSitemap(f *testing.F) {
	f.Add([]byte(`<urlset><url><loc>https://a.example/1</loc></url></urlset>`))
	f.Add([]byte(`<sitemapindex><sitemap><loc>https://a.example/s.xml</loc></sitemap></sitemapindex>`))
	f.Add([]byte("https://a.example/1\nhttps://a.example/2"))
	f.Add([]byte{0x1f, 0x8b, 0x08, 0x00})
	f.Add([]byte(`<urlset><url><loc><![CDATA[https://a.example/c]]></loc><url><loc>x</loc></url>`))
	f.Fuzz(func(t *testing.T, in []byte) {
		p, s, _ := parseSitemap(bytes.NewReader(in), 1<<16, 50)
		if len(p) > 50 || len(s) > 50 {
			t.Fatalf("%d pages, %d sitemaps over the maximum", len(p), len(s))
		}
	})
}

func TestParseSetCookie(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	page, _ := url.Parse("https://www.shop.example.co.uk/a/b/page")
	for _, tc := range []struct {
		line                  string
		ok                    bool
		domain, path, expires string
		secure, httpOnly      bool
		sameSite              string
	}{
		{"sid=1", true, "www.shop.example.co.uk", "/a/b", "", false, false, ""},
		{"sid=1; Path=/; Secure; HttpOnly; SameSite=Strict", true, "www.shop.example.co.uk", "/", "", true, true, "Strict"},
		{"_ga=x; Domain=.example.co.uk; Max-Age=3600", true, ".example.co.uk", "/a/b", "2026-01-02T04:04:05Z", false, false, ""},
		{"_ga=x; domain=SHOP.example.co.uk; expires=Fri, 01 Jan 2027 00:00:00 GMT; samesite=none", true, ".shop.example.co.uk", "/a/b", "2027-01-01T00:00:00Z", false, false, "None"},
		{"chips=1; Secure; Partitioned; Path=/", true, "www.shop.example.co.uk", "/", "", true, false, ""},
		{"x=1; Path=relative", true, "www.shop.example.co.uk", "/a/b", "", false, false, ""},
		{"x=1; Domain=co.uk", false, "", "", "", false, false, ""},             // a public suffix
		{"x=1; Domain=other.example", false, "", "", "", false, false, ""},     // not the host's
		{"x=1; Domain=hop.example.co.uk", false, "", "", "", false, false, ""}, // a sibling
		{"x=; Max-Age=0", false, "", "", "", false, false, ""},                 // deletion
		{"x=; Expires=Thu, 01 Jan 1970 00:00:00 GMT", false, "", "", "", false, false, ""},
		{"=novalue", false, "", "", "", false, false, ""},
		{"", false, "", "", "", false, false, ""},
	} {
		o, ok := parseSetCookie(tc.line, page, at)
		if ok != tc.ok {
			t.Errorf("parseSetCookie(%q) ok = %v", tc.line, ok)
			continue
		}
		if !ok {
			continue
		}
		exp := ""
		if !o.expires.IsZero() {
			exp = o.expires.UTC().Format(time.RFC3339)
		}
		if strings.HasPrefix(tc.line, "chips") != o.partitioned {
			t.Errorf("parseSetCookie(%q): partitioned = %v", tc.line, o.partitioned)
		}
		if o.domain != tc.domain || o.path != tc.path || exp != tc.expires || o.secure != tc.secure ||
			o.httpOnly != tc.httpOnly || o.sameSite != tc.sameSite {
			t.Errorf("parseSetCookie(%q) = %+v (expires %q)", tc.line, o, exp)
		}
	}
}

func FuzzParseSetCookie(f *testing.F) {
	f.Add("sid=1; Path=/; Secure; HttpOnly; SameSite=Lax", "https://a.example/x/y")
	f.Add("_ga=x; Domain=.example.com; Max-Age=63072000", "http://www.example.com/")
	f.Add("x=1; Domain=..; Path=", "http://[::1]:8080/")
	f.Add("a=b; expires=Wed, 21 Oct 2015 07:28:00 GMT", "http://localhost")
	f.Fuzz(func(t *testing.T, line, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		o, ok := parseSetCookie(line, u, time.Unix(1e9, 0))
		if !ok {
			return
		}
		if o.name == "" || !strings.HasPrefix(o.path, "/") || (o.domain == "" && u.Hostname() != "") {
			t.Fatalf("parseSetCookie(%q, %q) = %+v", line, raw, o)
		}
		if strings.HasPrefix(o.domain, ".") && !strings.HasSuffix("."+strings.ToLower(u.Hostname()), o.domain) {
			t.Fatalf("domain %q not a parent of %q", o.domain, u.Hostname())
		}
	})
}

func TestRegistrable(t *testing.T) {
	for in, want := range map[string]string{
		"www.example.com":   "example.com",
		".Example.COM":      "example.com",
		"a.b.example.co.uk": "example.co.uk",
		"site.test":         "site.test",
		"shop.site.test":    "site.test",
		"localhost":         "localhost",
		"127.0.0.1":         "127.0.0.1",
		"[::1]":             "::1",
		"user.github.io":    "user.github.io",
		"a.user.github.io":  "user.github.io",
		"com":               "com",
	} {
		if got := registrable(in); got != want {
			t.Errorf("registrable(%q) = %q, want %q", in, got, want)
		}
	}
}
