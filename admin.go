package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/crumb-consent/crumb/account"
	"github.com/crumb-consent/crumb/scanner"
)

// The admin socket: a running server holds the stores' file locks, so the
// maintenance commands (backup, erase-expired, scan --site, cookies import,
// site add, site banner) reach it through a Unix socket in the data
// directory, mode 0600 inside a 0700 directory: only the user who owns the
// data can use it.

// listenAdmin serves the admin socket of a running server.
func listenAdmin(dir string, st *stores, runner *scanner.Runner, logger *slog.Logger) (io.Closer, error) {
	path := filepath.Join(dir, adminSocket)
	os.Remove(path) // a stale socket of a killed server; the db lock proves no server runs
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /backup", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-tar")
		if err := writeBackup(w, dir, []storeCopy{boltCopy(crumbDBFile, st.db), {"ledger.db", st.ledger.Backup}}); err != nil {
			logger.Error("backup failed", "err", err)
			panic(http.ErrAbortHandler) // cut the stream: the client must not take a truncated archive for a backup
		}
	})
	mux.HandleFunc("POST /erase-expired", func(w http.ResponseWriter, r *http.Request) {
		when, err := time.Parse(time.RFC3339, r.URL.Query().Get("as-of"))
		if err != nil {
			http.Error(w, "as-of: "+err.Error(), http.StatusBadRequest)
			return
		}
		results, err := eraseExpired(st, when)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(results)
	})
	mux.HandleFunc("POST /scans", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		pages, _ := strconv.Atoi(q.Get("pages"))
		id, err := startSiteScan(st, runner, q.Get("site"), q.Get("url"), scanner.JobOptions{Pages: pages, Engine: q.Get("engine"), Consent: q.Get("consent")})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Write([]byte(id))
	})
	mux.HandleFunc("GET /sites", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(st.sites.Sites(r.URL.Query().Get("account")))
	})
	mux.HandleFunc("POST /sites", func(w http.ResponseWriter, r *http.Request) {
		var req siteRequest
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 2<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			http.Error(w, "site: "+err.Error(), http.StatusBadRequest)
			return
		}
		site, err := req.create(st.sites)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		json.NewEncoder(w).Encode(site)
	})
	mux.HandleFunc("PUT /sites/{id}/banner", func(w http.ResponseWriter, r *http.Request) {
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBannerBytes))
		if err != nil {
			http.Error(w, "banner: "+err.Error(), http.StatusBadRequest)
			return
		}
		version, err := saveBanner(st.sites, r.PathValue("id"), data)
		switch {
		case errors.Is(err, account.ErrNotFound):
			http.Error(w, err.Error(), http.StatusNotFound)
		case err != nil:
			http.Error(w, err.Error(), http.StatusBadRequest)
		default:
			io.WriteString(w, version)
		}
	})
	mux.HandleFunc("POST /cookies", func(w http.ResponseWriter, r *http.Request) {
		n, err := st.scans.ImportOpenCookieDatabase(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, n)
	})
	mux.HandleFunc("GET /jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		job, err := runner.Job(r.PathValue("id"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		json.NewEncoder(w).Encode(job)
	})
	mux.HandleFunc("GET /reports/{id}", func(w http.ResponseWriter, r *http.Request) {
		data, _, err := st.scans.ReportJSON(r.PathValue("id"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Write(data)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return srv, nil
}

// adminCall sends one request to the running server's admin socket and
// returns the answer's body (at most 64 MiB); an answer other than 200 is an
// error carrying the server's message.
func adminCall(dir, method, path, contentType string, body io.Reader) ([]byte, error) {
	req, err := http.NewRequest(method, "http://crumb"+path, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := adminClient(dir).Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w, and its admin socket did not answer: %v", errDataInUse, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("server answered %s: %s", resp.Status, strings.TrimSpace(string(out)))
	}
	return out, nil
}

// adminClient talks to a running server's admin socket.
func adminClient(dir string) *http.Client {
	path := filepath.Join(dir, adminSocket)
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		},
	}}
}
