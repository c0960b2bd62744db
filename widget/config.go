package widget

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
)

// ErrInvalidConfig wraps every error ParseConfig returns for input it refuses.
var ErrInvalidConfig = errors.New("widget: invalid banner config")

// Limits of a banner config. They keep one widget.js small and one bad config from
// costing the server anything.
const (
	MaxConfigBytes     = 64 << 10 // the JSON document, as sent and as canonical
	MaxServices        = 200
	MaxDeclaredCookies = 500 // scans of big sites find a few hundred
	MaxCookiesPerSvc   = 100
	MaxHostsPerSvc     = 50
	MaxLanguages       = 64 // keys of texts and of a service's description
	maxProblems        = 8  // problems reported by one ParseConfig error
	maxShortText       = 200
	maxLongText        = 4000
	maxURL             = 2048
)

// The four consent categories, in the order the banner shows them. necessary is always
// granted and cannot be switched off or hidden.
const (
	Necessary   = "necessary"
	Preferences = "preferences"
	Statistics  = "statistics"
	Marketing   = "marketing"
)

// CategoryIDs lists the consent categories in display order.
var CategoryIDs = []string{Necessary, Preferences, Statistics, Marketing}

// Config is the banner configuration owners edit. It is stored as immutable versions: the
// version of a config is VersionOf(c.Canonical()).
type Config struct {
	DefaultLanguage     string           `json:"default_language"`      // BCP 47 primary tag, e.g. "en"
	Layout              string           `json:"layout"`                // "bar" | "box" | "modal"
	Position            string           `json:"position"`              // see validPositions
	Theme               string           `json:"theme"`                 // "light" | "dark" | "auto"
	Colors              Colors           `json:"colors"`                // "#rrggbb" or "" for the theme's
	Categories          []Category       `json:"categories"`            // always all four, in CategoryIDs order after ParseConfig
	Services            []Service        `json:"services"`              // listed under their category in the second layer
	Texts               map[string]Texts `json:"texts"`                 // owner overrides per language; empty fields fall back to built-in texts
	PrivacyURL          string           `json:"privacy_url"`           // "" or an absolute http(s) URL
	ConsentLifetimeDays int              `json:"consent_lifetime_days"` // 1..730, default 365
	CookieDomain        string           `json:"cookie_domain"`         // "" = host-only cookie; else a parent domain shared by several sites
	SettingsButton      bool             `json:"settings_button"`       // floating "cookie settings" entry after a choice
	ConsentMode         bool             `json:"consent_mode"`          // push Google Consent Mode v2 defaults and updates
	AutoBlock           bool             `json:"auto_block"`            // hold back scripts/iframes of the services' hosts until granted
	Cookies             []DeclaredCookie `json:"cookies"`               // the cookie declaration table
	// ShareConsent lets this site take a consent given on another site of the same account
	// whose config says so too, and hand its own on (see Page.ShareDomains). Left out of
	// the canonical form while false, so that adding the field changed no version.
	ShareConsent bool `json:"share_consent,omitempty"`
}

// Colors are the site's colours; "" keeps the theme's colour.
type Colors struct {
	Primary    string `json:"primary"`    // buttons, switches, focus ring
	Background string `json:"background"` // banner background
	Text       string `json:"text"`       // banner text
}

// Category says whether the banner offers one consent category. A site hides a category it
// does not use with Enabled false; necessary is always enabled.
type Category struct {
	ID      string `json:"id"`
	Enabled bool   `json:"enabled"`
}

// Service is a third party (or the site itself) that sets cookies or loads content for one
// category. Cookies are names or "prefix*" patterns; Hosts are script/iframe hosts, each
// matching itself and its subdomains (used by auto-blocking).
type Service struct {
	Name        string            `json:"name"`
	Category    string            `json:"category"`
	Description map[string]string `json:"description"` // language → text
	Cookies     []string          `json:"cookies"`
	Hosts       []string          `json:"hosts"`
}

// Texts are the banner's words in one language. Owners set only what they want to change;
// an empty field falls back to the built-in text of that language, then to English.
type Texts struct {
	Title            string                  `json:"title"`
	Description      string                  `json:"description"`
	AcceptAll        string                  `json:"accept_all"`
	RejectAll        string                  `json:"reject_all"`
	Customize        string                  `json:"customize"`
	Save             string                  `json:"save"`
	Close            string                  `json:"close"`
	Settings         string                  `json:"settings"`
	PrivacyLink      string                  `json:"privacy_link"`
	Placeholder      string                  `json:"placeholder"`       // "{category}" is replaced by the category's title
	PlaceholderAllow string                  `json:"placeholder_allow"` // the placeholder's button
	AlwaysOn         string                  `json:"always_on"`         // beside the locked necessary switch
	OK               string                  `json:"ok"`                // the single button of the notice rule set
	TableName        string                  `json:"table_name"`        // column heads of the cookie declaration table
	TableProvider    string                  `json:"table_provider"`
	TablePurpose     string                  `json:"table_purpose"`
	TableExpiry      string                  `json:"table_expiry"`
	Categories       map[string]CategoryText `json:"categories"` // category id → title and description
}

// CategoryText names and explains one category.
type CategoryText struct {
	Title       string `json:"title"`
	Description string `json:"description"`
}

// DeclaredCookie is one row of the cookie declaration table.
type DeclaredCookie struct {
	Name     string `json:"name"`
	Category string `json:"category"`
	Provider string `json:"provider"`
	Purpose  string `json:"purpose"`
	Expiry   string `json:"expiry"` // free text, e.g. "1 year" or "session"
}

var (
	validLayouts   = []string{"bar", "box", "modal"}
	validThemes    = []string{"light", "dark", "auto"}
	validPositions = map[string][]string{
		"bar":   {"bottom", "top"},
		"box":   {"bottom-right", "bottom-left", "bottom", "top", "center"},
		"modal": {"center"},
	}
)

// DefaultConfig is the config of a new site: a box at the bottom right in the visitor's
// colour scheme, English as the default language, all four categories offered.
func DefaultConfig() Config {
	cats := make([]Category, len(CategoryIDs))
	for i, id := range CategoryIDs {
		cats[i] = Category{ID: id, Enabled: true}
	}
	return Config{
		DefaultLanguage:     "en",
		Layout:              "box",
		Position:            "bottom-right",
		Theme:               "auto",
		Categories:          cats,
		Services:            []Service{},
		Texts:               map[string]Texts{},
		ConsentLifetimeDays: 365,
		SettingsButton:      true,
		// DESIGN §6: Consent Mode is pushed wherever a Google tag may run.
		ConsentMode: true,
		// Blocks only the hosts of listed services (the owner's, and those a
		// scan finds beyond necessary), so it is safe on by default.
		AutoBlock: true,
		Cookies:   []DeclaredCookie{},
	}
}

// ParseConfig decodes and validates a banner config. Fields left out keep their
// DefaultConfig value; unknown fields, duplicate keys, wrong types and invalid values are
// refused with an error that wraps ErrInvalidConfig and says what is wrong. The result is
// normalised (colours and hosts lower-cased, categories complete and in order), so that
// equal configs have equal Canonical bytes.
func ParseConfig(data []byte) (Config, error) {
	if len(data) > MaxConfigBytes {
		return Config{}, fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidConfig, len(data), MaxConfigBytes)
	}
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
		return Config{}, fmt.Errorf("%w: want a JSON object", ErrInvalidConfig)
	}
	c := DefaultConfig()
	if err := jsonv2.Unmarshal(data, &c, jsonv2.RejectUnknownMembers(true)); err != nil {
		return Config{}, fmt.Errorf("%w: %s", ErrInvalidConfig, describeJSONError(err))
	}
	if err := c.normalize(); err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	if n := len(c.Canonical()); n > MaxConfigBytes {
		return Config{}, fmt.Errorf("%w: canonical form is %d bytes, at most %d", ErrInvalidConfig, n, MaxConfigBytes)
	}
	return c, nil
}

// describeJSONError turns a decoding error into a message naming the field.
func describeJSONError(err error) string {
	var se *jsonv2.SemanticError
	if errors.As(err, &se) && se.JSONPointer != "" {
		var msg string
		switch {
		case errors.Is(err, jsonv2.ErrUnknownName):
			msg = "unknown field"
		case se.Err != nil:
			msg = se.Err.Error()
		case se.JSONKind != 0 && se.GoType != nil:
			msg = fmt.Sprintf("wrong type: JSON %s where %s is expected", se.JSONKind, jsonKindOf(se.GoType))
		default:
			msg = strings.TrimPrefix(err.Error(), "json: ")
		}
		return fmt.Sprintf("%s: %s", se.JSONPointer, msg)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// jsonKindOf names the JSON kind a Go type decodes from, for error messages.
func jsonKindOf(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a number"
	case reflect.Slice:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// normalize fills what the owner may leave out and brings the rest into one spelling.
func (c *Config) normalize() error {
	c.Colors.Primary = strings.ToLower(c.Colors.Primary)
	c.Colors.Background = strings.ToLower(c.Colors.Background)
	c.Colors.Text = strings.ToLower(c.Colors.Text)
	c.CookieDomain = strings.ToLower(c.CookieDomain)
	// Categories: every id once; missing ones are offered; display order.
	enabled := map[string]bool{}
	for _, cat := range c.Categories {
		if !IsCategory(cat.ID) {
			return fmt.Errorf("%w: categories: unknown category %q (want %s)", ErrInvalidConfig, cat.ID, strings.Join(CategoryIDs, ", "))
		}
		if _, dup := enabled[cat.ID]; dup {
			return fmt.Errorf("%w: categories: %q listed twice", ErrInvalidConfig, cat.ID)
		}
		enabled[cat.ID] = cat.Enabled
	}
	cats := make([]Category, len(CategoryIDs))
	for i, id := range CategoryIDs {
		on, ok := enabled[id]
		cats[i] = Category{ID: id, Enabled: on || !ok}
	}
	if on, ok := enabled[Necessary]; ok && !on {
		return fmt.Errorf("%w: categories: necessary cannot be disabled", ErrInvalidConfig)
	}
	c.Categories = cats
	for i := range c.Services {
		for j, h := range c.Services[i].Hosts {
			c.Services[i].Hosts[j] = strings.ToLower(h)
		}
		if c.Services[i].Description == nil {
			c.Services[i].Description = map[string]string{}
		}
		if c.Services[i].Cookies == nil {
			c.Services[i].Cookies = []string{}
		}
		if c.Services[i].Hosts == nil {
			c.Services[i].Hosts = []string{}
		}
	}
	if c.Services == nil {
		c.Services = []Service{}
	}
	if c.Texts == nil {
		c.Texts = map[string]Texts{}
	}
	if c.Cookies == nil {
		c.Cookies = []DeclaredCookie{}
	}
	return nil
}

// problems collects validation failures so that one error names several of them.
type problems []string

func (p *problems) addf(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	more := ""
	if len(p) > maxProblems {
		more = fmt.Sprintf("; and %d more", len(p)-maxProblems)
		p = p[:maxProblems]
	}
	return fmt.Errorf("%w: %s%s", ErrInvalidConfig, strings.Join(p, "; "), more)
}

// Validate checks every field of c. ParseConfig calls it; call it yourself on a Config
// built in Go. The error wraps ErrInvalidConfig.
func (c Config) Validate() error {
	var p problems
	if !IsLanguage(c.DefaultLanguage) {
		p.addf("default_language %q: want a lower-case primary language tag such as \"en\"", c.DefaultLanguage)
	} else if !hasTexts(c, c.DefaultLanguage) {
		p.addf("default_language %q: no built-in texts for it; add texts.%s", c.DefaultLanguage, c.DefaultLanguage)
	}
	if !contains(validLayouts, c.Layout) {
		p.addf("layout %q: want one of %s", c.Layout, strings.Join(validLayouts, ", "))
	} else if !contains(validPositions[c.Layout], c.Position) {
		p.addf("position %q: a %s layout takes one of %s", c.Position, c.Layout, strings.Join(validPositions[c.Layout], ", "))
	}
	if !contains(validThemes, c.Theme) {
		p.addf("theme %q: want one of %s", c.Theme, strings.Join(validThemes, ", "))
	}
	for _, col := range [][2]string{{"primary", c.Colors.Primary}, {"background", c.Colors.Background}, {"text", c.Colors.Text}} {
		if col[1] != "" && !isHexColor(col[1]) {
			p.addf("colors.%s %q: want #rrggbb or \"\"", col[0], col[1])
		}
	}
	if isHexColor(c.Colors.Background) && isHexColor(c.Colors.Text) {
		if r := ContrastRatio(c.Colors.Text, c.Colors.Background); r < 4.5 {
			p.addf("colors: text %s on background %s has contrast %.2f:1, at least 4.5:1 needed (WCAG 2.1 AA)", c.Colors.Text, c.Colors.Background, r)
		}
	}
	seenCat := map[string]bool{}
	for i, cat := range c.Categories {
		switch {
		case !IsCategory(cat.ID):
			p.addf("categories[%d]: unknown category %q", i, cat.ID)
		case seenCat[cat.ID]:
			p.addf("categories[%d]: %q listed twice", i, cat.ID)
		case cat.ID == Necessary && !cat.Enabled:
			p.addf("categories: necessary cannot be disabled")
		}
		seenCat[cat.ID] = true
	}
	if len(c.Services) > MaxServices {
		p.addf("services: %d, at most %d", len(c.Services), MaxServices)
	}
	seenSvc := map[string]bool{}
	for i, s := range c.Services {
		at := fmt.Sprintf("services[%d]", i)
		if msg := checkText(s.Name, maxShortText, true); msg != "" {
			p.addf("%s.name: %s", at, msg)
		} else if seenSvc[s.Name] {
			p.addf("%s.name %q: listed twice", at, s.Name)
		}
		seenSvc[s.Name] = true
		if !IsCategory(s.Category) {
			p.addf("%s.category %q: want one of %s", at, s.Category, strings.Join(CategoryIDs, ", "))
		}
		if len(s.Description) > MaxLanguages {
			p.addf("%s.description: %d languages, at most %d", at, len(s.Description), MaxLanguages)
		}
		for _, lang := range sortedKeys(s.Description) {
			if !IsLanguage(lang) {
				p.addf("%s.description: language %q: want a lower-case primary language tag", at, lang)
			}
			if msg := checkText(s.Description[lang], maxLongText, false); msg != "" {
				p.addf("%s.description.%s: %s", at, lang, msg)
			}
		}
		if len(s.Cookies) > MaxCookiesPerSvc {
			p.addf("%s.cookies: %d, at most %d", at, len(s.Cookies), MaxCookiesPerSvc)
		}
		for j, name := range s.Cookies {
			if !isCookiePattern(name) {
				p.addf("%s.cookies[%d] %q: want a cookie name or a \"prefix*\" pattern", at, j, name)
			}
		}
		if len(s.Hosts) > MaxHostsPerSvc {
			p.addf("%s.hosts: %d, at most %d", at, len(s.Hosts), MaxHostsPerSvc)
		}
		for j, h := range s.Hosts {
			if !isHostname(h) {
				p.addf("%s.hosts[%d] %q: want a host name such as \"www.googletagmanager.com\"", at, j, h)
			}
		}
	}
	if len(c.Texts) > MaxLanguages {
		p.addf("texts: %d languages, at most %d", len(c.Texts), MaxLanguages)
	}
	for _, lang := range sortedKeys(c.Texts) {
		if !IsLanguage(lang) {
			p.addf("texts: language %q: want a lower-case primary language tag", lang)
		}
		c.Texts[lang].check(&p, "texts."+lang)
	}
	if c.PrivacyURL != "" {
		if msg := checkURL(c.PrivacyURL); msg != "" {
			p.addf("privacy_url %q: %s", c.PrivacyURL, msg)
		}
	}
	if c.ConsentLifetimeDays < 1 || c.ConsentLifetimeDays > 730 {
		p.addf("consent_lifetime_days %d: want 1 to 730", c.ConsentLifetimeDays)
	}
	if c.CookieDomain != "" && (!isHostname(c.CookieDomain) || !strings.Contains(c.CookieDomain, ".")) {
		p.addf("cookie_domain %q: want \"\" or a domain such as \"example.com\" (no leading dot)", c.CookieDomain)
	}
	if len(c.Cookies) > MaxDeclaredCookies {
		p.addf("cookies: %d, at most %d", len(c.Cookies), MaxDeclaredCookies)
	}
	for i, dc := range c.Cookies {
		at := fmt.Sprintf("cookies[%d]", i)
		if msg := checkText(dc.Name, maxShortText, true); msg != "" {
			p.addf("%s.name: %s", at, msg)
		}
		if !IsCategory(dc.Category) {
			p.addf("%s.category %q: want one of %s", at, dc.Category, strings.Join(CategoryIDs, ", "))
		}
		if msg := checkText(dc.Provider, maxShortText, false); msg != "" {
			p.addf("%s.provider: %s", at, msg)
		}
		if msg := checkText(dc.Purpose, maxLongText, false); msg != "" {
			p.addf("%s.purpose: %s", at, msg)
		}
		if msg := checkText(dc.Expiry, maxShortText, false); msg != "" {
			p.addf("%s.expiry: %s", at, msg)
		}
	}
	return p.err()
}

// check validates the texts of one language.
func (t Texts) check(p *problems, at string) {
	short := map[string]string{
		"title": t.Title, "accept_all": t.AcceptAll, "reject_all": t.RejectAll, "customize": t.Customize,
		"save": t.Save, "close": t.Close, "settings": t.Settings, "privacy_link": t.PrivacyLink,
		"placeholder_allow": t.PlaceholderAllow, "always_on": t.AlwaysOn, "ok": t.OK, "table_name": t.TableName,
		"table_provider": t.TableProvider, "table_purpose": t.TablePurpose, "table_expiry": t.TableExpiry,
	}
	for _, k := range sortedKeys(short) {
		if msg := checkText(short[k], maxShortText, false); msg != "" {
			p.addf("%s.%s: %s", at, k, msg)
		}
	}
	if msg := checkText(t.Description, maxLongText, false); msg != "" {
		p.addf("%s.description: %s", at, msg)
	}
	if msg := checkText(t.Placeholder, maxLongText, false); msg != "" {
		p.addf("%s.placeholder: %s", at, msg)
	}
	for _, id := range sortedKeys(t.Categories) {
		if !IsCategory(id) {
			p.addf("%s.categories: unknown category %q", at, id)
			continue
		}
		ct := t.Categories[id]
		if msg := checkText(ct.Title, maxShortText, false); msg != "" {
			p.addf("%s.categories.%s.title: %s", at, id, msg)
		}
		if msg := checkText(ct.Description, maxLongText, false); msg != "" {
			p.addf("%s.categories.%s.description: %s", at, id, msg)
		}
	}
}

// Canonical is the deterministic compact JSON of c: struct fields in declaration order,
// map keys sorted, nil lists as []. It is what gets stored and hashed.
func (c Config) Canonical() []byte {
	c = c.clone()
	if c.Categories == nil {
		c.Categories = []Category{}
	}
	if c.Services == nil {
		c.Services = []Service{}
	}
	for i := range c.Services {
		s := &c.Services[i]
		if s.Description == nil {
			s.Description = map[string]string{}
		}
		if s.Cookies == nil {
			s.Cookies = []string{}
		}
		if s.Hosts == nil {
			s.Hosts = []string{}
		}
	}
	if c.Texts == nil {
		c.Texts = map[string]Texts{}
	}
	for lang, t := range c.Texts {
		if t.Categories == nil {
			t.Categories = map[string]CategoryText{}
			c.Texts[lang] = t
		}
	}
	if c.Cookies == nil {
		c.Cookies = []DeclaredCookie{}
	}
	// encoding/json sorts map keys and its output for these plain types has been stable
	// across Go releases, which matters for bytes that are hashed and kept for years.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		// Only strings, ints, bools, slices and string-keyed maps: cannot fail.
		panic("widget: canonical encoding: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// clone copies c deeply enough that Canonical's fill-ins do not touch the caller's maps.
func (c Config) clone() Config {
	c.Categories = append([]Category(nil), c.Categories...)
	c.Services = append([]Service(nil), c.Services...)
	if c.Texts != nil {
		texts := make(map[string]Texts, len(c.Texts))
		for k, v := range c.Texts {
			texts[k] = v
		}
		c.Texts = texts
	}
	c.Cookies = append([]DeclaredCookie(nil), c.Cookies...)
	return c
}

// VersionOf names a canonical config: "v" and the first 16 hex digits of its SHA-256.
func VersionOf(canonical []byte) string {
	sum := sha256.Sum256(canonical)
	return "v" + hex.EncodeToString(sum[:8])
}

// IsLanguage reports whether s is a primary language subtag as Crumb keys texts by:
// two or three lower-case ASCII letters ("en", "fil").
func IsLanguage(s string) bool {
	if len(s) < 2 || len(s) > 3 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// IsCategory reports whether id is one of the four consent categories.
func IsCategory(id string) bool { return contains(CategoryIDs, id) }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func isHexColor(s string) bool {
	if len(s) != 7 || s[0] != '#' {
		return false
	}
	for i := 1; i < 7; i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ContrastRatio is the WCAG 2.1 contrast ratio of two "#rrggbb" colours (1 to 21).
func ContrastRatio(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// luminance is the WCAG relative luminance of "#rrggbb"; 0 for anything else.
func luminance(hexColor string) float64 {
	if len(hexColor) != 7 {
		return 0
	}
	ch := func(i int) float64 {
		v, err := strconv.ParseUint(hexColor[i:i+2], 16, 8)
		if err != nil {
			return 0
		}
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(1) + 0.7152*ch(3) + 0.0722*ch(5)
}

// checkText returns what is wrong with an owner text, or "". Texts are shown with
// textContent, so markup is harmless (and Render escapes what a <script> needs escaped,
// U+2028 and U+2029 included); C0/C1 control characters other than tab and newline are
// refused because they are never meant and hide things in review.
func checkText(s string, max int, required bool) string {
	if required && strings.TrimSpace(s) == "" {
		return "required"
	}
	if !utf8.ValidString(s) {
		return "not valid UTF-8"
	}
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Sprintf("%d characters, at most %d", n, max)
	}
	for _, r := range s {
		if r != '\n' && r != '\t' && unicode.IsControl(r) {
			return fmt.Sprintf("control character %U", r)
		}
	}
	return ""
}

// checkURL returns what is wrong with a link an owner puts in the banner, or "".
func checkURL(s string) string {
	if len(s) > maxURL {
		return fmt.Sprintf("%d bytes, at most %d", len(s), maxURL)
	}
	u, err := url.Parse(s)
	if err != nil {
		return "not a URL"
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "want an http or https URL"
	}
	if u.Host == "" || u.Hostname() == "" {
		return "want an absolute URL with a host"
	}
	if u.User != nil {
		return "user info is not allowed"
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return "spaces and control characters must be percent-encoded"
		}
	}
	return ""
}

// isCookiePattern accepts a cookie name (RFC 6265 token) or a prefix pattern "name*".
func isCookiePattern(s string) bool {
	s = strings.TrimSuffix(s, "*")
	if s == "" || len(s) > maxShortText {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}*", c) >= 0 {
			return false
		}
	}
	return true
}

// isHostname accepts a lower-case DNS name (letters, digits, hyphens; labels of 1..63).
func isHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// sortedKeys returns the keys of m in order, so that errors and output are deterministic.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
