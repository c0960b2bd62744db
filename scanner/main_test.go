package scanner

import (
	"os"
	"sync"
	"testing"
)

// One browser for every chrome test of the package, started by the first
// test that needs it and stopped after all ran.
var (
	browserOnce sync.Once
	testBrowser *Browser
	browserErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if testBrowser != nil {
		testBrowser.Close()
	}
	os.Exit(code)
}

// needBrowser returns the shared browser. Without a Chromium the test is
// skipped, unless CRUMB_REQUIRE_BROWSER=1 makes that a failure.
func needBrowser(t testing.TB) *Browser {
	t.Helper()
	browserOnce.Do(func() {
		testBrowser, browserErr = NewBrowser(BrowserOptions{ignoreCertErrors: true})
	})
	if browserErr != nil {
		if os.Getenv("CRUMB_REQUIRE_BROWSER") == "1" {
			t.Fatalf("CRUMB_REQUIRE_BROWSER=1 and no browser: %v", browserErr)
		}
		t.Skipf("skipping: no Chromium to run the chrome engine (%v); install chromium or set CRUMB_REQUIRE_BROWSER=1 to make this fail", browserErr)
	}
	return testBrowser
}
