package scanner

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/temoto/robotstxt"
)

// parseSitemap reads a sitemap (sitemaps.org protocol): an XML <urlset> of
// <url><loc> page URLs, an XML <sitemapindex> of <sitemap><loc> sitemap URLs,
// or a plain-text list of URLs, one a line. Gzip input is unpacked. It reads
// at most limit bytes (after unpacking) and returns at most max locations of
// each kind; what it cannot parse it leaves out.
func parseSitemap(r io.Reader, limit int64, max int) (pages, sitemaps []string, err error) {
	br := bufio.NewReader(io.LimitReader(r, limit))
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("scanner: sitemap: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReader(io.LimitReader(zr, limit))
	}
	// Skip a byte-order mark and leading space to tell XML from text.
	for {
		b, err := br.Peek(1)
		if err != nil {
			return nil, nil, nil // empty
		}
		if b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n' {
			br.Discard(1)
			continue
		}
		if bom, _ := br.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
			br.Discard(3)
			continue
		}
		break
	}
	if b, _ := br.Peek(1); b[0] != '<' {
		sc := bufio.NewScanner(br)
		sc.Buffer(make([]byte, 0, 4096), 64<<10)
		for sc.Scan() && len(pages) < max {
			if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "http://") || strings.HasPrefix(line, "https://") {
				pages = append(pages, line)
			}
		}
		return pages, nil, nil
	}

	d := xml.NewDecoder(br)
	d.Strict = false
	d.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	var parent string // "url" or "sitemap" while inside one
	inLoc := false
	var loc strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return pages, sitemaps, nil
			}
			// Keep what came before the error: sitemaps are often truncated.
			return pages, sitemaps, nil
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch strings.ToLower(t.Name.Local) {
			case "url":
				parent = "url"
			case "sitemap":
				parent = "sitemap"
			case "loc":
				inLoc = parent != ""
				loc.Reset()
			}
		case xml.CharData:
			if inLoc && loc.Len() < 4096 {
				loc.Write(t)
			}
		case xml.EndElement:
			switch strings.ToLower(t.Name.Local) {
			case "loc":
				if inLoc {
					s := strings.TrimSpace(loc.String())
					if parent == "url" && len(pages) < max {
						pages = append(pages, s)
					} else if parent == "sitemap" && len(sitemaps) < max {
						sitemaps = append(sitemaps, s)
					}
				}
				inLoc = false
			case "url", "sitemap":
				parent = ""
			}
		}
		if len(pages) >= max && len(sitemaps) >= max {
			return pages, sitemaps, nil
		}
	}
}

// discoverPages finds up to max page URLs on the site from its sitemaps: the
// Sitemap lines of robots.txt and /sitemap.xml, following sitemap indexes,
// at most maxSitemaps documents. Failures are not errors: a site without a
// sitemap is crawled from its links.
func discoverPages(ctx context.Context, client *http.Client, start *url.URL, s site, ua string, maxBody int64, max int) []string {
	root := &url.URL{Scheme: start.Scheme, Host: start.Host}
	var queue []string
	if body, status, err := fetch(ctx, client, root.JoinPath("robots.txt").String(), ua, maxBody); err == nil && status == http.StatusOK {
		if rd, err := robotstxt.FromBytes(body); err == nil {
			queue = append(queue, rd.Sitemaps...)
		}
	}
	queue = append(queue, root.JoinPath("sitemap.xml").String())

	seenMap := map[string]bool{}
	seenPage := map[string]bool{}
	var pages []string
	for fetched := 0; len(queue) > 0 && fetched < maxSitemaps && len(pages) < max && ctx.Err() == nil; {
		raw := queue[0]
		queue = queue[1:]
		u, ok := normalizePage(root, raw)
		if !ok || !s.containsURL(u) || seenMap[u.String()] {
			continue
		}
		seenMap[u.String()] = true
		fetched++
		body, status, err := fetch(ctx, client, u.String(), ua, maxBody)
		if err != nil || status != http.StatusOK {
			continue
		}
		ps, maps, _ := parseSitemap(bytes.NewReader(body), maxBody, max)
		for _, p := range ps {
			if pu, ok := normalizePage(u, p); ok && s.containsURL(pu) && !seenPage[pu.String()] && len(pages) < max {
				seenPage[pu.String()] = true
				pages = append(pages, pu.String())
			}
		}
		queue = append(queue, maps...)
	}
	return pages
}

// fetch GETs raw with the scan's client and returns at most maxBody bytes.
func fetch(ctx context.Context, client *http.Client, raw, ua string, maxBody int64) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("User-Agent", ua)
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	return body, resp.StatusCode, err
}
