package widget

import (
	"embed"
	"io/fs"
)

//go:generate go run ./internal/build

// The built banner script: src/ bundled and minified by ./internal/build. Render serves it
// after the inline config; TestBundleFresh fails when it is older than src/.
//
//go:embed dist/crumb.min.js
var bundleJS []byte

//go:embed dist
var distFS embed.FS

// FS holds the built files (crumb.min.js) for whoever wants to serve them as they are.
var FS fs.FS = mustSub(distFS, "dist")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
