// Package bundle builds the widget's sources (src/crumb.js and src/crumb.css) into the one
// minified script that widget embeds. The generator (../build) writes its output to
// dist/crumb.min.js; widget's tests call Build again and compare, so a stale dist fails.
package bundle

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// Build bundles srcDir/crumb.js with srcDir/crumb.css minified and inlined as the string
// constant __CRUMB_CSS__. The result is an IIFE that reads the free variable
// __crumb_config (widget.Render defines it). The same sources and esbuild version give
// the same bytes.
func Build(srcDir string) ([]byte, error) {
	dir, err := filepath.Abs(srcDir)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	css, err := run(api.BuildOptions{
		AbsWorkingDir:     dir,
		EntryPoints:       []string{"crumb.css"},
		Bundle:            true,
		Loader:            map[string]api.Loader{".css": api.LoaderCSS},
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		LegalComments:     api.LegalCommentsNone,
	})
	if err != nil {
		return nil, fmt.Errorf("bundle: crumb.css: %w", err)
	}
	lit, err := json.Marshal(strings.TrimSpace(string(css)))
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	js, err := run(api.BuildOptions{
		AbsWorkingDir:     dir,
		EntryPoints:       []string{"crumb.js"},
		Bundle:            true,
		Format:            api.FormatIIFE,
		Platform:          api.PlatformBrowser,
		Target:            api.ES2020,
		Define:            map[string]string{"__CRUMB_CSS__": string(lit)},
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		LegalComments:     api.LegalCommentsNone,
	})
	if err != nil {
		return nil, fmt.Errorf("bundle: crumb.js: %w", err)
	}
	return js, nil
}

func run(opts api.BuildOptions) ([]byte, error) {
	opts.LogLevel = api.LogLevelSilent
	res := api.Build(opts)
	if len(res.Errors) > 0 {
		msgs := api.FormatMessages(res.Errors, api.FormatMessagesOptions{Kind: api.ErrorMessage})
		return nil, fmt.Errorf("%s", strings.Join(msgs, ""))
	}
	if len(res.OutputFiles) != 1 {
		return nil, fmt.Errorf("esbuild wrote %d files, want 1", len(res.OutputFiles))
	}
	return res.OutputFiles[0].Contents, nil
}
