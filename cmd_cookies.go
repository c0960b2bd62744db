package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/crumb-consent/crumb/scanner"
)

// runCookies handles `crumb cookies import FILE`: the Open Cookie Database
// CSV goes into the scanner's classifier in crumb.db (through the running
// server if there is one). Built-in definitions and owners' overrides still
// win where the scanner's lookup order says so.
func runCookies(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] != "import" {
		return fmt.Errorf("%w: crumb cookies import FILE [--data DIR]", errUsage)
	}
	fs := newFlagSet(env, "cookies import")
	data := fs.String("data", "./data", "data directory")
	if err := parseFlags(fs, env, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: crumb cookies import FILE [--data DIR]", errUsage)
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("cookies import: %w", err)
	}
	defer f.Close()
	var n int
	db, err := openCrumbDB(*data)
	switch {
	case errors.Is(err, errDataInUse):
		n, err = importThroughServer(*data, f)
	case err == nil:
		defer db.Close()
		var store *scanner.Store
		if store, err = scanner.OpenStore(db); err == nil {
			n, err = store.ImportOpenCookieDatabase(f)
		}
	}
	if err != nil {
		return fmt.Errorf("cookies import: %w", err)
	}
	fmt.Fprintf(env.Stdout, "imported %d cookie definitions\n", n)
	return nil
}

func importThroughServer(dir string, csv io.Reader) (int, error) {
	body, err := adminCall(dir, http.MethodPost, "/cookies", "text/csv", io.LimitReader(csv, scanner.MaxOpenCookieDatabaseBytes+1))
	if err != nil {
		return 0, err
	}
	var n int
	_, err = fmt.Sscan(string(body), &n)
	return n, err
}
