package bundle

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBuild(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "crumb.css", ".a { color: #ff0000; }\n")
	write(t, dir, "crumb.js", "const longName = __CRUMB_CSS__ + __crumb_config.x\nwindow.out = longName\n")
	js, err := Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Minified, CSS inlined as a string, the config left as a free variable.
	if !bytes.Contains(js, []byte(`".a{color:red}"`)) || !bytes.Contains(js, []byte("__crumb_config.x")) || bytes.Contains(js, []byte("longName")) {
		t.Errorf("bundle = %s", js)
	}
	again, err := Build(dir)
	if err != nil || !bytes.Equal(js, again) {
		t.Error("two builds of the same sources differ")
	}
}

func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "crumb.css", ".a { color: red; }")
	write(t, dir, "crumb.js", "let x = ;")
	if _, err := Build(dir); err == nil || !strings.Contains(err.Error(), "crumb.js") {
		t.Errorf("syntax error: err = %v", err)
	}
	if _, err := Build(t.TempDir()); err == nil || !strings.Contains(err.Error(), "crumb.css") {
		t.Errorf("missing sources: err = %v", err)
	}
}
