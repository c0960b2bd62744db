package main

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/crumb-consent/crumb/ledger"
)

// A backup is a tar archive of the data directory's stores and keys, each
// store copied inside one read transaction (bbolt Tx.WriteTo), so it is
// consistent while the server keeps writing. Restore: stop the server,
// `tar -xf FILE -C DATA_DIR`.
//
// A running server holds the stores' file locks, so `crumb backup` asks it
// through the admin socket in the data directory (reachable only by the
// user who owns the data directory) to stream the archive.

// backupKeyFiles are copied after the stores: an erasure that happens in
// between leaves leaves in the copied store that its copied keys cannot
// decrypt, which is what erasure means. The ledger's come in its order
// (ledger.KeyFileNames: the key journal before ledger.keys, so that a
// rewrite of ledger.keys between the two copies takes in what the copied
// journal holds).
var backupKeyFiles = append([]string{receiptKeyFile}, ledger.KeyFileNames()...)

func runBackup(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "backup")
	data := fs.String("data", "./data", "data directory")
	if err := parseFlags(fs, env, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: crumb backup [--data DIR] FILE", errUsage)
	}
	out := fs.Arg(0)
	tmp := out + ".partial"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp)
	err = backupTo(ctx, *data, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintln(env.Stderr, "backup written to", out)
	return nil
}

// backupTo writes the archive, through the running server if there is one.
func backupTo(ctx context.Context, dir string, w io.Writer) error {
	db, err := openExistingCrumbDB(dir)
	if errors.Is(err, errDataInUse) {
		return backupFromServer(ctx, dir, w)
	}
	if err != nil {
		return err
	}
	db.Close()
	ledgerDB, err := bolt.Open(filepath.Join(dir, "ledger.db"), 0o600, &bolt.Options{ReadOnly: true, Timeout: 300 * time.Millisecond})
	if err != nil {
		return fmt.Errorf("open ledger.db: %w", err)
	}
	defer ledgerDB.Close()
	crumbDB, err := bolt.Open(filepath.Join(dir, crumbDBFile), 0o600, &bolt.Options{ReadOnly: true, Timeout: 300 * time.Millisecond})
	if err != nil {
		return fmt.Errorf("open %s: %w", crumbDBFile, err)
	}
	defer crumbDB.Close()
	return writeBackup(w, dir, []storeCopy{boltCopy(crumbDBFile, crumbDB), boltCopy("ledger.db", ledgerDB)})
}

// storeCopy writes a consistent copy of one store.
type storeCopy struct {
	name string
	copy func(io.Writer) (int64, error)
}

func boltCopy(name string, db *bolt.DB) storeCopy {
	return storeCopy{name, func(w io.Writer) (n int64, err error) {
		err = db.View(func(tx *bolt.Tx) error {
			n, err = tx.WriteTo(w)
			return err
		})
		return n, err
	}}
}

// writeBackup writes the tar archive: each store spooled to a temporary file
// in dir first (a tar header needs the size before the bytes), then the key
// files.
func writeBackup(w io.Writer, dir string, copies []storeCopy) error {
	tw := tar.NewWriter(w)
	now := time.Now()
	for _, sc := range copies {
		if err := spoolInto(tw, dir, sc, now); err != nil {
			return fmt.Errorf("copy %s: %w", sc.name, err)
		}
	}
	for _, name := range backupKeyFiles {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(data)), ModTime: now}); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	return tw.Close()
}

func spoolInto(tw *tar.Writer, dir string, sc storeCopy, now time.Time) error {
	f, err := os.CreateTemp(dir, ".backup-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := sc.copy(f)
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: sc.name, Mode: 0o600, Size: n, ModTime: now}); err != nil {
		return err
	}
	_, err = io.CopyN(tw, f, n)
	return err
}

func backupFromServer(ctx context.Context, dir string, w io.Writer) error {
	client := adminClient(dir)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://crumb/backup", nil)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%w, and its admin socket did not answer: %v", errDataInUse, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("server answered %s", resp.Status)
	}
	// Read the whole archive through a tar reader so that a stream cut
	// short by the server is an error, not a truncated backup.
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		tr := tar.NewReader(pr)
		for {
			_, err := tr.Next()
			if err == io.EOF {
				done <- nil
				io.Copy(io.Discard, pr)
				return
			}
			if err != nil {
				done <- fmt.Errorf("archive from server: %w", err)
				pr.CloseWithError(err)
				return
			}
		}
	}()
	_, err = io.Copy(io.MultiWriter(w, pw), resp.Body)
	pw.CloseWithError(err)
	if terr := <-done; err == nil {
		err = terr
	}
	return err
}
