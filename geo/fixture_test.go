package geo

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/GeoLite2-Country-Test.mmdb")

// fixture is a small GeoLite2-Country database of testNets, for the
// examples. go test ./geo -run TestFixture -update rewrites it.
const fixture = "testdata/GeoLite2-Country-Test.mmdb"

func TestFixture(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fixture.mmdb")
	writeDB(t, path, "GeoLite2-Country", testNets)
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(fixture), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(fixture, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date with testNets; rerun with -update", fixture)
	}
}
