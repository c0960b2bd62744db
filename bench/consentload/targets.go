package main

import (
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/crumb-consent/crumb/bench/internal/realserver"
)

// commitStats accumulates the ledger's OnCommit reports.
type commitStats struct {
	commits, appends, nanos atomic.Int64
}

func (c *commitStats) observe(batch int, d time.Duration) {
	c.commits.Add(1)
	c.appends.Add(int64(batch))
	c.nanos.Add(int64(d))
}

// commitSnapshot is commitStats at one instant, with the process's bytes
// written to storage so far (-1 where /proc/self/io is not available).
type commitSnapshot struct{ commits, appends, nanos, diskWrite int64 }

func (a commitSnapshot) sub(b commitSnapshot) commitSnapshot {
	d := commitSnapshot{a.commits - b.commits, a.appends - b.appends, a.nanos - b.nanos, a.diskWrite - b.diskWrite}
	if a.diskWrite < 0 || b.diskWrite < 0 {
		d.diskWrite = -1
	}
	return d
}

func (a commitSnapshot) add(b commitSnapshot) commitSnapshot {
	d := commitSnapshot{a.commits + b.commits, a.appends + b.appends, a.nanos + b.nanos, a.diskWrite + b.diskWrite}
	if a.diskWrite < 0 || b.diskWrite < 0 {
		d.diskWrite = -1
	}
	return d
}

func (c *commitStats) snapshot() commitSnapshot {
	return commitSnapshot{c.commits.Load(), c.appends.Load(), c.nanos.Load(), diskWriteBytes()}
}

// diskWriteBytes is write_bytes of /proc/self/io: bytes this process caused
// to be sent to storage (Linux), or -1.
func diskWriteBytes() int64 {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

// LedgerStats are the group commits of a window.
type LedgerStats struct {
	Commits      int64   `json:"commits"`
	Appends      int64   `json:"appends"`
	MeanBatch    float64 `json:"mean_batch"`
	MeanCommitMs float64 `json:"mean_commit_ms"` // transaction including fsync
	CommitsPerS  float64 `json:"commits_per_s"`
	// DiskKiBPerCommit is what the process wrote to storage per group
	// commit in the window (bbolt pages and meta; the load is all it
	// writes), or -1 when unknown.
	DiskKiBPerCommit float64 `json:"disk_kib_per_commit"`
}

// ledgerStats summarises the group commits d of windows lasting seconds.
func ledgerStats(d commitSnapshot, seconds float64) LedgerStats {
	s := LedgerStats{Commits: d.commits, Appends: d.appends}
	if s.Commits > 0 {
		s.MeanBatch = float64(s.Appends) / float64(s.Commits)
		s.MeanCommitMs = float64(d.nanos) / float64(s.Commits) / 1e6
	}
	if seconds > 0 {
		s.CommitsPerS = float64(s.Commits) / seconds
	}
	s.DiskKiBPerCommit = -1
	if d.diskWrite >= 0 && s.Commits > 0 {
		s.DiskKiBPerCommit = float64(d.diskWrite) / 1024 / float64(s.Commits)
	}
	return s
}

// realTarget is the real server with the ledger's commit statistics.
type realTarget struct {
	*realserver.Server
	commits *commitStats
}

// startReal starts the real server on the stores in dir, with one site for
// shop.example on the default banner.
func startReal(dir string, logger *slog.Logger) (*realTarget, error) {
	t := &realTarget{commits: new(commitStats)}
	s, err := realserver.Start(realserver.Options{Dir: dir, Domains: []string{"shop.example"}, OnCommit: t.commits.observe, Logger: logger})
	if err != nil {
		return nil, err
	}
	t.Server = s
	return t, nil
}
