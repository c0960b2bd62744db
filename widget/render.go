package widget

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// ErrInvalidPage wraps Render and PublicConfig errors about the Page itself (site, API,
// version, rule set); a bad Config gives ErrInvalidConfig.
var ErrInvalidPage = errors.New("widget: invalid page")

// Rule sets: which consent rules apply to a visitor (DESIGN §8).
const (
	OptIn  = "opt-in"  // nothing but necessary before a choice
	OptOut = "opt-out" // everything granted until refused; Global Privacy Control refuses marketing
	Notice = "notice"  // information only: all granted, one OK button
)

// Page is everything one widget.js response depends on.
type Page struct {
	Site      string   // site id
	API       string   // absolute base URL of the Crumb server, e.g. "https://crumb.example"
	Version   string   // banner config version shown
	RuleSet   string   // OptIn, OptOut or Notice
	Config    Config   // the banner config of Version
	Languages []string // from ParseAcceptLanguage; Render inlines only these and DefaultLanguage
	// ShareDomains are the domains (lower case, no port, as account stores them) of the
	// account's other sites whose current config has ShareConsent. The widget hands its
	// consent on to links to these hosts and their subdomains, and takes one from them.
	// Render inlines them only when Config.ShareConsent is true; empty turns sharing off.
	ShareDomains []string
}

// MaxShareDomains bounds Page.ShareDomains: each one is inlined into every widget.js.
const MaxShareDomains = 200

//go:embed texts.json
var textsJSON []byte

// builtin holds the built-in texts per language, every field filled.
var builtin = mustLoadTexts(textsJSON)

func mustLoadTexts(data []byte) map[string]Texts {
	var m map[string]Texts
	if err := json.Unmarshal(data, &m); err != nil {
		panic("widget: texts.json: " + err.Error())
	}
	return m
}

// Languages lists the languages with built-in texts, sorted.
func Languages() []string { return sortedKeys(builtin) }

// rtl holds the primary language tags written right to left.
var rtl = map[string]bool{"ar": true, "arc": true, "ckb": true, "dv": true, "fa": true, "he": true,
	"ks": true, "ps": true, "sd": true, "ug": true, "ur": true, "yi": true}

// Dir is the writing direction of a language: "rtl" or "ltr".
func Dir(lang string) string {
	if rtl[lang] {
		return "rtl"
	}
	return "ltr"
}

// resolvedTexts are the complete texts of one language as the widget receives them.
type resolvedTexts struct {
	Texts
	Dir string `json:"dir"`
}

type resolvedColors struct {
	Colors
	OnPrimary string `json:"on_primary"` // text on primary buttons: black or white, whichever contrasts more
}

// publicConfig is the JSON the widget runs on and GET /v1/sites/{site}/config returns.
type publicConfig struct {
	Site                string                   `json:"site"`
	Version             string                   `json:"version"`
	RuleSet             string                   `json:"rule_set"`
	API                 string                   `json:"api"`
	DefaultLanguage     string                   `json:"default_language"`
	Layout              string                   `json:"layout"`
	Position            string                   `json:"position"`
	Theme               string                   `json:"theme"`
	Colors              resolvedColors           `json:"colors"`
	Categories          []Category               `json:"categories"`
	Services            []Service                `json:"services"`
	Texts               map[string]resolvedTexts `json:"texts"`
	PrivacyURL          string                   `json:"privacy_url"`
	ConsentLifetimeDays int                      `json:"consent_lifetime_days"`
	CookieDomain        string                   `json:"cookie_domain"`
	SettingsButton      bool                     `json:"settings_button"`
	ConsentMode         bool                     `json:"consent_mode"`
	AutoBlock           bool                     `json:"auto_block"`
	Cookies             []DeclaredCookie         `json:"cookies"`
	ShareDomains        []string                 `json:"share_domains"` // [] unless the site shares
}

// inlinedConfig is publicConfig as Render inlines it: the fields the widget defaults itself
// are left out when they hold that default (empty strings, colours and lists, false, and
// the four categories all offered in order), and so are texts this config never shows,
// since every byte is in every page view (TestSizeBudget). PublicConfig keeps them all:
// its shape is the public API's.
type inlinedConfig struct {
	Site                string                 `json:"site"`
	Version             string                 `json:"version"`
	RuleSet             string                 `json:"rule_set"`
	API                 string                 `json:"api"`
	DefaultLanguage     string                 `json:"default_language"`
	Layout              string                 `json:"layout"`
	Position            string                 `json:"position"`
	Theme               string                 `json:"theme"`
	Colors              inlinedColors          `json:"colors,omitzero"`
	Categories          []Category             `json:"categories,omitzero"` // nil: all four offered
	Services            []Service              `json:"services,omitempty"`
	Texts               map[string]inlinedLang `json:"texts"`
	PrivacyURL          string                 `json:"privacy_url,omitempty"`
	ConsentLifetimeDays int                    `json:"consent_lifetime_days"`
	CookieDomain        string                 `json:"cookie_domain,omitempty"`
	SettingsButton      bool                   `json:"settings_button,omitempty"`
	ConsentMode         bool                   `json:"consent_mode,omitempty"`
	AutoBlock           bool                   `json:"auto_block,omitempty"`
	Cookies             []DeclaredCookie       `json:"cookies,omitempty"`
	ShareDomains        []string               `json:"share_domains,omitempty"`
}

// inlinedTexts are Texts (a conversion keeps the two in step) less the texts inline blanks.
type inlinedTexts struct {
	Title            string                  `json:"title"`
	Description      string                  `json:"description"`
	AcceptAll        string                  `json:"accept_all"`
	RejectAll        string                  `json:"reject_all"`
	Customize        string                  `json:"customize"`
	Save             string                  `json:"save"`
	Close            string                  `json:"close"`
	Settings         string                  `json:"settings,omitempty"`
	PrivacyLink      string                  `json:"privacy_link,omitempty"`
	Placeholder      string                  `json:"placeholder"`
	PlaceholderAllow string                  `json:"placeholder_allow"`
	AlwaysOn         string                  `json:"always_on"`
	OK               string                  `json:"ok,omitempty"`
	TableName        string                  `json:"table_name,omitempty"`
	TableProvider    string                  `json:"table_provider,omitempty"`
	TablePurpose     string                  `json:"table_purpose,omitempty"`
	TableExpiry      string                  `json:"table_expiry,omitempty"`
	Categories       map[string]CategoryText `json:"categories"`
}

type inlinedLang struct {
	inlinedTexts
	Dir string `json:"dir"`
}

type inlinedColors struct {
	Primary    string `json:"primary,omitempty"`
	Background string `json:"background,omitempty"`
	Text       string `json:"text,omitempty"`
	OnPrimary  string `json:"on_primary,omitempty"`
}

func inline(c *publicConfig) inlinedConfig {
	out := inlinedConfig{
		Site:                c.Site,
		Version:             c.Version,
		RuleSet:             c.RuleSet,
		API:                 c.API,
		DefaultLanguage:     c.DefaultLanguage,
		Layout:              c.Layout,
		Position:            c.Position,
		Theme:               c.Theme,
		Colors:              inlinedColors{c.Colors.Primary, c.Colors.Background, c.Colors.Text, c.Colors.OnPrimary},
		Categories:          c.Categories,
		Services:            c.Services,
		Texts:               make(map[string]inlinedLang, len(c.Texts)),
		PrivacyURL:          c.PrivacyURL,
		ConsentLifetimeDays: c.ConsentLifetimeDays,
		CookieDomain:        c.CookieDomain,
		SettingsButton:      c.SettingsButton,
		ConsentMode:         c.ConsentMode,
		AutoBlock:           c.AutoBlock,
		Cookies:             c.Cookies,
		ShareDomains:        c.ShareDomains,
	}
	if allOffered(c.Categories) {
		out.Categories = nil
	}
	// What crumb.js cannot show: the settings entry stays hidden without settings_button,
	// the privacy link is there only with privacy_url, the cookie declaration's table
	// only with cookies, and the OK button only under the notice rule set.
	for lang, rt := range c.Texts {
		t := inlinedTexts(rt.Texts)
		if !c.SettingsButton {
			t.Settings = ""
		}
		if c.PrivacyURL == "" {
			t.PrivacyLink = ""
		}
		if len(c.Cookies) == 0 {
			t.TableName, t.TableProvider, t.TablePurpose, t.TableExpiry = "", "", "", ""
		}
		if c.RuleSet != Notice {
			t.OK = ""
		}
		out.Texts[lang] = inlinedLang{t, rt.Dir}
	}
	return out
}

// allOffered reports whether cats are the four categories in display order, all enabled:
// what the widget assumes when the inline config has no categories. (An empty list, which
// a Config built in Go may have, offers none and is inlined as it is.)
func allOffered(cats []Category) bool {
	if len(cats) != len(CategoryIDs) {
		return false
	}
	for i, c := range cats {
		if c.ID != CategoryIDs[i] || !c.Enabled {
			return false
		}
	}
	return true
}

const (
	// The magic comment is V8's explicit compile hint (Chromium 136 on): it compiles every
	// function of the script eagerly, on the streaming thread while the bytes arrive, where
	// it would otherwise compile each one lazily on the page's main thread at its first
	// call. Nearly all of them are called at start; it took about a fifth off the script
	// task's main-thread time (bench/widgetcompare/RESULTS.txt). Other engines ignore it.
	prelude = "//# allFunctionsCalledOnLoad\n{const __crumb_config="
	closing = "}\n"
)

// Render returns the complete widget.js for one page: the resolved config as a
// block-scoped constant, then the embedded bundle. The config JSON is safe inside a
// <script> element and a JS string context: '<', '>', '&', U+2028 and U+2029 are escaped,
// so owner text cannot close the script or break the statement.
func Render(p Page) ([]byte, error) {
	cfg, err := resolve(p)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(len(prelude) + 4096 + len(bundleJS) + len(closing))
	buf.WriteString(prelude)
	enc := json.NewEncoder(&buf) // escapes <, >, &, U+2028, U+2029
	if err := enc.Encode(inline(cfg)); err != nil {
		return nil, fmt.Errorf("widget: render %s: %w", p.Site, err)
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	buf.WriteByte(';')
	buf.Write(bundleJS)
	buf.WriteString(closing)
	return buf.Bytes(), nil
}

// PublicConfig returns the JSON of GET /v1/sites/{site}/config: site, version, rule_set,
// api and the config with the texts of the page's languages resolved.
func PublicConfig(p Page) ([]byte, error) {
	cfg, err := resolve(p)
	if err != nil {
		return nil, err
	}
	out, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("widget: config of %s: %w", p.Site, err)
	}
	return out, nil
}

func (p Page) validate() error {
	switch {
	case p.Site == "" || len(p.Site) > 64 || !urlSafe(p.Site):
		return fmt.Errorf("%w: site id %q", ErrInvalidPage, p.Site)
	case p.Version == "" || len(p.Version) > 64 || !urlSafe(p.Version):
		return fmt.Errorf("%w: version %q", ErrInvalidPage, p.Version)
	case p.RuleSet != OptIn && p.RuleSet != OptOut && p.RuleSet != Notice:
		return fmt.Errorf("%w: rule set %q", ErrInvalidPage, p.RuleSet)
	}
	u, err := url.Parse(p.API)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%w: API %q: want an absolute http(s) base URL", ErrInvalidPage, p.API)
	}
	if len(p.ShareDomains) > MaxShareDomains {
		return fmt.Errorf("%w: %d share domains, at most %d", ErrInvalidPage, len(p.ShareDomains), MaxShareDomains)
	}
	for _, d := range p.ShareDomains {
		if !isHostname(d) {
			return fmt.Errorf("%w: share domain %q: want a lower-case host name such as \"shop.example\"", ErrInvalidPage, d)
		}
	}
	return nil
}

func urlSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// resolve builds the widget's config: the languages the visitor asked for that the site
// has texts for, plus the default language, each with every text filled.
func resolve(p Page) (*publicConfig, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	c := p.Config
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("widget: render %s: %w", p.Site, err)
	}
	langs := pickLanguages(c, p.Languages)
	out := &publicConfig{
		Site:                p.Site,
		Version:             p.Version,
		RuleSet:             p.RuleSet,
		API:                 strings.TrimRight(p.API, "/"),
		DefaultLanguage:     c.DefaultLanguage,
		Layout:              c.Layout,
		Position:            c.Position,
		Theme:               c.Theme,
		Colors:              resolveColors(c.Colors),
		Categories:          c.Categories,
		Services:            make([]Service, len(c.Services)),
		Texts:               make(map[string]resolvedTexts, len(langs)),
		PrivacyURL:          c.PrivacyURL,
		ConsentLifetimeDays: c.ConsentLifetimeDays,
		CookieDomain:        c.CookieDomain,
		SettingsButton:      c.SettingsButton,
		ConsentMode:         c.ConsentMode,
		AutoBlock:           c.AutoBlock,
		Cookies:             c.Cookies,
		ShareDomains:        []string{},
	}
	if c.ShareConsent {
		out.ShareDomains = append(out.ShareDomains, p.ShareDomains...)
	}
	if out.Categories == nil {
		out.Categories = []Category{}
	}
	if out.Cookies == nil {
		out.Cookies = []DeclaredCookie{}
	}
	for _, lang := range langs {
		out.Texts[lang] = resolvedTexts{Texts: textsFor(c, lang), Dir: Dir(lang)}
	}
	for i, s := range c.Services {
		desc := make(map[string]string, len(langs))
		for _, lang := range langs {
			if d := serviceDescription(s, lang, c.DefaultLanguage); d != "" {
				desc[lang] = d
			}
		}
		s.Description = desc
		if s.Cookies == nil {
			s.Cookies = []string{}
		}
		if s.Hosts == nil {
			s.Hosts = []string{}
		}
		out.Services[i] = s
	}
	return out, nil
}

// hasTexts reports whether the site can speak lang: built in, or texts from the owner.
func hasTexts(c Config, lang string) bool {
	if _, ok := builtin[lang]; ok {
		return true
	}
	_, ok := c.Texts[lang]
	return ok
}

// PickLanguages returns the languages Render inlines for a visitor who asked for requested:
// Render's output depends on the request's languages only through this list, so callers
// can key caches on it.
func (c Config) PickLanguages(requested []string) []string { return pickLanguages(c, requested) }

// pickLanguages returns the requested languages the site has texts for, in order, and the
// default language, at most 9.
func pickLanguages(c Config, requested []string) []string {
	out := make([]string, 0, 4)
	for _, l := range requested {
		if len(out) == maxAcceptLanguages {
			break
		}
		if IsLanguage(l) && hasTexts(c, l) && !contains(out, l) {
			out = append(out, l)
		}
	}
	if !contains(out, c.DefaultLanguage) {
		out = append(out, c.DefaultLanguage)
	}
	return out
}

// textsFor fills every field of one language: the owner's text, else the built-in text of
// that language, else the English one.
func textsFor(c Config, lang string) Texts {
	owner := c.Texts[lang]
	base := builtin[lang]
	en := builtin["en"]
	pick := func(fields ...string) string {
		for _, f := range fields {
			if f != "" {
				return f
			}
		}
		return ""
	}
	t := Texts{
		Title:            pick(owner.Title, base.Title, en.Title),
		Description:      pick(owner.Description, base.Description, en.Description),
		AcceptAll:        pick(owner.AcceptAll, base.AcceptAll, en.AcceptAll),
		RejectAll:        pick(owner.RejectAll, base.RejectAll, en.RejectAll),
		Customize:        pick(owner.Customize, base.Customize, en.Customize),
		Save:             pick(owner.Save, base.Save, en.Save),
		Close:            pick(owner.Close, base.Close, en.Close),
		Settings:         pick(owner.Settings, base.Settings, en.Settings),
		PrivacyLink:      pick(owner.PrivacyLink, base.PrivacyLink, en.PrivacyLink),
		Placeholder:      pick(owner.Placeholder, base.Placeholder, en.Placeholder),
		PlaceholderAllow: pick(owner.PlaceholderAllow, base.PlaceholderAllow, en.PlaceholderAllow),
		AlwaysOn:         pick(owner.AlwaysOn, base.AlwaysOn, en.AlwaysOn),
		OK:               pick(owner.OK, base.OK, en.OK),
		TableName:        pick(owner.TableName, base.TableName, en.TableName),
		TableProvider:    pick(owner.TableProvider, base.TableProvider, en.TableProvider),
		TablePurpose:     pick(owner.TablePurpose, base.TablePurpose, en.TablePurpose),
		TableExpiry:      pick(owner.TableExpiry, base.TableExpiry, en.TableExpiry),
		Categories:       make(map[string]CategoryText, len(CategoryIDs)),
	}
	for _, cat := range c.Categories {
		if !cat.Enabled {
			continue
		}
		o, b, e := owner.Categories[cat.ID], base.Categories[cat.ID], en.Categories[cat.ID]
		t.Categories[cat.ID] = CategoryText{
			Title:       pick(o.Title, b.Title, e.Title),
			Description: pick(o.Description, b.Description, e.Description),
		}
	}
	return t
}

// serviceDescription picks a service's description for lang: that language, the default
// language, English, or else the first language it has.
func serviceDescription(s Service, lang, def string) string {
	for _, l := range []string{lang, def, "en"} {
		if d := s.Description[l]; d != "" {
			return d
		}
	}
	keys := make([]string, 0, len(s.Description))
	for k := range s.Description {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if d := s.Description[k]; d != "" {
			return d
		}
	}
	return ""
}

func resolveColors(c Colors) resolvedColors {
	r := resolvedColors{Colors: c}
	if c.Primary != "" {
		r.OnPrimary = bestText(c.Primary)
	}
	if c.Background != "" && c.Text == "" {
		r.Text = bestText(c.Background)
	}
	if c.Text != "" && c.Background == "" {
		r.Background = bestText(c.Text)
	}
	return r
}

// bestText is black or white, whichever has more contrast on bg.
func bestText(bg string) string {
	if ContrastRatio("#000000", bg) >= ContrastRatio("#ffffff", bg) {
		return "#000000"
	}
	return "#ffffff"
}
