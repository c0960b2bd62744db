package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/crumb-consent/crumb/ledger"
)

// maxProofFile bounds what verify reads: a proof is a few KiB.
const maxProofFile = 1 << 20

func runVerify(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "verify")
	key := fs.String("key", "", "checkpoint verifier key (the text of GET /v1/log-key, or a file holding it)")
	if err := parseFlags(fs, env, args); err != nil {
		return err
	}
	if *key == "" || fs.NArg() != 1 {
		return fmt.Errorf("%w: crumb verify --key VKEY PROOF.json (- for standard input)", errUsage)
	}
	verifier, err := loadVerifier(*key)
	if err != nil {
		return err
	}
	var r io.Reader = env.Stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxProofFile+1))
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if len(data) > maxProofFile {
		return fmt.Errorf("verify: proof over %d bytes", maxProofFile)
	}
	proof, err := ledger.ParseProof(data)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if err := proof.Verify(verifier); err != nil {
		return fmt.Errorf("verify: proof does NOT hold: %w", err)
	}
	what := "record"
	if proof.Leaf == nil {
		what = "erased record (hash only)"
	}
	fmt.Fprintf(env.Stdout, "OK: %s %s is leaf %d of log %q, included in the signed checkpoint of size %d\n",
		what, proof.ID, proof.Index, proof.Site, proof.TreeSize)
	return nil
}

// loadVerifier accepts a note verifier key or a file that holds one.
func loadVerifier(key string) (note.Verifier, error) {
	text := strings.TrimSpace(key)
	if data, err := os.ReadFile(key); err == nil {
		text = strings.TrimSpace(string(data))
	} else if !errors.Is(err, os.ErrNotExist) && !strings.Contains(key, "+") {
		return nil, fmt.Errorf("verify: key: %w", err)
	}
	v, err := note.NewVerifier(text)
	if err != nil {
		return nil, fmt.Errorf("verify: --key is not a verifier key: %w", err)
	}
	return v, nil
}
