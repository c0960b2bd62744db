package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/crumb-consent/crumb/bench/internal/realserver"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

// crumbServer is the real Crumb server with one site for 127.0.0.1 on the
// default banner config, in a temporary data directory.
type crumbServer struct{ *realserver.Server }

// widgetPath is the site's widget.js path on the Crumb server.
func (c *crumbServer) widgetPath() string { return "/v1/sites/" + c.Site + "/widget.js" }

// widgetURL is the absolute widget.js URL a page's script tag uses.
func (c *crumbServer) widgetURL() string { return "http://" + c.Addr + c.widgetPath() }

func startCrumb(logger *slog.Logger) (*crumbServer, error) {
	s, err := realserver.Start(realserver.Options{Domains: []string{"127.0.0.1"}, Logger: logger})
	if err != nil {
		return nil, err
	}
	return &crumbServer{s}, nil
}

// asset is one static file with its compressed forms, made once at start.
type asset struct {
	contentType   string
	plain, gz, br []byte
}

// newAsset compresses b the way Crumb's server compresses widget.js: gzip
// and brotli at their best compression.
func newAsset(contentType string, b []byte) *asset {
	a := &asset{contentType: contentType, plain: b}
	var buf bytes.Buffer
	gw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	gw.Write(b)
	gw.Close()
	a.gz = bytes.Clone(buf.Bytes())
	buf.Reset()
	bw := brotli.NewWriterLevel(&buf, brotli.BestCompression)
	bw.Write(b)
	bw.Close()
	a.br = bytes.Clone(buf.Bytes())
	return a
}

// staticServer serves the comparison pages on one loopback origin (the
// "site") and the npm libraries' files on another (the "CDN"), so that every
// library, Crumb included, loads from a second origin as it would in
// production. Files are compressed like Crumb's widget.js: brotli when the
// client accepts it, else gzip, else plain.
type staticServer struct {
	site, cdn string // host:port
	srvs      []*http.Server
	mu        sync.RWMutex
	pages     map[string]*asset // path → page
	files     map[string]*asset // path under /lib/ → file
}

func startStatic() (_ *staticServer, err error) {
	s := &staticServer{pages: map[string]*asset{}, files: map[string]*asset{}}
	for _, addr := range []*string{&s.site, &s.cdn} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("static server: listen: %w", err)
		}
		*addr = ln.Addr().String()
		srv := &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
		s.srvs = append(s.srvs, srv)
		go srv.Serve(ln)
	}
	return s, nil
}

// addPage serves html at path on the site origin and returns its URL.
func (s *staticServer) addPage(path, html string) string {
	s.mu.Lock()
	s.pages[path] = newAsset("text/html; charset=utf-8", []byte(html))
	s.mu.Unlock()
	return "http://" + s.site + path
}

// addFile serves a library file at /lib/name on the CDN origin and returns
// its URL.
func (s *staticServer) addFile(name string, a *asset) string {
	s.mu.Lock()
	s.files["/lib/"+name] = a
	s.mu.Unlock()
	return "http://" + s.cdn + "/lib/" + name
}

func (s *staticServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	a, ok := s.pages[r.URL.Path]
	if !ok {
		a, ok = s.files[r.URL.Path]
	}
	s.mu.RUnlock()
	if !ok || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Accept-Encoding")
	h.Set("Access-Control-Allow-Origin", "*")
	body := a.plain
	switch enc := r.Header.Get("Accept-Encoding"); {
	case acceptsEncoding(enc, "br"):
		h.Set("Content-Encoding", "br")
		body = a.br
	case acceptsEncoding(enc, "gzip"):
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	w.Write(body)
}

// acceptsEncoding reports whether an Accept-Encoding header names enc with
// a non-zero q.
func acceptsEncoding(header, enc string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), enc) && strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0" {
			return true
		}
	}
	return false
}

func (s *staticServer) Close() error {
	var errs []error
	for _, srv := range s.srvs {
		errs = append(errs, srv.Close())
	}
	return errors.Join(errs...)
}
