package scanner

// An audit of the private-address guard: each way a scan could reach a
// private address — by literal in any form, by name, through redirects,
// robots.txt and sitemaps, through the browser's proxy — refused with
// ErrPrivateTarget without AllowPrivate, and reached with it (the control
// that shows the vector really fires). Everything stays on loopback: tests
// count only 127.0.0.1 as public (onlyLoopback1), 127.0.0.2 plays the
// private network, and no test dials a non-loopback address.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/idna"
)

// auditResolver answers like a system resolver: names it knows (several
// answers for some, answers that change from one lookup to the next for
// others), IDNA names mapped to ASCII, a trailing dot ignored, and the IPv4
// forms the C library's getaddrinfo accepts (inet_aton: 2130706433,
// 0177.0.0.1, 0x7f.1, 127.1). It records every name it is asked.
type auditResolver struct {
	mu    sync.Mutex
	names map[string][]string
	seq   map[string][][]string // answers in turn, the last repeated (rebinding)
	calls map[string]int
	asked []string
}

func newAuditResolver() *auditResolver {
	return &auditResolver{names: map[string][]string{}, seq: map[string][][]string{}, calls: map[string]int{}}
}

func (r *auditResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, host)
	h := strings.TrimSuffix(host, ".")
	if a, ok := inetAton(h); ok {
		return []netip.Addr{a}, nil
	}
	if ascii, err := idna.Lookup.ToASCII(h); err == nil {
		h = ascii
	}
	h = strings.ToLower(h)
	answers, ok := r.names[h]
	if seq := r.seq[h]; len(seq) > 0 {
		answers, ok = seq[min(r.calls[h], len(seq)-1)], true
		r.calls[h]++
	}
	if !ok {
		if a, known := testResolver[h]; known {
			answers, ok = []string{a}, true
		}
	}
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	out := make([]netip.Addr, len(answers))
	for i, a := range answers {
		out[i] = netip.MustParseAddr(a)
	}
	return out, nil
}

func (r *auditResolver) wasAsked(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.asked, name)
}

// inetAton parses s as glibc's inet_aton does: one to four parts, each
// decimal, octal (leading 0) or hex (0x), the last filling the bytes left.
func inetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		base, digits := 10, p
		switch {
		case strings.HasPrefix(p, "0x") || strings.HasPrefix(p, "0X"):
			base, digits = 16, p[2:]
		case len(p) > 1 && p[0] == '0':
			base, digits = 8, p[1:]
		}
		v, err := strconv.ParseUint(digits, base, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	var n uint64
	for i, v := range vals[:len(vals)-1] {
		if v > 255 {
			return netip.Addr{}, false
		}
		n |= v << (24 - 8*i)
	}
	last := vals[len(vals)-1]
	if last >= 1<<(8*(5-len(vals))) {
		return netip.Addr{}, false
	}
	n |= last
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}

// TestGuardResolve: what the guard lets a scan dial, for literals in every
// form, names, and answers with several addresses. Nothing is dialed.
func TestGuardResolve(t *testing.T) {
	res := newAuditResolver()
	res.names["localhost"] = []string{"127.0.0.1", "::1"}
	res.names["metadata.google.internal"] = []string{"169.254.169.254"}
	res.names["v6loop.site.test"] = []string{"::1"}
	res.names["mapped.site.test"] = []string{"::ffff:10.0.0.1"}
	res.names["allprivate.site.test"] = []string{"10.0.0.1", "192.168.1.1", "fd00::1", "100.64.0.1"}
	res.names["mixed.site.test"] = []string{"10.0.0.1", "8.8.8.8", "::1"}
	res.names["public.site.test"] = []string{"93.184.216.34"}
	for _, tc := range []struct {
		host   string
		public []string // what may be dialed without AllowPrivate; nil: refused
	}{
		// Literals, one per refused range.
		{"127.0.0.1", nil}, {"127.255.255.254", nil}, {"::1", nil},
		{"0.0.0.0", nil}, {"0.1.2.3", nil}, {"::", nil},
		{"::ffff:127.0.0.1", nil}, {"::ffff:7f00:1", nil}, {"::127.0.0.1", nil},
		{"169.254.169.254", nil}, {"::ffff:169.254.169.254", nil}, {"fe80::1", nil}, {"febf::1", nil}, {"fe80::1%lo", nil},
		{"100.64.0.1", nil}, {"100.127.255.255", nil},
		{"fc00::1", nil}, {"fdff:ffff::1", nil}, {"fec0::1", nil},
		{"10.0.0.1", nil}, {"10.255.255.255", nil}, {"172.16.0.1", nil}, {"172.31.255.255", nil},
		{"192.168.0.1", nil}, {"192.168.255.255", nil},
		{"198.18.0.1", nil}, {"198.19.255.255", nil},
		{"224.0.0.1", nil}, {"239.255.255.250", nil}, {"ff02::1", nil}, {"ff0e::1", nil},
		{"255.255.255.255", nil}, {"240.0.0.1", nil},
		{"64:ff9b::a9fe:a9fe", nil}, {"2002:a9fe:a9fe::", nil}, // NAT64 and 6to4 forms of 169.254.169.254
		// IPv4 in the forms getaddrinfo accepts (not netip): the guard
		// judges the address the lookup returns.
		{"2130706433", nil}, {"0177.0.0.1", nil}, {"0x7f.1", nil}, {"0x7f000001", nil},
		{"127.1", nil}, {"0177.1", nil}, {"017700000001", nil}, {"127.0.0.1.", nil}, {"0xa9fea9fe", nil},
		// Names.
		{"localhost", nil}, {"localhost.", nil}, {"LOCALHOST", nil}, {"ⓛⓞⓒⓐⓛⓗⓞⓢⓣ", nil},
		{"metadata.google.internal", nil}, {"v6loop.site.test", nil}, {"mapped.site.test", nil},
		{"allprivate.site.test", nil},
		// One public answer among private ones: only it may be dialed.
		{"mixed.site.test", []string{"8.8.8.8"}},
		// Public controls, next to the edges of refused ranges.
		{"8.8.8.8", []string{"8.8.8.8"}}, {"2606:4700:4700::1111", []string{"2606:4700:4700::1111"}},
		{"100.128.0.1", []string{"100.128.0.1"}}, {"172.32.0.1", []string{"172.32.0.1"}},
		{"192.169.0.1", []string{"192.169.0.1"}}, {"198.20.0.1", []string{"198.20.0.1"}},
		{"::ffff:8.8.8.8", []string{"8.8.8.8"}}, {"public.site.test", []string{"93.184.216.34"}},
	} {
		t.Run(tc.host, func(t *testing.T) {
			ctx := context.Background()
			got, err := newGuard(false, nil, res, time.Second).resolve(ctx, tc.host)
			if tc.public == nil {
				if !errors.Is(err, ErrPrivateTarget) || got != nil {
					t.Fatalf("without AllowPrivate: %v, %v; want ErrPrivateTarget", got, err)
				}
				// The error names the host, never the address behind it.
				if a, _ := res.LookupNetIP(ctx, "ip", tc.host); !strings.Contains(tc.host, ":") && len(a) > 0 &&
					!strings.Contains(tc.host, a[0].String()) && strings.Contains(err.Error(), a[0].String()) {
					t.Errorf("error names the address: %v", err)
				}
			} else if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.public) {
				t.Fatalf("without AllowPrivate: %v, %v; want %v", got, err, tc.public)
			}
			all, err := newGuard(true, nil, res, time.Second).resolve(ctx, tc.host)
			if err != nil || len(all) == 0 {
				t.Fatalf("with AllowPrivate: %v, %v; want the addresses", all, err)
			}
		})
	}
}

// acceptedFrom reports whether the next connection ln accepts is the one
// the test makes now (so none came before it): it dials ln and compares
// the accepted connection's peer with the dialer's address.
func acceptedFrom(t *testing.T, ln net.Listener, network string) bool {
	t.Helper()
	c, err := net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return nextAccepted(t, ln, c)
}

// nextAccepted reports whether the next connection ln accepts is c.
func nextAccepted(t *testing.T, ln net.Listener, c net.Conn) bool {
	t.Helper()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	a, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	return a.RemoteAddr().String() == c.LocalAddr().String()
}

// TestGuardDial: dialing loopback in its many spellings is refused before
// any connection is made, and connects with AllowPrivate; ports that are not
// numbers in range never dial.
func TestGuardDial(t *testing.T) {
	ln4, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln4.Close()
	p4 := strconv.Itoa(ln4.Addr().(*net.TCPAddr).Port)
	res := newAuditResolver()
	res.names["localhost"] = []string{"127.0.0.1"}
	cases := []struct{ addr string }{
		{"127.0.0.1:" + p4}, {"0.0.0.0:" + p4}, {"[::ffff:127.0.0.1]:" + p4}, {"[::ffff:0.0.0.0]:" + p4},
		{"2130706433:" + p4}, {"0177.0.0.1:" + p4}, {"0x7f.1:" + p4}, {"127.1:" + p4}, {"127.0.0.1.:" + p4},
		{"localhost:" + p4}, {"LOCALHOST.:" + p4}, {"ⓛⓞⓒⓐⓛⓗⓞⓢⓣ:" + p4},
	}
	for _, tc := range cases {
		t.Run(tc.addr, func(t *testing.T) {
			_, err := newGuard(false, nil, res, time.Second).DialContext(context.Background(), "tcp", tc.addr)
			if !errors.Is(err, ErrPrivateTarget) {
				t.Fatalf("without AllowPrivate: err = %v, want ErrPrivateTarget", err)
			}
			if !acceptedFrom(t, ln4, "tcp4") {
				t.Fatal("refused dial reached the listener")
			}
			c, err := newGuard(true, nil, res, time.Second).DialContext(context.Background(), "tcp", tc.addr)
			if err != nil {
				t.Fatalf("with AllowPrivate: %v", err)
			}
			defer c.Close()
			if !nextAccepted(t, ln4, c) {
				t.Fatal("with AllowPrivate: the dial did not reach the listener")
			}
		})
	}
	if ln6, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		defer ln6.Close()
		p6 := strconv.Itoa(ln6.Addr().(*net.TCPAddr).Port)
		for _, addr := range []string{"[::1]:" + p6, "[::]:" + p6, "[0:0:0:0:0:0:0:1]:" + p6} {
			t.Run(addr, func(t *testing.T) {
				if _, err := newGuard(false, nil, res, time.Second).DialContext(context.Background(), "tcp", addr); !errors.Is(err, ErrPrivateTarget) {
					t.Fatalf("without AllowPrivate: err = %v, want ErrPrivateTarget", err)
				}
				if !acceptedFrom(t, ln6, "tcp6") {
					t.Fatal("refused dial reached the listener")
				}
				c, err := newGuard(true, nil, res, time.Second).DialContext(context.Background(), "tcp", addr)
				if err != nil {
					t.Fatalf("with AllowPrivate: %v", err)
				}
				defer c.Close()
				if !nextAccepted(t, ln6, c) {
					t.Fatal("with AllowPrivate: the dial did not reach the listener")
				}
			})
		}
	}
	// Ports: no restriction beyond a number in 0..65535 (any port of a
	// public host may be scanned); anything else never dials.
	for _, addr := range []string{"127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:http", "127.0.0.1", "127.0.0.1:" + p4 + "0000"} {
		for _, allow := range []bool{false, true} {
			if c, err := newGuard(allow, nil, res, time.Second).DialContext(context.Background(), "tcp", addr); err == nil {
				c.Close()
				t.Errorf("dial %s (AllowPrivate %v) connected", addr, allow)
			}
		}
	}
	if !acceptedFrom(t, ln4, "tcp4") {
		t.Error("a bad port reached the listener")
	}
}

// samePort listens on 127.0.0.1 and 127.0.0.2 at one port, so that one URL
// reaches either address depending on what the name resolves to.
func samePort(t *testing.T) (public, private net.Listener) {
	t.Helper()
	for range 20 {
		a, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		b, err := net.Listen("tcp", "127.0.0.2:"+strconv.Itoa(a.Addr().(*net.TCPAddr).Port))
		if err == nil {
			return a, b
		}
		a.Close()
	}
	t.Skip("cannot listen on 127.0.0.1 and 127.0.0.2 at the same port")
	return nil, nil
}

// pathLog records the paths a server was asked for.
type pathLog struct {
	mu    sync.Mutex
	paths map[string]int
}

func (l *pathLog) add(p string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.paths == nil {
		l.paths = map[string]int{}
	}
	l.paths[p]++
}

func (l *pathLog) count(p string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.paths[p]
}

func (l *pathLog) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.paths {
		n += c
	}
	return n
}

func (l *pathLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprint(l.paths)
}

// serveOn serves h on ln (TLS with httptest's certificate if tls).
func serveOn(t *testing.T, ln net.Listener, tls bool, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

// internalServer serves on ln (a 127.0.0.2 address), records each path and
// sets a cookie that must never appear in a refused scan's report.
func internalServer(t *testing.T, ln net.Listener, tls bool, log *pathLog) *httptest.Server {
	return serveOn(t, ln, tls, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.add(r.URL.Path)
		w.Header().Add("Set-Cookie", "internal_secret=1")
		switch {
		case strings.HasSuffix(r.URL.Path, ".xml"):
			w.Header().Set("Content-Type", "application/xml")
			w.Write([]byte(`<urlset><url><loc>/nested</loc></url></urlset>`))
		case r.URL.Path == "/robots.txt":
			w.Write([]byte("User-agent: *\nAllow: /\n"))
		default:
			html(w, "internal")
		}
	}))
}

// TestGuardRebinding: a name that answers a public address at the first
// lookup (the preflight check) and a private one afterwards. Every dial
// checks the address it connects to, so the private host is never reached.
func TestGuardRebinding(t *testing.T) {
	pubLn, privLn := samePort(t)
	port := strconv.Itoa(pubLn.Addr().(*net.TCPAddr).Port)
	var internal pathLog
	internalServer(t, privLn, false, &internal)
	serveOn(t, pubLn, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		html(w, `<a href="/next">next</a>`)
	}))

	// The dialer alone: first public, then private.
	res := newAuditResolver()
	res.seq["rebind.site.test"] = [][]string{{"127.0.0.1"}, {"127.0.0.2"}}
	g := newGuard(false, onlyLoopback1, res, time.Second)
	c, err := g.DialContext(context.Background(), "tcp", "rebind.site.test:"+port)
	if err != nil {
		t.Fatalf("first dial (public answer): %v", err)
	}
	c.Close()
	if _, err := g.DialContext(context.Background(), "tcp", "rebind.site.test:"+port); !errors.Is(err, ErrPrivateTarget) {
		t.Fatalf("second dial (private answer): err = %v, want ErrPrivateTarget", err)
	}

	// A whole scan: the preflight sees the public answer, every later dial
	// the private one.
	for _, allow := range []bool{false, true} {
		res := newAuditResolver()
		res.seq["rebind.site.test"] = [][]string{{"127.0.0.1"}, {"127.0.0.2"}}
		o := testOptions("http://rebind.site.test:" + port + "/")
		o.Resolver, o.isPublic, o.AllowPrivate = res, onlyLoopback1, allow
		before := internal.total()
		rep, err := Scan(testCtx(t, 20*time.Second), o)
		if err != nil {
			t.Fatalf("AllowPrivate %v: %v", allow, err)
		}
		reached := internal.total() - before
		switch {
		case !allow && reached != 0:
			t.Errorf("rebinding: the private address was reached %d times (%v)", reached, &internal)
		case !allow && (len(rep.Pages) != 1 || !strings.Contains(rep.Pages[0].Error, "private")):
			t.Errorf("rebinding: pages = %+v, want the start page failed as private", rep.Pages)
		case !allow && findCookie(rep, "internal_secret") != nil:
			t.Error("rebinding: cookie from the private address recorded")
		case allow && reached == 0:
			t.Error("control: with AllowPrivate the rebound address was not reached")
		}
	}
}

// TestGuardSeveralAddresses: a name with a private and a public address is
// dialed at the public one only; with AllowPrivate the private one (first
// in the answer) is used.
func TestGuardSeveralAddresses(t *testing.T) {
	pubLn, privLn := samePort(t)
	port := strconv.Itoa(pubLn.Addr().(*net.TCPAddr).Port)
	var internal, public pathLog
	internalServer(t, privLn, false, &internal)
	serveOn(t, pubLn, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		public.add(r.URL.Path)
		html(w, "public")
	}))
	for _, allow := range []bool{false, true} {
		res := newAuditResolver()
		res.names["multi.site.test"] = []string{"127.0.0.2", "127.0.0.1"}
		o := testOptions("http://multi.site.test:" + port + "/")
		o.Resolver, o.isPublic, o.AllowPrivate = res, onlyLoopback1, allow
		ib, pb := internal.count("/"), public.count("/")
		rep, err := Scan(testCtx(t, 20*time.Second), o)
		if err != nil {
			t.Fatalf("AllowPrivate %v: %v", allow, err)
		}
		if !allow && (internal.count("/") != ib || public.count("/") != pb+1 || rep.Pages[0].Status != 200) {
			t.Errorf("without AllowPrivate: internal %v, public %v, pages %+v; want the public address only", &internal, &public, rep.Pages)
		}
		if allow && internal.count("/") == ib {
			t.Errorf("control: with AllowPrivate the first (private) address was not used")
		}
	}
	// Only private answers: refused up front.
	res := newAuditResolver()
	res.names["multi.site.test"] = []string{"127.0.0.2", "127.0.0.3", "::1"}
	o := testOptions("http://multi.site.test:" + port + "/")
	o.Resolver, o.isPublic, o.AllowPrivate = res, onlyLoopback1, false
	if rep, err := Scan(testCtx(t, 10*time.Second), o); !errors.Is(err, ErrPrivateTarget) || rep != nil {
		t.Errorf("only private answers: %v, %v; want ErrPrivateTarget", rep, err)
	}
}

// TestCollyPrivateVectors: every way the colly engine could be led to a
// private host — links, redirects of each code, robots.txt Sitemap lines,
// sitemap entries and indexes — with a control scan that shows each one
// is followed when AllowPrivate is set.
func TestCollyPrivateVectors(t *testing.T) {
	privLn, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2: %v", err)
	}
	var internal pathLog
	isrv := internalServer(t, privLn, false, &internal)
	in := func(path string) string {
		return "http://internal.site.test:" + strconv.Itoa(isrv.Listener.Addr().(*net.TCPAddr).Port) + path
	}
	literal := strings.Replace(in("/v-literal"), "internal.site.test", "127.0.0.2", 1)
	codes := []int{301, 302, 303, 307, 308}
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "User-agent: *\nAllow: /\nSitemap: %s\n", in("/v-robots-sitemap.xml"))
	})
	mux.HandleFunc("/sitemap.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<?xml version="1.0"?><sitemapindex><sitemap><loc>%s</loc></sitemap></sitemapindex>`, "/urls.xml")
	})
	mux.HandleFunc("/urls.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<urlset><url><loc>%s</loc></url></urlset>`, in("/v-sitemap-loc"))
	})
	mux.HandleFunc("/r/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		http.Redirect(w, r, in("/v-redirect-"+r.PathValue("code")), code)
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		for _, c := range codes {
			fmt.Fprintf(&b, `<a href="/r/%d">r</a>`, c)
		}
		fmt.Fprintf(&b, `<a href="%s">link</a>`, in("/v-link"))
		fmt.Fprintf(&b, `<a href="%s">upper</a>`, strings.Replace(in("/v-upper"), "internal.site.test", "INTERNAL.Site.Test", 1))
		fmt.Fprintf(&b, `<a href="%s">dot</a>`, strings.Replace(in("/v-dot"), "internal.site.test", "internal.site.test.", 1))
		fmt.Fprintf(&b, `<a href="%s">userinfo</a>`, strings.Replace(in("/v-userinfo"), "internal.", "site.test@internal.", 1))
		fmt.Fprintf(&b, `<a href="%s">literal</a>`, literal)
		fmt.Fprintf(&b, `<meta http-equiv="refresh" content="0;url=%s">`, in("/v-meta"))
		for _, s := range []string{"file:///etc/passwd", "ftp://internal.site.test/v-ftp", "gopher://internal.site.test:70/v-gopher",
			"ws://internal.site.test/v-ws", "data:text/html,x", "javascript:location='" + in("/v-js") + "'"} {
			fmt.Fprintf(&b, `<a href="%s">scheme</a>`, s)
		}
		html(w, b.String())
	})
	site := newFixture(t, "site.test", mux)

	vectors := []struct {
		path  string
		fires bool // reached in the control scan; false: the engine never follows it at all
	}{
		{"/v-link", true}, {"/v-upper", true}, {"/v-dot", true},
		{"/v-redirect-301", true}, {"/v-redirect-302", true}, {"/v-redirect-303", true},
		{"/v-redirect-307", true}, {"/v-redirect-308", true},
		{"/v-robots-sitemap.xml", true}, {"/v-sitemap-loc", true}, {"/nested", true}, {"/robots.txt", true},
		{"/v-userinfo", false}, // user info in a link: not crawled
		{"/v-literal", false},  // another site (127.0.0.2): not crawled
		{"/v-meta", false},     // colly does not follow meta refresh
		{"/v-js", false}, {"/v-ftp", false}, {"/v-gopher", false}, {"/v-ws", false},
	}
	res := newAuditResolver()
	for _, allow := range []bool{false, true} {
		o := testOptions(site.url("/"))
		o.Resolver, o.isPublic, o.AllowPrivate = res, onlyLoopback1, allow
		before := map[string]int{}
		for _, v := range vectors {
			before[v.path] = internal.count(v.path)
		}
		tb := internal.total()
		rep, err := Scan(testCtx(t, 20*time.Second), o)
		if err != nil {
			t.Fatalf("AllowPrivate %v: %v", allow, err)
		}
		if p := findPage(rep, site.url("/")); p == nil || p.Status != 200 {
			t.Fatalf("AllowPrivate %v: start page %+v", allow, p)
		}
		if !allow {
			if n := internal.total() - tb; n != 0 {
				t.Errorf("without AllowPrivate the private host was reached %d times: %v", n, &internal)
			}
			if findCookie(rep, "internal_secret") != nil {
				t.Error("cookie from the private host recorded")
			}
			for _, c := range codes {
				if p := findPage(rep, site.url(fmt.Sprintf("/r/%d", c))); p == nil || !strings.Contains(p.Error, "private") {
					t.Errorf("redirect %d to the private host: page %+v, want a private-target error", c, p)
				}
			}
			if p := findPage(rep, in("/v-link")); p == nil || !strings.Contains(p.Error, "private") {
				t.Errorf("link to the private host: page %+v, want a private-target error", p)
			}
			continue
		}
		for _, v := range vectors {
			if got := internal.count(v.path) > before[v.path]; got != v.fires {
				t.Errorf("control: %s reached = %v, want %v (%v)", v.path, got, v.fires, &internal)
			}
		}
	}
}

// proxyExchange sends raw request text to the proxy and returns the status
// of its answer; after a 200 to a CONNECT it sends a GET of tunnelPath
// through the tunnel and returns that answer's status instead.
func proxyExchange(t *testing.T, proxyAddr, raw, tunnelPath string) int {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0
	}
	if !strings.HasPrefix(raw, "CONNECT") || resp.StatusCode != 200 {
		resp.Body.Close()
		return resp.StatusCode
	}
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", tunnelPath)
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestProxyPrivateVectors: what the chrome engine's proxy does with each
// form of request a browser (or anything else on the machine) could send
// it, without and with AllowPrivate.
func TestProxyPrivateVectors(t *testing.T) {
	privLn, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2: %v", err)
	}
	var internal, public pathLog
	q := strconv.Itoa(privLn.Addr().(*net.TCPAddr).Port)
	internalServer(t, privLn, false, &internal)
	site := newFixture(t, "site.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		public.add(r.URL.Path)
		html(w, "public")
	}))
	req := func(method, target, host string) string {
		return method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
	}
	for _, tc := range []struct {
		name, raw, path string
		allowed         int // status with AllowPrivate (0: not checked); without it, 403 unless bad
		bad             int // status in both modes for requests the proxy never forwards
	}{
		{"by name", req("GET", "http://internal.site.test:"+q+"/p-name", "internal.site.test:"+q), "/p-name", 200, 0},
		{"literal", req("GET", "http://127.0.0.2:"+q+"/p-literal", "127.0.0.2:"+q), "/p-literal", 200, 0},
		{"mapped", req("GET", "http://[::ffff:127.0.0.2]:"+q+"/p-mapped", "x"), "/p-mapped", 200, 0},
		{"decimal", req("GET", "http://2130706434:"+q+"/p-decimal", "x"), "/p-decimal", 200, 0},
		{"trailing dot", req("GET", "http://internal.site.test.:"+q+"/p-dot", "x"), "/p-dot", 200, 0},
		{"userinfo", req("GET", "http://site.test@internal.site.test:"+q+"/p-userinfo", "x"), "/p-userinfo", 200, 0},
		{"ws", req("GET", "ws://internal.site.test:"+q+"/p-ws", "x"), "/p-ws", 0, 502}, // the transport has no ws: (browsers tunnel WebSockets)
		{"upgrade", "GET http://internal.site.test:" + q + "/p-upgrade HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", "/p-upgrade", 200, 0},
		{"CONNECT name", req("CONNECT", "internal.site.test:"+q, "internal.site.test:"+q), "/c-name", 200, 0},
		{"CONNECT literal", req("CONNECT", "127.0.0.2:"+q, "127.0.0.2:"+q), "/c-literal", 200, 0},
		{"CONNECT mapped", req("CONNECT", "[::ffff:127.0.0.2]:"+q, "x"), "/c-mapped", 200, 0},
		{"CONNECT short", req("CONNECT", "127.2:"+q, "x"), "/c-short", 200, 0},
		{"CONNECT path form", req("CONNECT", "/c-path", "127.0.0.2:"+q), "/c-pathform", 200, 0},
		{"CONNECT absolute", req("CONNECT", "http://127.0.0.2:"+q+"/", "127.0.0.2:"+q), "/c-abs", 0, 0},
		// Never forwarded.
		{"https absolute", req("GET", "https://127.0.0.2:"+q+"/p-https", "x"), "/p-https", 0, 400},
		{"ftp", req("GET", "ftp://127.0.0.2:"+q+"/p-ftp", "x"), "/p-ftp", 0, 400},
		{"gopher", req("GET", "gopher://127.0.0.2:"+q+"/p-gopher", "x"), "/p-gopher", 0, 400},
		{"file", req("GET", "file:///etc/passwd", "x"), "/etc/passwd", 0, 400},
		{"relative", req("GET", "/p-relative", "127.0.0.2:"+q), "/p-relative", 0, 400},
		// The Host header does not steer the connection.
		{"host header", req("GET", site.url("/p-host"), "internal.site.test:"+q), "/p-host", 0, 0},
	} {
		for _, allow := range []bool{false, true} {
			g := newGuard(allow, onlyLoopback1, newAuditResolver(), 2*time.Second)
			px, err := startProxy(context.Background(), g, 2*time.Second, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			before := internal.count(tc.path)
			hostBefore := public.count("/p-host")
			status := proxyExchange(t, px.ln.Addr().String(), tc.raw, tc.path)
			px.Close()
			reached := internal.count(tc.path) > before
			switch {
			case tc.bad != 0 && (status != tc.bad || reached):
				t.Errorf("%s (AllowPrivate %v): status %d, reached %v; want %d and not reached", tc.name, allow, status, reached, tc.bad)
			case tc.bad == 0 && !allow && (status != http.StatusForbidden || reached) && tc.name != "host header" && tc.name != "CONNECT absolute":
				t.Errorf("%s without AllowPrivate: status %d, reached %v; want 403 and not reached", tc.name, status, reached)
			case tc.bad == 0 && (tc.name == "host header" || tc.name == "CONNECT absolute") && reached:
				t.Errorf("%s (AllowPrivate %v): the private host was reached (status %d)", tc.name, allow, status)
			case tc.bad == 0 && allow && tc.allowed != 0 && (status != tc.allowed || !reached):
				t.Errorf("control %s: status %d, reached %v; want %d and reached", tc.name, status, reached, tc.allowed)
			case tc.name == "host header" && (status != 200 || public.count("/p-host") != hostBefore+1):
				t.Errorf("host header (AllowPrivate %v): status %d, want 200 from the URL's host", allow, status)
			}
		}
	}
}

// TestChromePrivateVectors: a page that tries every way a browser has to
// reach a private host — subresources by name and by IPv4 literals in the
// forms browsers accept, redirects, frames, meta refresh and script
// navigation inside frames, fetch, beacons, EventSource, WebSocket over ws:
// and wss:, HTTPS, link-local and *.localhost hosts, WebRTC STUN over UDP
// and TURN over TCP. Without AllowPrivate nothing reaches 127.0.0.2 and the
// guard sees the link-local and localhost targets (the browser sent them to
// the proxy rather than connecting itself); the control run shows which
// vectors fire at all.
func TestChromePrivateVectors(t *testing.T) {
	b := needBrowser(t)
	plainLn, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2: %v", err)
	}
	tlsLn, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	turnLn, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer turnLn.Close()
	stun, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stun.Close()
	var internal pathLog
	go func() {
		for {
			c, err := turnLn.Accept()
			if err != nil {
				return
			}
			internal.add("turn-tcp")
			c.Close()
		}
	}()
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := stun.ReadFrom(buf); err != nil {
				return
			}
			internal.add("stun-udp")
		}
	}()
	internalServer(t, plainLn, false, &internal)
	internalServer(t, tlsLn, true, &internal)
	port := func(l net.Listener) string { return strconv.Itoa(l.Addr().(*net.TCPAddr).Port) }
	q, r := port(plainLn), port(tlsLn)
	in := func(host, path string) string { return "http://" + host + ":" + q + path }

	mux := http.NewServeMux()
	mux.HandleFunc("/redir/{code}", func(w http.ResponseWriter, req *http.Request) {
		code, _ := strconv.Atoi(req.PathValue("code"))
		http.Redirect(w, req, in("internal.site.test", "/c-redirect-"+req.PathValue("code")), code)
	})
	mux.HandleFunc("/meta", func(w http.ResponseWriter, req *http.Request) {
		html(w, `<meta http-equiv="refresh" content="0;url=`+in("internal.site.test", "/c-meta")+`">`)
	})
	mux.HandleFunc("/js", func(w http.ResponseWriter, req *http.Request) {
		html(w, `<script>location.href = "`+in("internal.site.test", "/c-js")+`"</script>`)
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, req *http.Request) {
		var sb strings.Builder
		for _, h := range []struct{ host, path string }{
			{"internal.site.test", "/c-img-name"}, {"INTERNAL.SITE.TEST", "/c-img-upper"}, {"internal.site.test.", "/c-img-dot"},
			{"2130706434", "/c-decimal"}, {"0177.0.0.2", "/c-octal"}, {"0x7f.0.0.2", "/c-hex"}, {"127.2", "/c-short"},
			{"127.0.0.2.", "/c-literal-dot"}, {"[::ffff:127.0.0.2]", "/c-mapped"}, {"site.test@internal.site.test", "/c-userinfo"},
		} {
			fmt.Fprintf(&sb, `<img src="%s">`, in(h.host, h.path))
		}
		for _, c := range []int{301, 302, 303, 307, 308} {
			fmt.Fprintf(&sb, `<img src="/redir/%d">`, c)
		}
		fmt.Fprintf(&sb, `<img src="https://internal.site.test:%s/c-https">`, r)
		fmt.Fprintf(&sb, `<iframe src="%s"></iframe><iframe src="/meta"></iframe><iframe src="/js"></iframe>`, in("internal.site.test", "/c-frame"))
		fmt.Fprintf(&sb, `<script>
const quiet = f => { try { const p = f(); if (p && p.catch) p.catch(() => {}) } catch (e) {} };
quiet(() => fetch(%q, {mode: "no-cors"}));
quiet(() => navigator.sendBeacon(%q, "x"));
quiet(() => { const es = new EventSource(%q); setTimeout(() => es.close(), 1000) });
quiet(() => new WebSocket(%q));
quiet(() => new WebSocket("wss://internal.site.test:%s/c-wss"));
quiet(() => fetch("http://[fe80::1]:%s/c-linklocal", {mode: "no-cors"}));
quiet(() => fetch(%q, {mode: "no-cors"}));
const rtc = (PC) => {
  const pc = new PC({iceServers: [{urls: "stun:127.0.0.2:%[8]d"},
    {urls: "turn:127.0.0.2:%[9]s?transport=tcp", username: "u", credential: "p"}]});
  pc.createDataChannel("x");
  return pc.createOffer().then(o => pc.setLocalDescription(o));
};
quiet(() => rtc(window.RTCPeerConnection || window.webkitRTCPeerConnection));
quiet(() => { // a fresh frame's own copy of the constructor
  const f = document.createElement("iframe");
  document.body.appendChild(f);
  return rtc(f.contentWindow.RTCPeerConnection || f.contentWindow.webkitRTCPeerConnection);
});
</script>`, in("internal.site.test", "/c-fetch"), in("internal.site.test", "/c-beacon"), in("internal.site.test", "/c-sse"),
			strings.Replace(in("internal.site.test", "/c-ws"), "http:", "ws:", 1), r, q,
			in("crumb-audit.localhost", "/c-localhost"), stun.LocalAddr().(*net.UDPAddr).Port, port(turnLn))
		html(w, sb.String())
	})
	site := newFixture(t, "site.test", mux)

	vectors := []struct {
		path  string
		fires bool // reached in the control run
	}{
		{"/c-img-name", true}, {"/c-img-upper", true}, {"/c-img-dot", true},
		{"/c-decimal", true}, {"/c-octal", true}, {"/c-hex", true}, {"/c-short", true},
		{"/c-literal-dot", true}, {"/c-mapped", true},
		{"/c-userinfo", false}, // Chrome blocks subresource URLs with credentials
		{"/c-redirect-301", true}, {"/c-redirect-302", true}, {"/c-redirect-303", true},
		{"/c-redirect-307", true}, {"/c-redirect-308", true},
		{"/c-https", true}, {"/c-frame", true}, {"/c-meta", true}, {"/c-js", true},
		{"/c-fetch", true}, {"/c-beacon", true}, {"/c-sse", true}, {"/c-ws", true}, {"/c-wss", true},
		// WebRTC would send STUN over UDP straight to the address the page
		// names, past the proxy (it did, before hook.js removed
		// RTCPeerConnection from every frame: no Chromium switch or
		// preference stops it), and TURN over TCP through the proxy. With
		// WebRTC gone neither happens, allowed or not.
		{"stun-udp", false},
		{"turn-tcp", false},
	}
	for _, allow := range []bool{false, true} {
		var seenMu sync.Mutex
		var seen []netip.Addr
		res := newAuditResolver()
		o := testOptions(site.url("/"))
		o.Engine, o.Browser, o.Pages = EngineChrome, b, 1
		o.Resolver, o.AllowPrivate = res, allow
		o.isPublic = func(a netip.Addr) bool {
			seenMu.Lock()
			seen = append(seen, a)
			seenMu.Unlock()
			return onlyLoopback1(a)
		}
		before := map[string]int{}
		for _, v := range vectors {
			before[v.path] = internal.count(v.path)
		}
		tb := internal.total()
		rep, err := Scan(testCtx(t, 60*time.Second), o)
		if err != nil {
			t.Fatalf("AllowPrivate %v: %v", allow, err)
		}
		if len(rep.Pages) != 1 || rep.Pages[0].Status != 200 {
			t.Fatalf("AllowPrivate %v: pages %+v", allow, rep.Pages)
		}
		if !allow {
			if n := internal.total() - tb; n != 0 {
				t.Errorf("without AllowPrivate the private host was reached %d times: %v", n, &internal)
			}
			if findCookie(rep, "internal_secret") != nil {
				t.Error("cookie from the private host recorded")
			}
			seenMu.Lock()
			for _, a := range []string{"127.0.0.2", "fe80::1"} {
				if !slices.Contains(seen, netip.MustParseAddr(a)) {
					t.Errorf("the guard never saw %s: the browser did not send it through the proxy (saw %v)", a, seen)
				}
			}
			seenMu.Unlock()
			if !res.wasAsked("crumb-audit.localhost") {
				t.Error("the guard never resolved crumb-audit.localhost: the browser did not send it through the proxy")
			}
			continue
		}
		for _, v := range vectors {
			if got := internal.count(v.path) > before[v.path]; got != v.fires {
				t.Errorf("control: %s reached = %v, want %v (%v)", v.path, got, v.fires, &internal)
			}
		}
	}
}
