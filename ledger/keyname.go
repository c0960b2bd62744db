package ledger

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// KeyName returns the host name the ledger in dir signs checkpoints as, so
// that maintenance commands can open a ledger without being told its public
// URL. It returns an error wrapping fs.ErrNotExist when dir has no ledger.
func KeyName(dir string) (string, error) {
	path := filepath.Join(dir, keyFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("ledger: signing key: %w", err)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(data)))
	if err != nil {
		return "", fmt.Errorf("ledger: signing key %s: %w", path, err)
	}
	return signer.Name(), nil
}
