package scanner

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"time"
)

// guardProxy is a local HTTP proxy on 127.0.0.1 that connects only where the
// scan's guard allows. The chrome engine points each browser context at it
// (with the bypass list "<-loopback>", so even loopback targets go through
// it), which gives the browser the same private-address check — after DNS,
// done by the proxy — and the same resolver as the colly engine.
type guardProxy struct {
	g       *guard
	maxBody int64 // cap of an HTML or XML response body; other bodies and tunnels get tunnelFactor times it
	ln      net.Listener
	srv     *http.Server
	rp      *httputil.ReverseProxy

	mu      sync.Mutex
	tunnels map[net.Conn]struct{}
	closed  bool
	wg      sync.WaitGroup
}

// tunnelFactor: bodies other than documents (scripts, images, media) and
// HTTPS tunnels, whose content the proxy cannot see, may be this many times
// Options.MaxBodyBytes.
const tunnelFactor = 16

func startProxy(ctx context.Context, g *guard, timeout time.Duration, maxBody int64) (*guardProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &guardProxy{g: g, maxBody: maxBody, ln: ln, tunnels: map[net.Conn]struct{}{}}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           g.DialContext,
		ForceAttemptHTTP2:     false,
		ResponseHeaderTimeout: timeout,
		TLSHandshakeTimeout:   timeout,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       30 * time.Second,
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { pr.Out.URL = pr.In.URL },
		Transport:     tr,
		FlushInterval: -1,
		ErrorLog:      log.New(io.Discard, "", 0),
		ModifyResponse: func(resp *http.Response) error {
			// A hostile page cannot make the browser parse an endless
			// document: bodies end at their cap.
			limit := p.maxBody * tunnelFactor
			if ct := resp.Header.Get("Content-Type"); strings.Contains(ct, "html") || strings.Contains(ct, "xml") {
				limit = p.maxBody
			}
			if resp.ContentLength > limit {
				resp.Header.Del("Content-Length")
				resp.ContentLength = -1
			}
			resp.Body = &cappedBody{rc: resp.Body, left: limit, done: func() {}}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.WriteHeader(proxyStatus(err))
		},
	}
	p.srv = &http.Server{
		Handler:           p,
		ReadHeaderTimeout: timeout,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go p.srv.Serve(ln)
	return p, nil
}

func proxyStatus(err error) int {
	if errors.Is(err, ErrPrivateTarget) {
		return http.StatusForbidden
	}
	return http.StatusBadGateway
}

func (p *guardProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *guardProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		p.tunnel(w, r)
		return
	}
	if !r.URL.IsAbs() || (r.URL.Scheme != "http" && r.URL.Scheme != "ws") {
		http.Error(w, "proxy: absolute http URL required", http.StatusBadRequest)
		return
	}
	p.rp.ServeHTTP(w, r)
}

// tunnel serves CONNECT (HTTPS, WSS): it dials through the guard and copies
// bytes both ways.
func (p *guardProxy) tunnel(w http.ResponseWriter, r *http.Request) {
	up, err := p.g.DialContext(r.Context(), "tcp", r.Host)
	if err != nil {
		w.WriteHeader(proxyStatus(err))
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		up.Close()
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	down, brw, err := hj.Hijack()
	if err != nil {
		up.Close()
		return
	}
	if !p.track(up, down) {
		up.Close()
		down.Close()
		return
	}
	defer p.wg.Done()
	defer p.untrack(up, down)
	if _, err := down.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n")); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() {
		// Bytes the client sent after its CONNECT may sit in brw already.
		if n := brw.Reader.Buffered(); n > 0 {
			b, _ := brw.Reader.Peek(n)
			up.Write(b)
		}
		io.Copy(up, down)
		closeWrite(up)
		done <- struct{}{}
	}()
	go func() {
		io.CopyN(down, up, p.maxBody*tunnelFactor)
		closeWrite(down)
		done <- struct{}{}
	}()
	select {
	case <-done:
		<-done
	case <-r.Context().Done():
	}
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	} else {
		c.Close()
	}
}

func (p *guardProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for _, c := range cs {
		p.tunnels[c] = struct{}{}
	}
	p.wg.Add(1)
	return true
}

func (p *guardProxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		c.Close()
		delete(p.tunnels, c)
	}
}

// Close stops the proxy and every open tunnel, and waits for them.
func (p *guardProxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.tunnels {
		c.Close()
	}
	p.mu.Unlock()
	err := p.srv.Close()
	p.wg.Wait()
	if tr, ok := p.rp.Transport.(*http.Transport); ok {
		tr.CloseIdleConnections()
	}
	return err
}
