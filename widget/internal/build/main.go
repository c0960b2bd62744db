// Command build writes dist/crumb.min.js from src/ with esbuild's Go API. Run it with
// `go generate ./widget` from the module root (it works in the widget directory).
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/crumb-consent/crumb/widget/internal/bundle"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "widget build:", err)
		os.Exit(1)
	}
}

func run() error {
	js, err := bundle.Build("src")
	if err != nil {
		return err
	}
	out := filepath.Join("dist", "crumb.min.js")
	if old, err := os.ReadFile(out); err == nil && bytes.Equal(old, js) {
		fmt.Printf("%s: unchanged, %d bytes\n", out, len(js))
		return nil
	}
	if err := os.MkdirAll("dist", 0o755); err != nil {
		return err
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, js, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	fmt.Printf("%s: %d bytes\n", out, len(js))
	return nil
}
