package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

// Size is what a library serves a visitor, JS and CSS together.
type Size struct {
	Library string   `json:"library"`
	Version string   `json:"version"`
	Files   []string `json:"files"`
	Raw     int      `json:"raw_bytes"`
	Gzip    int      `json:"gzip_bytes"`
	Brotli  int      `json:"brotli_bytes"`
}

// npmSize sums a comparison library's files, each gzip'd and brotli'd at
// best compression (level 9 and 11) as a file server or CDN would serve it.
func npmSize(l *loadedLib) Size {
	s := Size{Library: l.name, Version: l.version}
	for _, f := range l.files {
		s.Files = append(s.Files, f.name)
		s.Raw += len(f.a.plain)
		s.Gzip += len(f.a.gz)
		s.Brotli += len(f.a.br)
	}
	return s
}

// crumbSize fetches widget.js for one language (Accept-Language: en) from
// the real server three times, plain, gzip and brotli, and measures the
// bodies exactly as served. It checks that the compressed bodies are what
// they claim to be and decode to the plain one.
func crumbSize(ctx context.Context, c *crumbServer) (Size, error) {
	s := Size{Library: libCrumb, Version: "default config", Files: []string{"widget.js (Accept-Language: en)"}}
	plain, err := fetchWidget(ctx, c, "identity")
	if err != nil {
		return s, err
	}
	gz, err := fetchWidget(ctx, c, "gzip")
	if err != nil {
		return s, err
	}
	br, err := fetchWidget(ctx, c, "br")
	if err != nil {
		return s, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return s, fmt.Errorf("crumb size: gzip body: %w", err)
	}
	fromGz, err := io.ReadAll(zr)
	if err != nil {
		return s, fmt.Errorf("crumb size: gzip body: %w", err)
	}
	fromBr, err := io.ReadAll(brotli.NewReader(bytes.NewReader(br)))
	if err != nil {
		return s, fmt.Errorf("crumb size: brotli body: %w", err)
	}
	if !bytes.Equal(fromGz, plain) || !bytes.Equal(fromBr, plain) {
		return s, fmt.Errorf("crumb size: compressed widget.js differs from the plain one")
	}
	s.Raw, s.Gzip, s.Brotli = len(plain), len(gz), len(br)
	return s, nil
}

// fetchWidget GETs widget.js with the given Accept-Encoding and returns the
// body as sent on the wire.
func fetchWidget(ctx context.Context, c *crumbServer, enc string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.widgetURL(), nil)
	if err != nil {
		return nil, err
	}
	// Set explicitly, so that the transport neither adds gzip nor decodes.
	req.Header.Set("Accept-Encoding", enc)
	req.Header.Set("Accept-Language", "en")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("crumb size: GET widget.js (%s): %w", enc, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("crumb size: GET widget.js (%s): %w", enc, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("crumb size: GET widget.js (%s): status %d: %.200s", enc, resp.StatusCode, body)
	}
	want := enc
	if enc == "identity" {
		want = ""
	}
	if got := resp.Header.Get("Content-Encoding"); got != want {
		return nil, fmt.Errorf("crumb size: GET widget.js with Accept-Encoding %s: Content-Encoding %q", enc, got)
	}
	if len(body) == 0 {
		return nil, fmt.Errorf("crumb size: GET widget.js (%s): empty body", enc)
	}
	return body, nil
}
