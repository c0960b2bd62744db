package widget

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/crumb-consent/crumb/widget/internal/bundle"
)

func testPage(c Config, langs ...string) Page {
	return Page{Site: "s_123", API: "https://crumb.example", Version: VersionOf(c.Canonical()), RuleSet: OptIn, Config: c, Languages: langs}
}

// inlineConfig extracts and decodes the config JSON Render puts before the bundle.
func inlineConfig(t *testing.T, js []byte) map[string]any {
	t.Helper()
	if !bytes.HasPrefix(js, []byte(prelude)) {
		t.Fatalf("widget.js does not start with the prelude: %.60s", js)
	}
	dec := json.NewDecoder(bytes.NewReader(js[len(prelude):]))
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("inline config: %v", err)
	}
	rest := js[len(prelude)+int(dec.InputOffset()):]
	if !bytes.HasPrefix(rest, []byte(";")) || !bytes.HasSuffix(rest, []byte(closing)) || !bytes.Contains(rest, bundleJS) {
		t.Fatalf("config not followed by ;bundle}: %.60s", rest)
	}
	return m
}

func TestRenderEscaping(t *testing.T) {
	evil := "</script><script>alert(1)</script> <!-- \u2028\u2029 & \"quotes\" 'single' `tick` ${x}"
	c := DefaultConfig()
	c.Texts = map[string]Texts{"en": {Title: evil, Description: "</SCRIPT >", Categories: map[string]CategoryText{"marketing": {Title: evil}}}}
	c.Services = []Service{{Name: evil, Category: Marketing, Description: map[string]string{"en": evil}}}
	c.Cookies = []DeclaredCookie{{Name: "x", Category: Marketing, Purpose: evil}}
	c.PrivacyURL = "https://example.com/p?a=</script>"
	if err := c.Validate(); err != nil {
		t.Fatalf("the evil config must be valid (it is text, shown as text): %v", err)
	}
	js, err := Render(testPage(c, "en"))
	if err != nil {
		t.Fatal(err)
	}
	lower := bytes.ToLower(js)
	for _, bad := range []string{"</script", "<script", "<!--", "\u2028", "\u2029"} {
		if bytes.Contains(lower, []byte(bad)) {
			t.Errorf("widget.js contains %q", bad)
		}
	}
	// The text survives exactly: escaped, not altered.
	m := inlineConfig(t, js)
	texts := m["texts"].(map[string]any)["en"].(map[string]any)
	if texts["title"] != evil {
		t.Errorf("title = %q, want %q", texts["title"], evil)
	}
	if got := m["services"].([]any)[0].(map[string]any)["name"]; got != evil {
		t.Errorf("service name = %q", got)
	}
}

func TestRenderLanguages(t *testing.T) {
	c := DefaultConfig()
	c.Texts = map[string]Texts{
		"fr": {Title: "Cookies ?", Categories: map[string]CategoryText{"statistics": {Title: "Mesure"}}},
		"he": {Title: "עוגיות"},
	}
	c.Categories[3].Enabled = false // marketing hidden
	tests := []struct {
		name  string
		langs []string
		want  []string
	}{
		{"none asked", nil, []string{"en"}},
		{"built-in and unknown", []string{"de", "xx", "fr"}, []string{"de", "en", "fr"}},
		{"owner-only language", []string{"he", "en"}, []string{"en", "he"}},
		{"many", []string{"bg", "cs", "da", "de", "el", "es", "et", "fi", "fr"}, []string{"bg", "cs", "da", "de", "el", "en", "es", "et", "fi"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			js, err := Render(testPage(c, tt.langs...))
			if err != nil {
				t.Fatal(err)
			}
			texts := inlineConfig(t, js)["texts"].(map[string]any)
			got := sortedKeys(texts)
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("languages inlined = %v, want %v", got, tt.want)
			}
		})
	}
	cfg := resolveOK(t, testPage(c, "fr", "he"))
	fr := cfg.Texts["fr"]
	if fr.Title != "Cookies ?" || fr.Description != builtin["fr"].Description || fr.AcceptAll != "Tout accepter" {
		t.Errorf("fr texts not merged over the built-in ones: %+v", fr)
	}
	if fr.Categories["statistics"].Title != "Mesure" || fr.Categories["statistics"].Description != builtin["fr"].Categories["statistics"].Description {
		t.Errorf("fr category texts: %+v", fr.Categories["statistics"])
	}
	if _, ok := fr.Categories["marketing"]; ok {
		t.Error("texts of a hidden category are inlined")
	}
	he := cfg.Texts["he"]
	if he.Dir != "rtl" || he.Title != "עוגיות" || he.RejectAll != "Reject all" {
		t.Errorf("he: dir %q title %q reject %q; want rtl, the owner's title, English fallback", he.Dir, he.Title, he.RejectAll)
	}
	if fr.Dir != "ltr" {
		t.Errorf("fr dir = %q", fr.Dir)
	}
}

func resolveOK(t *testing.T, p Page) *publicConfig {
	t.Helper()
	cfg, err := resolve(p)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestBuiltinTexts(t *testing.T) {
	eu := strings.Fields("bg cs da de el en es et fi fr ga hr hu it lt lv mt nl pl pt ro sk sl sv nb no is")
	langs := Languages()
	for _, l := range eu {
		if !contains(langs, l) {
			t.Errorf("no built-in texts for %s", l)
		}
	}
	for _, l := range langs {
		tx := builtin[l]
		var p problems
		tx.check(&p, l)
		if err := p.err(); err != nil {
			t.Errorf("%s: %v", l, err)
		}
		// Every field filled in every language: a missing one would silently show English.
		v := map[string]any{}
		b, _ := json.Marshal(tx)
		_ = json.Unmarshal(b, &v)
		for k, f := range v {
			if s, ok := f.(string); ok && strings.TrimSpace(s) == "" {
				t.Errorf("%s.%s is empty", l, k)
			}
		}
		for _, cat := range CategoryIDs {
			if ct := tx.Categories[cat]; ct.Title == "" || ct.Description == "" {
				t.Errorf("%s.categories.%s incomplete", l, cat)
			}
		}
		if !strings.Contains(tx.Placeholder, "{category}") {
			t.Errorf("%s.placeholder lacks {category}", l)
		}
		if tx.AcceptAll == tx.RejectAll {
			t.Errorf("%s: accept and reject have the same text", l)
		}
	}
	// texts.json has no fields the schema does not know.
	var raw map[string]map[string]any
	if err := json.Unmarshal(textsJSON, &raw); err != nil {
		t.Fatal(err)
	}
	known, _ := json.Marshal(Texts{})
	var fields map[string]any
	_ = json.Unmarshal(known, &fields)
	for l, m := range raw {
		for k := range m {
			if _, ok := fields[k]; !ok {
				t.Errorf("texts.json %s: unknown field %q", l, k)
			}
		}
	}
}

func TestRenderPageErrors(t *testing.T) {
	good := testPage(DefaultConfig(), "en")
	bad := DefaultConfig()
	bad.Layout = "popup"
	for name, p := range map[string]Page{
		"empty site":    {API: good.API, Version: good.Version, RuleSet: OptIn, Config: good.Config},
		"site quote":    {Site: `a"b`, API: good.API, Version: good.Version, RuleSet: OptIn, Config: good.Config},
		"relative API":  {Site: "s", API: "/api", Version: good.Version, RuleSet: OptIn, Config: good.Config},
		"js API":        {Site: "s", API: "javascript:alert(1)", Version: good.Version, RuleSet: OptIn, Config: good.Config},
		"no version":    {Site: "s", API: good.API, RuleSet: OptIn, Config: good.Config},
		"rule set":      {Site: "s", API: good.API, Version: good.Version, RuleSet: "opt-maybe", Config: good.Config},
		"zero config":   {Site: "s", API: good.API, Version: good.Version, RuleSet: OptIn},
		"invalid field": {Site: "s", API: good.API, Version: good.Version, RuleSet: OptIn, Config: bad},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Render(p); !errors.Is(err, ErrInvalidPage) && !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("Render: err = %v, want ErrInvalidPage or ErrInvalidConfig", err)
			}
			if _, err := PublicConfig(p); err == nil {
				t.Error("PublicConfig accepted it")
			}
		})
	}
}

func TestPublicConfig(t *testing.T) {
	c := DefaultConfig()
	c.Colors = Colors{Primary: "#ffcc00", Background: "#102030"}
	p := testPage(c, "de")
	p.API = "https://crumb.example/"
	p.RuleSet = OptOut
	out, err := PublicConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	if m["site"] != "s_123" || m["version"] != p.Version || m["rule_set"] != "opt-out" || m["api"] != "https://crumb.example" {
		t.Errorf("head fields: %v %v %v %v", m["site"], m["version"], m["rule_set"], m["api"])
	}
	colors := m["colors"].(map[string]any)
	if colors["on_primary"] != "#000000" || colors["text"] != "#ffffff" {
		t.Errorf("colors not resolved for contrast: %v", colors)
	}
	if _, ok := m["texts"].(map[string]any)["de"]; !ok {
		t.Errorf("texts: %v", m["texts"])
	}
}

func TestBundleFresh(t *testing.T) {
	js, err := bundle.Build("src")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(js, bundleJS) {
		t.Fatalf("dist/crumb.min.js is stale (%d bytes; the sources build to %d): run `go generate ./widget` and commit dist/", len(bundleJS), len(js))
	}
	if b, err := os.ReadFile("dist/crumb.min.js"); err != nil || !bytes.Equal(b, bundleJS) {
		t.Fatal("the embedded bundle differs from dist/crumb.min.js")
	}
}

func gzipLen(t testing.TB, b []byte) int {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return buf.Len()
}

// TestSizeBudget: the widget.js of the default config in one language, JS and CSS as
// served, gzipped, stays within 8 KB.
func TestSizeBudget(t *testing.T) {
	const budget = 8 * 1024
	maxLang, maxN := "", 0
	for _, lang := range Languages() {
		c := DefaultConfig()
		c.DefaultLanguage = lang
		js, err := Render(testPage(c, lang))
		if err != nil {
			t.Fatal(err)
		}
		n := gzipLen(t, js)
		if lang == "en" {
			t.Logf("widget.js (default config, en): %d bytes, %d gzipped; bundle alone %d gzipped", len(js), n, gzipLen(t, bundleJS))
		}
		if n > maxN {
			maxLang, maxN = lang, n
		}
		if n > budget {
			t.Errorf("%s: widget.js is %d bytes gzipped, budget %d", lang, n, budget)
		}
	}
	t.Logf("largest: %s, %d bytes gzipped (budget %d)", maxLang, maxN, budget)
	// A site that shares consent with three others carries their domains and the same code.
	c := DefaultConfig()
	c.DefaultLanguage = maxLang
	c.ShareConsent = true
	p := testPage(c, maxLang)
	p.ShareDomains = []string{"shop-b.example", "shop-c.example", "www.shop-d.example"}
	js, err := Render(p)
	if err != nil {
		t.Fatal(err)
	}
	if n := gzipLen(t, js); n > budget {
		t.Errorf("%s, sharing with three sites: widget.js is %d bytes gzipped, budget %d", maxLang, n, budget)
	} else {
		t.Logf("%s, sharing with three sites: %d bytes gzipped", maxLang, n)
	}
}

// TestRenderDefaults: the inline config is PublicConfig's, less fields that hold the value
// the widget assumes when one is missing (crumb.js: the destructuring of __crumb_config
// and its truthiness tests) and texts the widget cannot show with that config.
func TestRenderDefaults(t *testing.T) {
	data, err := os.ReadFile("testdata/full_config.json")
	if err != nil {
		t.Fatal(err)
	}
	full, err := ParseConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	hidden := DefaultConfig()
	hidden.Categories[2].Enabled = false
	reordered := DefaultConfig()
	reordered.Categories[1], reordered.Categories[2] = reordered.Categories[2], reordered.Categories[1]
	none := DefaultConfig()
	none.Categories = nil
	none.ConsentMode, none.AutoBlock, none.SettingsButton = false, false, false
	colored := DefaultConfig()
	colored.Colors = Colors{Text: "#102030"}
	notice := testPage(DefaultConfig(), "en", "de")
	notice.RuleSet = Notice
	pages := map[string]Page{"notice": notice}
	for name, c := range map[string]Config{"default": DefaultConfig(), "full": full, "hidden": hidden, "reordered": reordered, "none": none, "colored": colored} {
		pages[name] = testPage(c, "en", "de")
	}

	allFour := []any{}
	for _, id := range CategoryIDs {
		allFour = append(allFour, map[string]any{"id": id, "enabled": true})
	}
	// assumed: what the widget takes for a field that is not there.
	assumed := func(k string, v any) bool {
		switch k {
		case "categories": // (an empty list offers none)
			return reflect.DeepEqual(v, allFour)
		case "colors":
			return reflect.DeepEqual(v, map[string]any{"primary": "", "background": "", "text": "", "on_primary": ""})
		}
		return v == "" || v == false || reflect.DeepEqual(v, []any{})
	}
	// unshown: a text crumb.js does not read with config c.
	unshown := func(k string, c map[string]any) bool {
		switch k {
		case "settings":
			return c["settings_button"] == false
		case "privacy_link":
			return c["privacy_url"] == ""
		case "ok":
			return c["rule_set"] != Notice
		case "table_name", "table_provider", "table_purpose", "table_expiry":
			return len(c["cookies"].([]any)) == 0
		}
		return false
	}
	omitted := map[string]bool{}
	for name, p := range pages {
		js, err := Render(p)
		if err != nil {
			t.Fatal(err)
		}
		in := inlineConfig(t, js)
		pub, err := PublicConfig(p)
		if err != nil {
			t.Fatal(err)
		}
		var want map[string]any
		if err := json.Unmarshal(pub, &want); err != nil {
			t.Fatal(err)
		}
		for k, w := range want {
			v, ok := in[k]
			switch {
			case !ok && !assumed(k, w):
				t.Errorf("%s: %s %v left out, but the widget does not assume it", name, k, w)
			case !ok:
				omitted[k] = true
			case k == "colors" || k == "texts":
				// Compared one level down (texts: two), where fields may be left out too.
				for ck, cw := range w.(map[string]any) {
					cv, ok := v.(map[string]any)[ck]
					if k == "colors" {
						if ok && cv != cw || !ok && cw != "" {
							t.Errorf("%s: colors.%s %v, want %v", name, ck, cv, cw)
						}
						continue
					}
					if !ok {
						t.Errorf("%s: texts.%s missing", name, ck)
						continue
					}
					lv := cv.(map[string]any)
					for tk, tw := range cw.(map[string]any) {
						tv, ok := lv[tk]
						switch {
						case !ok && !unshown(tk, want):
							t.Errorf("%s: texts.%s.%s left out, but the widget shows it", name, ck, tk)
						case !ok:
							omitted["texts."+tk] = true
						case !reflect.DeepEqual(tv, tw):
							t.Errorf("%s: texts.%s.%s %v, want %v", name, ck, tk, tv, tw)
						}
					}
					for tk := range lv {
						if _, ok := cw.(map[string]any)[tk]; !ok {
							t.Errorf("%s: texts.%s.%s inlined, not in PublicConfig", name, ck, tk)
						}
					}
				}
			case !reflect.DeepEqual(v, w):
				t.Errorf("%s: %s %v, want %v", name, k, v, w)
			}
		}
		for k := range in {
			if _, ok := want[k]; !ok {
				t.Errorf("%s: %s inlined, not in PublicConfig", name, k)
			}
		}
		// The texts the widget does show with this config are all there.
		if name == "full" || name == "notice" {
			for lang, lt := range in["texts"].(map[string]any) {
				for _, k := range map[string][]string{"full": {"privacy_link", "table_name", "table_expiry"}, "notice": {"ok", "settings"}}[name] {
					if _, ok := lt.(map[string]any)[k]; !ok {
						t.Errorf("%s: texts.%s.%s left out", name, lang, k)
					}
				}
			}
		}
	}
	for _, k := range []string{"categories", "colors", "services", "cookies", "share_domains", "privacy_url", "consent_mode",
		"texts.settings", "texts.privacy_link", "texts.ok", "texts.table_name", "texts.table_expiry"} {
		if !omitted[k] {
			t.Errorf("%s never left out", k)
		}
	}
}

func TestRenderShareDomains(t *testing.T) {
	domains := []string{"shop-b.example", "www.shop-c.example"}
	for _, tt := range []struct {
		name    string
		share   bool
		domains []string
		want    string
	}{
		{"sharing off", false, domains, `[]`},
		{"sharing on", true, domains, `["shop-b.example","www.shop-c.example"]`},
		{"no other site shares", true, nil, `[]`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.ShareConsent = tt.share
			p := testPage(c, "en")
			p.ShareDomains = tt.domains
			b, err := PublicConfig(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, []byte(`"share_domains":`+tt.want)) {
				t.Errorf("want share_domains %s in %.200s…", tt.want, b)
			}
			// Render leaves an empty list out (the widget defaults it).
			js, err := Render(p)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := inlineConfig(t, js)["share_domains"]
			if tt.want == `[]` && ok {
				t.Errorf("inlined share_domains %v, want none", got)
			} else if tt.want != `[]` && !bytes.Contains(js, []byte(`"share_domains":`+tt.want)) {
				t.Errorf("want share_domains %s in %.200s…", tt.want, js)
			}
		})
	}
	many := make([]string, MaxShareDomains+1)
	for i := range many {
		many[i] = fmt.Sprintf("shop%d.example", i)
	}
	for _, bad := range [][]string{{"Shop.example"}, {"https://shop.example"}, {"shop.example:443"}, {""}, {"*.shop.example"}, many} {
		c := DefaultConfig()
		c.ShareConsent = true
		p := testPage(c, "en")
		p.ShareDomains = bad
		if _, err := Render(p); !errors.Is(err, ErrInvalidPage) {
			t.Errorf("share domains %.40q: err = %v, want ErrInvalidPage", bad, err)
		}
	}
}

var cssVar = regexp.MustCompile(`--(bg|fg|mu|p|pt):\s*(#[0-9a-f]{6})`)

// TestThemeContrast checks the default themes' text colours against WCAG 2.1 AA (4.5:1).
func TestThemeContrast(t *testing.T) {
	css, err := os.ReadFile("src/crumb.css")
	if err != nil {
		t.Fatal(err)
	}
	themes := map[string]string{"light": blockOf(t, string(css), ".cc {"), "dark": blockOf(t, string(css), ".dark {")}
	for name, block := range themes {
		v := map[string]string{}
		for _, m := range cssVar.FindAllStringSubmatch(block, -1) {
			v[m[1]] = m[2]
		}
		for _, pair := range [][2]string{{"fg", "bg"}, {"mu", "bg"}, {"pt", "p"}} {
			a, b := v[pair[0]], v[pair[1]]
			if a == "" || b == "" {
				t.Fatalf("%s theme: --%s or --%s missing", name, pair[0], pair[1])
			}
			if r := ContrastRatio(a, b); r < 4.5 {
				t.Errorf("%s theme: --%s %s on --%s %s is %.2f:1", name, pair[0], a, pair[1], b, r)
			}
		}
	}
	// The dark theme under prefers-color-scheme repeats .dark exactly.
	auto := blockOf(t, string(css), ".auto {")
	if strings.Join(cssVar.FindAllString(auto, -1), ";") != strings.Join(cssVar.FindAllString(themes["dark"], -1), ";") {
		t.Error(".auto (dark scheme) differs from .dark")
	}
}

func blockOf(t *testing.T, css, start string) string {
	i := strings.Index(css, start)
	if i < 0 {
		t.Fatalf("crumb.css: no %q", start)
	}
	j := strings.Index(css[i:], "}")
	return css[i : i+j]
}

func BenchmarkRender(b *testing.B) {
	data, err := os.ReadFile("testdata/full_config.json")
	if err != nil {
		b.Fatal(err)
	}
	full, err := ParseConfig(data)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		p    Page
	}{
		{"default/en", testPage(DefaultConfig(), "en")},
		{"full/de,en,fr", testPage(full, "de", "en", "fr")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				js, err := Render(bc.p)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(js)))
			}
		})
	}
}
