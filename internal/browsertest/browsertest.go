// Package browsertest starts the headless Chromium that browser tests share:
// one browser per test binary, a fresh browser context (cookies, storage) per
// test. Without Chromium the tests skip, unless CRUMB_REQUIRE_BROWSER=1 makes
// them fail (CI sets it). CRUMB_CHROMIUM names a browser binary explicitly.
//
// Chromium is started with the flags this machine needs: no sandbox (root),
// and no background networking, component updates or sync, which would try
// to reach the outside network and fail slowly. *.crumb.test resolves to
// 127.0.0.1, so tests can use several host names (and one parent domain)
// on loopback.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var shared struct {
	once   sync.Once
	ctx    context.Context
	cancel []context.CancelFunc
	dir    string
	err    error
}

// Path returns the Chromium binary, or "" when there is none.
func Path() string {
	candidates := []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"}
	if env := os.Getenv("CRUMB_CHROMIUM"); env != "" {
		candidates = []string{env}
	}
	for _, p := range candidates {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	return ""
}

// Tab returns a chromedp context for a new tab in a new browser context,
// closed when the test ends and bounded by timeout.
func Tab(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	path := Path()
	if path == "" {
		if os.Getenv("CRUMB_REQUIRE_BROWSER") == "1" {
			t.Fatal("Chromium not found and CRUMB_REQUIRE_BROWSER=1")
		}
		t.Skip("Chromium not found (install chromium or set CRUMB_CHROMIUM): browser test skipped")
	}
	shared.once.Do(func() { start(path) })
	if shared.err != nil {
		t.Fatalf("starting Chromium: %v", shared.err)
	}
	ctx, cancel := chromedp.NewContext(shared.ctx, chromedp.WithNewBrowserContext())
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	return ctx
}

func start(path string) {
	shared.dir, shared.err = os.MkdirTemp("", "crumb-chromium-")
	if shared.err != nil {
		return
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), AllocatorOptions(path, shared.dir)...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	shared.cancel = []context.CancelFunc{cancel, cancelBrowser}
	shared.ctx = bctx
	shared.err = chromedp.Do(bctx) // starts the browser
}

// AllocatorOptions are the launch options Chromium needs on this machine
// (see the package comment), with profileDir as its user data directory.
// Programs that drive their own browser, such as the bench tools, use them
// too.
func AllocatorOptions(path, profileDir string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("host-resolver-rules", "MAP *.crumb.test 127.0.0.1"),
		chromedp.UserDataDir(profileDir),
		chromedp.WindowSize(1280, 800),
	}
}

// Close stops the shared browser; call it from TestMain after m.Run.
func Close() {
	for i := len(shared.cancel) - 1; i >= 0; i-- {
		shared.cancel[i]()
	}
	if shared.dir != "" {
		for range 50 { // Chromium's helpers may write for a moment after it exits
			if os.RemoveAll(shared.dir) == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}
