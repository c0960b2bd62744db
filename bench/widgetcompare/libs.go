package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Library names, as -libs takes them.
const (
	libCrumb   = "crumb"
	libVanilla = "vanilla-cookieconsent"
	libKlaro   = "klaro"
	libEmpty   = "empty" // the page without any library: the timing baseline
)

// allLibs is every library compared, in report order.
var allLibs = []string{libCrumb, libVanilla, libKlaro}

// Floor pages, measured only when -libs names them: the least any widget
// can cost. Their script comes from the CDN origin, as every library's
// does, and only appends a <crumb-consent> whose shadow root holds the
// dialog: nothing is read, decided or styled. libFloor loads it with
// DESIGN §6's async tag, libFloorSync with a parser-blocking one. What a
// real widget takes beyond libFloor is its own work; libFloor's own time
// is Chromium's, and no widget.js under the async tag can go below it.
const (
	libFloor     = "floor"
	libFloorSync = "floor-sync"
)

// floorJS is the floor pages' script.
const floorJS = `var h=document.createElement('crumb-consent'),r=h.attachShadow({mode:'open'}),d=document.createElement('div');` +
	`d.setAttribute('role','dialog');d.textContent='We use cookies';r.appendChild(d);document.documentElement.appendChild(h);`

// knownLib reports whether -libs may name name.
func knownLib(name string) bool {
	return slices.Contains(allLibs, name) || name == libFloor || name == libFloorSync
}

// floorPage adds a floor page and returns its URL.
func floorPage(st *staticServer, name string) string {
	u := st.addFile(name+".js", newAsset("text/javascript; charset=utf-8", []byte(floorJS)))
	attr := " async"
	if name == libFloorSync {
		attr = ""
	}
	return st.addPage("/"+name+".html", page(crumbFound, `<script src="`+u+`"`+attr+`></script>`, ""))
}

// npmLib is a comparison library installed from npm into node_modules.
type npmLib struct {
	pkg string // npm package name
	// files are what a site serves for the library, JS and CSS, relative
	// to the package directory.
	files []string
	// head and body are the page's tags for the library; {file1},
	// {file2}, … stand for the URLs of files in order.
	head, body string
	// found is a JS expression that is true once the banner is in the DOM.
	found string
}

// npmLibs describes how a site embeds each comparison library, as its own
// documentation shows, with a minimal config that shows the banner at once.
var npmLibs = map[string]npmLib{
	// vanilla-cookieconsent v3: the stylesheet in <head>, the UMD build and
	// CookieConsent.run at the end of <body> (README and types/index.d.ts of
	// 3.1.0). hideFromBots:false, or it hides itself from
	// navigator.webdriver and from a headless user agent.
	libVanilla: {
		pkg:   "vanilla-cookieconsent",
		files: []string{"dist/cookieconsent.umd.js", "dist/cookieconsent.css"},
		head:  `<link rel="stylesheet" href="{file2}">`,
		body: `<script src="{file1}"></script>
<script>CookieConsent.run({
  hideFromBots: false,
  categories: {necessary: {enabled: true, readOnly: true}, analytics: {}},
  language: {default: 'en', translations: {en: {
    consentModal: {title: 'We use cookies', description: 'Cookies help us run this shop.', acceptAllBtn: 'Accept all', acceptNecessaryBtn: 'Reject all', showPreferencesBtn: 'Manage preferences'},
    preferencesModal: {title: 'Cookie preferences', acceptAllBtn: 'Accept all', acceptNecessaryBtn: 'Reject all', savePreferencesBtn: 'Save', sections: []}
  }}}
});</script>`,
		found: `!!document.querySelector('#cc-main .cm')`,
	},
	// klaro: a global klaroConfig, then dist/klaro.js (the standard build,
	// CSS inside) with defer, as its README shows. One service; the notice
	// (not the modal) with mustConsent:false.
	libKlaro: {
		pkg:   "klaro",
		files: []string{"dist/klaro.js"},
		head: `<script>var klaroConfig = {
  version: 1, mustConsent: false, acceptAll: true, lang: 'en',
  services: [{name: 'analytics', title: 'Analytics', purposes: ['analytics']}]
};</script>
<script defer src="{file1}"></script>`,
		found: `!!document.querySelector('.klaro .cookie-notice, .klaro .cookie-modal')`,
	},
}

// crumbFound is true once <crumb-consent> is in the DOM with the dialog in
// its open shadow root (DESIGN §6). The widget fills the shadow root before
// it appends the host; should that change, the observer also watches the
// shadow root.
const crumbFound = `(function () {
  var h = document.querySelector('crumb-consent');
  if (!h || !h.shadowRoot) return false;
  if (!h.__wcObserved) { h.__wcObserved = 1; mo.observe(h.shadowRoot, {childList: true, subtree: true, attributes: true}) }
  return !!h.shadowRoot.querySelector('[role=dialog]');
})()`

// stamp is the inline head script that every page starts with, before any
// library: a MutationObserver that notes performance.now() (ms since
// navigation start) in window.__bannerAt when found first holds, and
// DOMContentLoaded in window.__readyAt. After the banner (on the empty page:
// after DOMContentLoaded) it notes in window.__paintedAt the end of the next
// frame: a message posted from a requestAnimationFrame callback arrives after
// that frame's style, layout and paint.
func stamp(found string) string {
	onReady := "check();"
	if found == "false" { // the empty page
		onReady = "painted();"
	}
	return `<script>(function () {
  var mo = new MutationObserver(check);
  function painted() {
    requestAnimationFrame(function () {
      var ch = new MessageChannel();
      ch.port1.onmessage = function () { window.__paintedAt = performance.now() };
      ch.port2.postMessage(0);
    });
  }
  function check() {
    if (window.__bannerAt) return;
    if (` + found + `) { window.__bannerAt = performance.now(); mo.disconnect(); painted() }
  }
  mo.observe(document.documentElement, {childList: true, subtree: true, attributes: true});
  document.addEventListener('DOMContentLoaded', function () {
    window.__readyAt = performance.now();
    ` + onReady + `
  });
})()</script>`
}

// page is a small shop page with a library's tags.
func page(found, head, body string) string {
	return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shop</title>
` + stamp(found) + `
` + head + `
</head><body>
<h1>Shop</h1>
<p>Fresh bread every morning. Order before noon and it is at your door by evening.</p>
` + body + `
</body></html>
`
}

// libFile is one file a library serves.
type libFile struct {
	name string // as reported: package/path
	a    *asset
}

// loadedLib is a library ready to be measured: its files, compressed, and its
// test page.
type loadedLib struct {
	name, version string
	script        string // the JS file's name
	files         []libFile
	found         string
	pageURL       string
}

// ErrNoModules means node_modules lacks a comparison library.
var ErrNoModules = errors.New("comparison library not installed (run: npm install --prefix bench/widgetcompare)")

// findModules returns the node_modules directory: dir when given, else
// ./node_modules or ./bench/widgetcompare/node_modules, whichever exists.
func findModules(dir string) string {
	if dir != "" {
		return dir
	}
	for _, d := range []string{"node_modules", filepath.Join("bench", "widgetcompare", "node_modules")} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	return filepath.Join("bench", "widgetcompare", "node_modules")
}

// loadNPM reads a comparison library's files from modules, serves them from
// the static server's CDN origin and adds its page.
func loadNPM(st *staticServer, modules, name string) (*loadedLib, error) {
	lib, ok := npmLibs[name]
	if !ok {
		return nil, fmt.Errorf("unknown library %q (want one of %s)", name, strings.Join(allLibs, ", "))
	}
	dir := filepath.Join(modules, lib.pkg)
	meta, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, ErrNoModules, err)
	}
	var pj struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(meta, &pj); err != nil || pj.Version == "" {
		return nil, fmt.Errorf("%s: %s: no version: %v", name, filepath.Join(dir, "package.json"), err)
	}
	l := &loadedLib{name: name, version: pj.Version, found: lib.found}
	var urls []string
	for _, f := range lib.files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %w", name, ErrNoModules, err)
		}
		ct := "text/javascript; charset=utf-8"
		if strings.HasSuffix(f, ".css") {
			ct = "text/css; charset=utf-8"
		}
		if l.script == "" && !strings.HasSuffix(f, ".css") {
			l.script = filepath.Base(f)
		}
		a := newAsset(ct, b)
		l.files = append(l.files, libFile{name: lib.pkg + "/" + f, a: a})
		urls = append(urls, fmt.Sprintf("{file%d}", len(urls)/2+1), st.addFile(lib.pkg+"/"+f, a))
	}
	fill := strings.NewReplacer(urls...)
	l.pageURL = st.addPage("/"+name+".html", page(lib.found, fill.Replace(lib.head), fill.Replace(lib.body)))
	return l, nil
}

// crumbPage adds Crumb's page: the one async script tag of DESIGN §6.
func crumbPage(st *staticServer, c *crumbServer) string {
	return st.addPage("/"+libCrumb+".html", page(crumbFound, `<script src="`+c.widgetURL()+`" async></script>`, ""))
}

// emptyPage adds the page without any library.
func emptyPage(st *staticServer) string {
	return st.addPage("/"+libEmpty+".html", page("false", "", ""))
}
