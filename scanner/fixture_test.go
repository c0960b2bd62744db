package scanner

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
)

// loopbackResolver resolves the names it knows to loopback addresses, so
// fixtures can use real host names (site.test, tracker.test) while the
// traffic stays on loopback. Unknown names fail like NXDOMAIN.
type loopbackResolver map[string]string

func (r loopbackResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r[strings.ToLower(host)]; ok {
		return []netip.Addr{netip.MustParseAddr(a)}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

var testResolver = loopbackResolver{
	"site.test": "127.0.0.1", "www.site.test": "127.0.0.1", "shop.site.test": "127.0.0.1",
	"tracker.test": "127.0.0.1", "cdn.tracker.test": "127.0.0.1", "ads.test": "127.0.0.1",
	"other.test": "127.0.0.1", "widget.test": "127.0.0.1",
	// internal.site.test is "private" in tests that count only 127.0.0.1
	// as public (Options.isPublic).
	"internal.site.test": "127.0.0.2",
}

// fixture is an httptest server reachable as http://<host>:<port>.
type fixture struct {
	srv  *httptest.Server
	host string
}

func newFixture(t testing.TB, host string, h http.Handler) *fixture {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, host: host}
}

func newTLSFixture(t testing.TB, host string, h http.Handler) *fixture {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, host: host}
}

// url returns the fixture's URL for path under its host name.
func (f *fixture) url(path string) string {
	u, _ := url.Parse(f.srv.URL)
	u.Host = f.host + ":" + u.Port()
	return u.String() + path
}

// hostPort is host:port of the fixture under its name.
func (f *fixture) hostPort() string {
	u, _ := url.Parse(f.url("/"))
	return u.Host
}

// testOptions are the options every test scan starts from.
func testOptions(start string) Options {
	return Options{
		URL:          start,
		AllowPrivate: true,
		Resolver:     testResolver,
		Timeout:      5 * time.Second,
		Delay:        -1,
	}
}

// html writes an HTML page.
func html(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte("<!doctype html><html><head><title>t</title></head><body>" + body + "</body></html>"))
}

func findCookie(r *Report, name string) *Cookie {
	for i := range r.Cookies {
		if r.Cookies[i].Name == name {
			return &r.Cookies[i]
		}
	}
	return nil
}

func findPage(r *Report, u string) *Page {
	for i := range r.Pages {
		if r.Pages[i].URL == u {
			return &r.Pages[i]
		}
	}
	return nil
}

func findRequest(r *Report, u string) *Request {
	for i := range r.Requests {
		if r.Requests[i].URL == u {
			return &r.Requests[i]
		}
	}
	return nil
}

func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
