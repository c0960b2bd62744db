package scanner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
)

// browserNames are the executables FindBrowser looks for on PATH, then the
// absolute paths.
var browserNames = []string{
	"chromium", "chromium-browser", "google-chrome", "google-chrome-stable",
	"headless_shell", "headless-shell", "chrome",
	"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome",
	"/snap/bin/chromium", "/Applications/Chromium.app/Contents/MacOS/Chromium",
	"/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
}

// FindBrowser returns the path of a Chromium or Chrome executable, or an
// error wrapping ErrNoBrowser.
func FindBrowser() (string, error) {
	for _, n := range browserNames {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", ErrNoBrowser
}

// BrowserOptions configure NewBrowser.
type BrowserOptions struct {
	// ExecPath is the Chromium or Chrome executable; "" uses FindBrowser.
	ExecPath string
	// StartTimeout bounds the start of the browser; default 30s.
	StartTimeout time.Duration

	// ignoreCertErrors lets tests serve third parties over HTTPS with
	// httptest's certificate under made-up host names.
	ignoreCertErrors bool
}

// Browser is a running headless Chromium that scans share: each page runs in
// a fresh browser context of it (its own cookies, storage and cache, and its
// own proxy), so scans running at once do not see each other. Safe for
// concurrent use. Close stops it.
type Browser struct {
	ctx       context.Context // the browser's chromedp context
	userAgent string          // the browser's own, as a desktop Chrome names itself
	cancel    context.CancelFunc
	allocStop context.CancelFunc
	dir       string
	closeOnce sync.Once
	closeErr  error
}

// NewBrowser starts a headless browser with a fresh profile directory:
// headless, --no-sandbox, --disable-gpu, --disable-quic, --no-first-run,
// --disable-background-networking, --disable-component-update,
// --disable-sync, site isolation off (so a cross-site iframe's network events
// and cookie writes reach the page's session; the browser only loads pages
// being scanned), HTTPS-Upgrades off (scan the URL as given), and a
// Default/Preferences that does not block third-party cookies (a fresh
// headless profile would, hiding what real visitors get).
func NewBrowser(opts BrowserOptions) (*Browser, error) {
	path := opts.ExecPath
	if path == "" {
		p, err := FindBrowser()
		if err != nil {
			return nil, err
		}
		path = p
	} else if _, err := exec.LookPath(path); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNoBrowser, path, err)
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 30 * time.Second
	}
	dir, err := os.MkdirTemp("", "crumb-scan-chrome-")
	if err != nil {
		return nil, fmt.Errorf("scanner: browser profile: %w", err)
	}
	if err := writePreferences(dir); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	flags := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-site-isolation-trials", true),
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,SitePerProcess,IsolateOrigins,"+
			"HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,MediaRouter,OptimizationHints,"+
			"InterestFeedContentSuggestions,AutofillServerCommunication,TrackingProtection3pcd,"+
			// The omnibox popups are WebUI pages that would do work for every tab.
			"WebUIOmniboxPopup,WebUIOmniboxAimPopup"),
		chromedp.Flag("disable-domain-reliability", true),
		// WebRTC could reach addresses past the proxy over UDP. Chromium 156
		// still sends STUN over UDP with this flag, so hook.js also removes
		// RTCPeerConnection from every frame (TestChromePrivateVectors).
		chromedp.Flag("force-webrtc-ip-handling-policy", "disable_non_proxied_udp"),
		// Nothing outside the scan's browser contexts may reach the network:
		// the default context goes to a proxy that does not exist.
		chromedp.Flag("proxy-server", "http://127.0.0.1:9"),
		chromedp.Flag("proxy-bypass-list", "<-loopback>"),
	)
	if opts.ignoreCertErrors {
		flags = append(flags, chromedp.IgnoreCertErrors)
	}
	allocCtx, allocStop := chromedp.NewExecAllocator(context.Background(), flags...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	b := &Browser{ctx: ctx, cancel: cancel, allocStop: allocStop, dir: dir}

	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err = <-started:
	case <-time.After(opts.StartTimeout):
		err = errors.New("start timed out")
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("scanner: start browser %s: %w", filepath.Base(path), err)
	}
	vctx, vcancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer vcancel()
	v, err := chromedp.CallBrowser(vctx, browser.GetVersion, cdp.Empty{})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("scanner: browser version: %w", err)
	}
	// Sites treat "HeadlessChrome" as a bot and may serve it other cookies.
	b.userAgent = strings.Replace(v.UserAgent, "HeadlessChrome/", "Chrome/", 1)
	return b, nil
}

// writePreferences writes Default/Preferences with third-party cookies
// allowed (cookie_controls_mode 0).
func writePreferences(dir string) error {
	d := filepath.Join(dir, "Default")
	if err := os.MkdirAll(d, 0o700); err != nil {
		return fmt.Errorf("scanner: browser profile: %w", err)
	}
	prefs := `{"profile":{"cookie_controls_mode":0,"block_third_party_cookies":false}}`
	if err := os.WriteFile(filepath.Join(d, "Preferences"), []byte(prefs), 0o600); err != nil {
		return fmt.Errorf("scanner: browser profile: %w", err)
	}
	return nil
}

// Close stops the browser and removes its profile directory.
func (b *Browser) Close() error {
	b.closeOnce.Do(func() {
		b.cancel()
		b.allocStop()
		b.closeErr = os.RemoveAll(b.dir)
	})
	return b.closeErr
}

// pid is the browser's process id, 0 if unknown.
func (b *Browser) pid() int {
	if c := chromedp.FromContext(b.ctx); c != nil && c.Browser != nil {
		if p := c.Browser.Process(); p != nil {
			return p.Pid
		}
	}
	return 0
}

// sharedBrowser is the Browser a Runner's chrome scans share, so that a job
// does not pay a browser start (about a second, and 100+ MiB while it
// runs): started by the first job that needs it, stopped once it has been
// idle for a while, and started again if it died.
type sharedBrowser struct {
	opts BrowserOptions
	idle time.Duration

	mu     sync.Mutex
	b      *Browser
	users  int
	timer  *time.Timer // stops an idle browser
	closed bool
}

// acquire returns the running browser, starting one if there is none or it
// no longer answers. Each acquire is paired with a release.
func (s *sharedBrowser) acquire() (*Browser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("scanner: runner closed")
	}
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if s.b != nil && !s.b.alive() {
		s.b.Close() // its scans are failing already
		s.b = nil
	}
	if s.b == nil {
		b, err := NewBrowser(s.opts)
		if err != nil {
			return nil, err
		}
		s.b = b
	}
	s.users++
	return s.b, nil
}

func (s *sharedBrowser) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users--
	if s.users == 0 && s.b != nil && !s.closed {
		s.timer = time.AfterFunc(s.idle, s.stopIdle)
	}
}

func (s *sharedBrowser) stopIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users == 0 && s.b != nil {
		s.b.Close()
		s.b = nil
	}
}

// close stops the browser; acquire fails from then on.
func (s *sharedBrowser) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
	if s.b != nil {
		s.b.Close()
		s.b = nil
	}
}

// alive reports whether the browser still answers.
func (b *Browser) alive() bool {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	_, err := chromedp.CallBrowser(ctx, browser.GetVersion, cdp.Empty{})
	return err == nil
}
