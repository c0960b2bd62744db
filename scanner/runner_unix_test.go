//go:build unix

package scanner

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunnerSharesBrowser runs chrome jobs through a runner without a
// browser of its own: they share one, a dead one is replaced, an idle one
// stops, and Close stops it.
func TestRunnerSharesBrowser(t *testing.T) {
	needBrowser(t) // skips (or fails) the same way without Chromium
	site := newFixture(t, "site.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "a=1; Path=/")
		html(w, "v")
	}))
	tmpl := runnerTemplate()
	tmpl.Engine = EngineChrome
	r := NewRunner(mustOpenStore(t), RunnerOptions{Scan: tmpl, BrowserIdle: time.Minute})
	defer r.Close()
	pid := func(r *Runner) int {
		r.browser.mu.Lock()
		defer r.browser.mu.Unlock()
		if r.browser.b == nil {
			return 0
		}
		return r.browser.b.pid()
	}
	scan := func(r *Runner, site string, url string) {
		t.Helper()
		id, err := r.Start(site, url, JobOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if j := waitJob(t, r, id); j.State != JobDone {
			t.Fatalf("job %+v", j)
		}
	}
	if pid(r) != 0 {
		t.Fatal("browser started before any chrome job")
	}
	scan(r, "site1", site.url("/"))
	first := pid(r)
	scan(r, "site2", site.url("/"))
	if first == 0 || pid(r) != first {
		t.Fatalf("second job's browser pid %d, first's %d: not shared", pid(r), first)
	}

	// A browser that died is replaced by the next job.
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, first)
	scan(r, "site1", site.url("/"))
	second := pid(r)
	if second == 0 || second == first {
		t.Fatalf("after the browser died: pid %d (was %d)", second, first)
	}
	r.Close()
	if pid(r) != 0 {
		t.Error("browser left after Close")
	}
	waitGone(t, second)

	// An idle browser stops by itself.
	r2 := NewRunner(mustOpenStore(t), RunnerOptions{Scan: tmpl, BrowserIdle: 50 * time.Millisecond})
	defer r2.Close()
	scan(r2, "site1", site.url("/"))
	for i := 0; pid(r2) != 0; i++ {
		if i == 500 {
			t.Fatal("idle browser still running after 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitGone waits (at most 10 s) until process pid has exited.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for range 1000 {
		// A killed child stays a zombie until chromedp reaps it; both count
		// as gone once /proc says so or the pid is free.
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && strings.Contains(string(st), ") Z ") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d still running", pid)
}
