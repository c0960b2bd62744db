package widget

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(c.Canonical()), string(DefaultConfig().Canonical()); got != want {
		t.Fatalf("{} parsed to\n%s\nwant the default\n%s", got, want)
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
}

func TestParseConfigFull(t *testing.T) {
	data, err := os.ReadFile("testdata/full_config.json")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	if c.Colors.Primary != "#0b5fff" {
		t.Errorf("primary colour not lower-cased: %q", c.Colors.Primary)
	}
	if got := c.Services[0].Hosts[0]; got != "www.google-analytics.com" {
		t.Errorf("host not lower-cased: %q", got)
	}
	wantCats := []Category{{Necessary, true}, {Preferences, true}, {Statistics, true}, {Marketing, false}}
	if len(c.Categories) != 4 {
		t.Fatalf("categories = %v", c.Categories)
	}
	for i, cat := range wantCats {
		if c.Categories[i] != cat {
			t.Errorf("categories[%d] = %v, want %v", i, c.Categories[i], cat)
		}
	}
	if c.ConsentLifetimeDays != 180 || c.SettingsButton || !c.ConsentMode || !c.AutoBlock || c.CookieDomain != "example.com" || !c.ShareConsent {
		t.Errorf("scalars not taken over: %+v", c)
	}
	if c.Texts["de"].Categories["statistics"].Title != "Statistik" {
		t.Errorf("category text lost: %+v", c.Texts["de"])
	}
	// Canonical is a fixed point: parsing it gives the same bytes again.
	canon := c.Canonical()
	c2, err := ParseConfig(canon)
	if err != nil {
		t.Fatalf("canonical form does not parse: %v\n%s", err, canon)
	}
	if !bytes.Equal(c2.Canonical(), canon) {
		t.Fatalf("canonical not stable:\n%s\n%s", canon, c2.Canonical())
	}
}

func TestParseConfigInvalid(t *testing.T) {
	long := strings.Repeat("x", 201)
	tests := []struct {
		name, json, want string
	}{
		{"not an object", `[]`, "want a JSON object"},
		{"null", `null`, "want a JSON object"},
		{"empty", ``, "want a JSON object"},
		{"trailing data", `{} {}`, "after top-level value"},
		{"unknown field", `{"colour":"#000000"}`, "/colour: unknown field"},
		{"unknown nested field", `{"services":[{"name":"a","category":"marketing","url":"x"}]}`, "/services/0/url: unknown field"},
		{"case-folded field", `{"Layout":"bar"}`, "/Layout: unknown field"},
		{"duplicate field", `{"layout":"bar","layout":"box"}`, "duplicate"},
		{"wrong type", `{"layout":1}`, "/layout: wrong type"},
		{"wrong type bool", `{"auto_block":"yes"}`, "/auto_block: wrong type"},
		{"share_consent type", `{"share_consent":1}`, "/share_consent: wrong type"},
		{"default_language", `{"default_language":"EN"}`, "default_language"},
		{"default_language region", `{"default_language":"en-GB"}`, "default_language"},
		{"layout", `{"layout":"popup"}`, `layout "popup"`},
		{"position for layout", `{"layout":"bar","position":"center"}`, `position "center": a bar layout`},
		{"modal position", `{"layout":"modal","position":"top"}`, "position"},
		{"theme", `{"theme":"neon"}`, "theme"},
		{"color short", `{"colors":{"primary":"#fff"}}`, "colors.primary"},
		{"color name", `{"colors":{"background":"red"}}`, "colors.background"},
		{"color css", `{"colors":{"text":"#00000g"}}`, "colors.text"},
		{"low contrast", `{"colors":{"text":"#777777","background":"#888888"}}`, "contrast"},
		{"unknown category", `{"categories":[{"id":"analytics","enabled":true}]}`, `unknown category "analytics"`},
		{"duplicate category", `{"categories":[{"id":"marketing","enabled":true},{"id":"marketing","enabled":false}]}`, "twice"},
		{"necessary off", `{"categories":[{"id":"necessary","enabled":false}]}`, "necessary cannot be disabled"},
		{"service without name", `{"services":[{"name":" ","category":"marketing"}]}`, "services[0].name: required"},
		{"service name long", `{"services":[{"name":"` + long + `","category":"marketing"}]}`, "services[0].name: 201 characters"},
		{"service duplicate", `{"services":[{"name":"a","category":"marketing"},{"name":"a","category":"statistics"}]}`, "services[1].name"},
		{"service category", `{"services":[{"name":"a","category":"ads"}]}`, "services[0].category"},
		{"service description language", `{"services":[{"name":"a","category":"marketing","description":{"English":"x"}}]}`, `language "English"`},
		{"service cookie pattern", `{"services":[{"name":"a","category":"marketing","cookies":["a b"]}]}`, "services[0].cookies[0]"},
		{"service cookie star inside", `{"services":[{"name":"a","category":"marketing","cookies":["a*b"]}]}`, "services[0].cookies[0]"},
		{"service cookie only star", `{"services":[{"name":"a","category":"marketing","cookies":["*"]}]}`, "services[0].cookies[0]"},
		{"service host url", `{"services":[{"name":"a","category":"marketing","hosts":["https://x.com/"]}]}`, "services[0].hosts[0]"},
		{"service host wildcard", `{"services":[{"name":"a","category":"marketing","hosts":["*.x.com"]}]}`, "services[0].hosts[0]"},
		{"texts language", `{"texts":{"EN":{}}}`, `texts: language "EN"`},
		{"texts control", `{"texts":{"en":{"title":"a\u0000b"}}}`, "texts.en.title: control character"},
		{"texts C1 control", `{"texts":{"en":{"description":"a\u0085b"}}}`, "texts.en.description: control character U+0085"},
		{"texts too long", `{"texts":{"en":{"accept_all":"` + long + `"}}}`, "texts.en.accept_all"},
		{"texts category", `{"texts":{"en":{"categories":{"ads":{"title":"Ads"}}}}}`, `texts.en.categories: unknown category "ads"`},
		{"privacy javascript", `{"privacy_url":"javascript:alert(1)"}`, "privacy_url"},
		{"privacy relative", `{"privacy_url":"/privacy"}`, "privacy_url"},
		{"privacy data", `{"privacy_url":"data:text/html,x"}`, "privacy_url"},
		{"privacy userinfo", `{"privacy_url":"https://a:b@example.com/"}`, "user info"},
		{"privacy space", `{"privacy_url":"https://example.com/a b"}`, "privacy_url"},
		{"lifetime zero", `{"consent_lifetime_days":0}`, "consent_lifetime_days 0"},
		{"lifetime long", `{"consent_lifetime_days":731}`, "consent_lifetime_days 731"},
		{"lifetime float", `{"consent_lifetime_days":1.5}`, "/consent_lifetime_days"},
		{"cookie domain dot", `{"cookie_domain":".example.com"}`, "cookie_domain"},
		{"cookie domain single label", `{"cookie_domain":"localhost"}`, "cookie_domain"},
		{"cookie domain port", `{"cookie_domain":"example.com:443"}`, "cookie_domain"},
		{"declared cookie name", `{"cookies":[{"name":"","category":"necessary"}]}`, "cookies[0].name: required"},
		{"declared cookie category", `{"cookies":[{"name":"a","category":"unclassified"}]}`, "cookies[0].category"},
		{"too big", `{"texts":{"en":{"description":"` + strings.Repeat("y", MaxConfigBytes) + `"}}}`, "at most 65536"},
		{"many problems", `{"layout":"x","theme":"y","consent_lifetime_days":0,"privacy_url":"ftp://x","cookie_domain":"-","default_language":"1",` +
			`"colors":{"primary":"x","background":"y","text":"z"}}`, "and 1 more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tt.json))
			if err == nil {
				t.Fatalf("accepted: %s", c.Canonical())
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error does not wrap ErrInvalidConfig: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestParseConfigLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"services":[`)
	for i := 0; i <= MaxServices; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"name":"s` + strconv.Itoa(i) + `","category":"statistics"}`)
	}
	b.WriteString(`]}`)
	_, err := ParseConfig([]byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "services: 201, at most 200") {
		t.Fatalf("201 services: err = %v", err)
	}
}

func TestCanonicalDeterministic(t *testing.T) {
	// The same config written with different key and map orders, spellings and
	// whitespace has one canonical form and so one version.
	a := `{"texts":{"fr":{"title":"Cookies ?"},"de":{"title":"Kekse"}},"colors":{"primary":"#AABBCC"},
		"categories":[{"id":"statistics","enabled":false},{"id":"necessary","enabled":true}],
		"services":[{"name":"X","category":"marketing","description":{"fr":"b","en":"a"}}]}`
	b := `{"services":[{"description":{"en":"a","fr":"b"},"name":"X","category":"marketing","cookies":[],"hosts":[]}],
		"categories":[{"id":"necessary","enabled":true},{"id":"preferences","enabled":true},{"id":"statistics","enabled":false},{"id":"marketing","enabled":true}],
		"colors":{"primary":"#aabbcc"},"texts":{"de":{"title":"Kekse"},"fr":{"title":"Cookies ?"}}}`
	ca, err := ParseConfig([]byte(a))
	if err != nil {
		t.Fatal(err)
	}
	cb, err := ParseConfig([]byte(b))
	if err != nil {
		t.Fatal(err)
	}
	x, y := ca.Canonical(), cb.Canonical()
	if !bytes.Equal(x, y) {
		t.Fatalf("canonical forms differ:\n%s\n%s", x, y)
	}
	for i := 0; i < 20; i++ { // map iteration order varies between calls
		if !bytes.Equal(ca.Canonical(), x) {
			t.Fatal("canonical form changed between calls")
		}
	}
	if bytes.ContainsAny(x, "\n\t") || bytes.Contains(x, []byte(": ")) {
		t.Errorf("canonical form not compact: %s", x)
	}
	if !bytes.Contains(x, []byte(`"texts":{"de":{"title":"Kekse"`)) {
		t.Errorf("map keys not sorted: %s", x)
	}
	if VersionOf(x) != VersionOf(y) {
		t.Error("equal configs, different versions")
	}
	// Canonical does not modify the config it is called on.
	c := DefaultConfig()
	c.Services = []Service{{Name: "n", Category: Marketing}}
	c.Texts = map[string]Texts{"en": {Title: "t"}}
	_ = c.Canonical()
	if c.Services[0].Cookies != nil || c.Texts["en"].Categories != nil {
		t.Error("Canonical modified its receiver")
	}
}

func TestCanonicalGolden(t *testing.T) {
	// The canonical bytes of the default config are hashed into versions that are stored
	// for years: a change here changes every default site's version.
	want := `{"default_language":"en","layout":"box","position":"bottom-right","theme":"auto",` +
		`"colors":{"primary":"","background":"","text":""},"categories":[{"id":"necessary","enabled":true},` +
		`{"id":"preferences","enabled":true},{"id":"statistics","enabled":true},{"id":"marketing","enabled":true}],` +
		`"services":[],"texts":{},"privacy_url":"","consent_lifetime_days":365,"cookie_domain":"",` +
		`"settings_button":true,"consent_mode":true,"auto_block":true,"cookies":[]}`
	if got := string(DefaultConfig().Canonical()); got != want {
		t.Fatalf("default canonical =\n%s\nwant\n%s", got, want)
	}
	// HTML-significant characters are kept literally (no \u003c): the bytes are data, and
	// Render escapes for <script> itself.
	c := DefaultConfig()
	c.Texts = map[string]Texts{"en": {Title: "<b>&"}}
	if !bytes.Contains(c.Canonical(), []byte(`"title":"<b>&"`)) {
		t.Errorf("canonical escapes HTML: %s", c.Canonical())
	}
}

func TestShareConsentCanonical(t *testing.T) {
	// share_consent came after configs were stored: false is left out of the canonical
	// form, so that the versions of existing configs (and the golden default) stay.
	off, err := ParseConfig([]byte(`{"share_consent":false}`))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(off.Canonical(), DefaultConfig().Canonical()) || bytes.Contains(off.Canonical(), []byte("share_consent")) {
		t.Errorf("share_consent false changes the canonical form: %s", off.Canonical())
	}
	on, err := ParseConfig([]byte(`{"share_consent":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if !on.ShareConsent || !bytes.HasSuffix(on.Canonical(), []byte(`"share_consent":true}`)) {
		t.Errorf("share_consent true: %v %s", on.ShareConsent, on.Canonical())
	}
	if VersionOf(on.Canonical()) == VersionOf(off.Canonical()) {
		t.Error("sharing on and off have one version")
	}
}

func TestVersionOf(t *testing.T) {
	// echo -n '{}' | sha256sum → 44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a
	if got, want := VersionOf([]byte("{}")), "v44136fa355b3678a"; got != want {
		t.Errorf("VersionOf({}) = %s, want %s", got, want)
	}
	v := VersionOf(DefaultConfig().Canonical())
	if len(v) != 17 || v[0] != 'v' {
		t.Errorf("version %q: want v + 16 hex digits", v)
	}
	c := DefaultConfig()
	c.Theme = "dark"
	if VersionOf(c.Canonical()) == v {
		t.Error("different configs share a version")
	}
}

func TestContrastRatio(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want float64
	}{
		{"#000000", "#ffffff", 21},
		{"#ffffff", "#ffffff", 1},
		{"#767676", "#ffffff", 4.54},
	} {
		if got := ContrastRatio(tt.a, tt.b); got < tt.want-0.01 || got > tt.want+0.01 {
			t.Errorf("ContrastRatio(%s, %s) = %.3f, want %.2f", tt.a, tt.b, got, tt.want)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	full, err := os.ReadFile("testdata/full_config.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{`{}`, string(full), string(DefaultConfig().Canonical()), `{"layout":"modal","position":"center"}`,
		`{"texts":{"ar":{"title":"\u0645"}}}`, `{"services":[{"name":"a","category":"marketing","cookies":["_ga*"]}]}`, `[`, `{"a":`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error does not wrap ErrInvalidConfig: %v", err)
			}
			return
		}
		canon := c.Canonical()
		c2, err := ParseConfig(canon)
		if err != nil {
			t.Fatalf("accepted config's canonical form refused: %v\n%s", err, canon)
		}
		if !bytes.Equal(c2.Canonical(), canon) {
			t.Fatalf("canonical form not a fixed point:\n%s\n%s", canon, c2.Canonical())
		}
	})
}

func BenchmarkParseConfig(b *testing.B) {
	data, err := os.ReadFile("testdata/full_config.json")
	if err != nil {
		b.Fatal(err)
	}
	canon := func() []byte { c, _ := ParseConfig(data); return c.Canonical() }()
	b.ReportAllocs()
	b.SetBytes(int64(len(canon)))
	for b.Loop() {
		if _, err := ParseConfig(canon); err != nil {
			b.Fatal(err)
		}
	}
}
