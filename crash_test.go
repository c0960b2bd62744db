package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/crumb-consent/crumb/account"
	"github.com/crumb-consent/crumb/ledger"
)

// Crash test bounds: enough acknowledged consents that the kill lands in
// the middle of group commits, few enough to stay well under 30 s.
const (
	crashClients     = 32
	crashInitial     = 20               // consents before the checkpoint is taken
	crashAckBefore   = 400              // acknowledged consents under load before the kill
	crashLoadLimit   = 10 * time.Second // kill by then even if fewer were acknowledged
	crashHTTPTimeout = 10 * time.Second
)

// TestCrashRecovery is issue 2's crash test: the real binary, loaded with
// concurrent consents, is killed with SIGKILL mid-load and restarted on the
// same data directory. Every consent it acknowledged (201) must then have a
// proof that verifies offline with /v1/log-key, and the new checkpoint must
// be consistent with one taken before the kill.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the crumb binary; skipped with -short")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "crumb")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(tmp, "data")

	// A site, registered with the server stopped, and its banner version.
	out, err := exec.Command(bin, "site", "add", "--domain", "shop.example", "--data", data).Output()
	if err != nil {
		t.Fatalf("crumb site add: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	site := strings.TrimSpace(lines[len(lines)-1])
	version := crashBannerVersion(t, data, site)

	client := &http.Client{Timeout: crashHTTPTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: crashClients}}
	defer client.CloseIdleConnections()

	// First life: some consents, then the checkpoint an auditor keeps.
	srv := startCrumb(t, bin, data)
	var acked []string
	for i := range crashInitial {
		id, status, err := crashPostConsent(client, srv.url, site, version, fmt.Sprintf("initial-%012d", i))
		if err != nil || status != http.StatusCreated {
			t.Fatalf("initial consent %d: status %d, %v", i, status, err)
		}
		acked = append(acked, id)
	}
	oldCP := crashWaitCheckpoint(t, client, srv.url, site, crashInitial)

	// Load, then SIGKILL while requests are in flight.
	var (
		mu       sync.Mutex
		inFlight atomic.Int64
		killed   atomic.Bool
		wg       sync.WaitGroup
	)
	ackedUnderLoad := make(chan struct{}, crashClients*4)
	stop := make(chan struct{})
	for w := range crashClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				inFlight.Add(1)
				id, status, err := crashPostConsent(client, srv.url, site, version, fmt.Sprintf("load-%03d-%010d", w, seq))
				inFlight.Add(-1)
				switch {
				case err == nil && status == http.StatusCreated:
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
					select {
					case ackedUnderLoad <- struct{}{}:
					default:
					}
				case killed.Load():
					return // the server is gone: unacknowledged, which is allowed
				default:
					t.Errorf("consent under load: status %d, %v", status, err)
					return
				}
			}
		}()
	}
	deadline := time.After(crashLoadLimit)
wait:
	for range crashAckBefore {
		select {
		case <-ackedUnderLoad:
		case <-deadline:
			break wait
		}
	}
	mu.Lock()
	ackedAtKill := len(acked)
	mu.Unlock()
	inFlightAtKill := inFlight.Load()
	killed.Store(true)
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL: %v", err)
	}
	srv.wait()
	close(stop)
	wg.Wait()
	if t.Failed() {
		t.Fatalf("server log:\n%s", srv.log())
	}
	t.Logf("killed with %d consents acknowledged (%d when the signal was sent), %d requests in flight",
		len(acked), ackedAtKill, inFlightAtKill)
	if len(acked) < crashInitial+crashClients {
		t.Fatalf("only %d consents acknowledged before the kill: the load did not get going", len(acked))
	}

	// Second life on the same data directory.
	srv = startCrumb(t, bin, data)
	keyText := crashGet(t, client, srv.url+"/v1/log-key", http.StatusOK)
	verifier, err := note.NewVerifier(strings.TrimSpace(string(keyText)))
	if err != nil {
		t.Fatalf("log key %q: %v", keyText, err)
	}

	for _, id := range acked {
		body := crashGet(t, client, srv.url+"/v1/proof/"+id, http.StatusOK)
		p, err := ledger.ParseProof(body)
		if err != nil {
			t.Fatalf("proof of acknowledged consent %s: %v\n%s", id, err, body)
		}
		if err := p.Verify(verifier); err != nil {
			t.Fatalf("proof of acknowledged consent %s does not verify: %v", id, err)
		}
		if p.ID != id || p.Site != site || len(p.Leaf) == 0 {
			t.Fatalf("proof of %s names id %q, site %q, leaf of %d bytes", id, p.ID, p.Site, len(p.Leaf))
		}
	}

	newCP := crashGet(t, client, srv.url+"/v1/sites/"+site+"/checkpoint", http.StatusOK)
	_, oldSize, _, err := ledger.ParseCheckpoint(oldCP, verifier)
	if err != nil {
		t.Fatalf("checkpoint from before the kill: %v", err)
	}
	_, newSize, _, err := ledger.ParseCheckpoint(newCP, verifier)
	if err != nil {
		t.Fatalf("checkpoint after the restart: %v", err)
	}
	if newSize < uint64(len(acked)) {
		t.Fatalf("tree size %d after the restart < %d acknowledged consents", newSize, len(acked))
	}
	var cons struct {
		From, To uint64
		Proof    [][]byte
	}
	body := crashGet(t, client, fmt.Sprintf("%s/v1/sites/%s/consistency?from=%d&to=%d", srv.url, site, oldSize, newSize), http.StatusOK)
	if err := json.Unmarshal(body, &cons); err != nil {
		t.Fatalf("consistency answer %s: %v", body, err)
	}
	proof := make([]tlog.Hash, len(cons.Proof))
	for i, h := range cons.Proof {
		if len(h) != len(tlog.Hash{}) {
			t.Fatalf("consistency proof hash %d has %d bytes", i, len(h))
		}
		copy(proof[i][:], h)
	}
	if cons.From != oldSize || cons.To != newSize {
		t.Fatalf("consistency answer for %d→%d, asked %d→%d", cons.From, cons.To, oldSize, newSize)
	}
	if err := ledger.VerifyConsistency(verifier, oldCP, newCP, proof); err != nil {
		t.Fatalf("checkpoint after the restart is not consistent with the one before the kill: %v", err)
	}
	t.Logf("restart: %d acknowledged consents all prove; tree %d → %d consistent", len(acked), oldSize, newSize)
}

// crashServer is a running `crumb serve` subprocess.
type crashServer struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{} // closed when the process has exited and its log is read

	mu    sync.Mutex
	lines []string // the last lines of its log
}

var listeningAddr = regexp.MustCompile(`msg="crumb listening" addr=(127\.0\.0\.1:[0-9]+)`)

// startCrumb runs `crumb serve` on a loopback port and waits until it
// listens. The process is killed when the test ends, whatever happens.
func startCrumb(t *testing.T, bin, data string) *crashServer {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", data,
		"--public-url", "http://crumb.test", "--rate-limit", "0")
	// Only the flags configure it: CRUMB_* variables of the caller's
	// environment must not change what is tested.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CRUMB_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start crumb serve: %v", err)
	}
	s := &crashServer{cmd: cmd, done: make(chan struct{})}
	t.Cleanup(func() {
		cmd.Process.Kill()
		s.wait()
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.lines = append(s.lines, line)
			if len(s.lines) > 200 {
				s.lines = s.lines[len(s.lines)-200:]
			}
			s.mu.Unlock()
			if m := listeningAddr.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
		cmd.Wait()
		close(s.done)
	}()
	select {
	case a := <-addr:
		s.url = "http://" + a
	case <-s.done:
		t.Fatalf("crumb serve exited before listening:\n%s", s.log())
	case <-time.After(20 * time.Second):
		t.Fatalf("crumb serve did not listen within 20 s:\n%s", s.log())
	}
	return s
}

// wait waits (bounded) for the process to exit.
func (s *crashServer) wait() {
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
}

func (s *crashServer) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "\n")
}

// crashBannerVersion reads the site's current banner version from crumb.db
// (the server is stopped, so the file is free).
func crashBannerVersion(t *testing.T, data, site string) string {
	t.Helper()
	db, err := bolt.Open(filepath.Join(data, "crumb.db"), 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sites, err := account.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sites.CurrentBanner(site)
	if err != nil {
		t.Fatalf("banner of site %q: %v", site, err)
	}
	return b.Version
}

// crashPostConsent posts one consent and returns the id of a 2xx answer.
func crashPostConsent(client *http.Client, base, site, version, nonce string) (string, int, error) {
	body := fmt.Sprintf(`{"site":%q,"url":"https://shop.example/cart","state":{"necessary":true,"preferences":false,"statistics":true,"marketing":false},"method":"custom","version":%q,"nonce":%q}`,
		site, version, nonce)
	ctx, cancel := context.WithTimeout(context.Background(), crashHTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/consent", strings.NewReader(body))
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return "", resp.StatusCode, fmt.Errorf("%s", bytes.TrimSpace(raw))
	}
	var ans struct{ ID string }
	if err := json.Unmarshal(raw, &ans); err != nil || ans.ID == "" {
		return "", resp.StatusCode, fmt.Errorf("answer %s without an id (%v)", raw, err)
	}
	return ans.ID, resp.StatusCode, nil
}

// crashGet fetches url and fails the test unless it answers want.
func crashGet(t *testing.T, client *http.Client, url string, want int) []byte {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != want {
		t.Fatalf("GET %s: status %d, want %d: %s", url, resp.StatusCode, want, body)
	}
	return body
}

// crashWaitCheckpoint polls the site's checkpoint until it covers at least
// size leaves (the ledger signs on a timer) and returns it.
func crashWaitCheckpoint(t *testing.T, client *http.Client, base, site string, size uint64) []byte {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get(base + "/v1/sites/" + site + "/checkpoint")
		if err != nil {
			t.Fatalf("checkpoint: %v", err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("checkpoint: %v", err)
		}
		if resp.StatusCode == http.StatusOK {
			// The body's second line is the tree size.
			if f := strings.SplitN(string(body), "\n", 3); len(f) == 3 {
				if n, err := strconv.ParseUint(f[1], 10, 64); err == nil && n >= size {
					return body
				}
			}
		} else if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("checkpoint: status %d: %s", resp.StatusCode, body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of size ≥ %d within 10 s (last answer %d: %s)", size, resp.StatusCode, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
