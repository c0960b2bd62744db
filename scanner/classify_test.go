package scanner

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ocdPath is the Open Cookie Database copy shared by the project's tests; it
// is never copied into the repository.
var ocdPath = filepath.Join("..", "..", "shared", "data", "open-cookie-database.csv")

func openOCD(t testing.TB) *os.File {
	t.Helper()
	f, err := os.Open(ocdPath)
	if err != nil {
		t.Skipf("skipping: Open Cookie Database not found at %s (%v)", ocdPath, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestClassifyWellKnown(t *testing.T) {
	c := NewClassifier()
	for _, tc := range []struct {
		name, domain, category, provider string
	}{
		{"_ga", ".example.com", Statistics, "Google Analytics"},
		{"_ga_ABC123XYZ", ".example.com", Statistics, "Google Analytics"},
		{"_gid", ".example.com", Statistics, "Google Analytics"},
		{"_gat", ".example.com", Statistics, "Google Analytics"},
		{"_gat_UA-12345-1", ".example.com", Statistics, "Google Analytics"},
		{"_gat_gtag_UA_1_1", ".example.com", Statistics, "Google Analytics"},
		{"__utma", ".example.com", Statistics, ""},
		{"AMP_TOKEN", "example.com", Statistics, "Google Analytics"}, // exact beats Amplitude's AMP_*
		{"_gcl_au", ".example.com", Marketing, "Google Ads"},
		{"_gcl_gb", ".example.com", Marketing, "Google Ads"},
		{"IDE", ".doubleclick.net", Marketing, "Google DoubleClick"},
		{"test_cookie", ".doubleclick.net", Marketing, "Google DoubleClick"},
		{"NID", ".google.com", Marketing, "Google"},
		{"__Secure-3PSID", ".google.com", Marketing, "Google"},
		{"__Secure-3PSIDTS", ".google.com", Marketing, "Google"},
		{"AEC", ".google.com", Necessary, "Google"},
		{"YSC", ".youtube.com", Marketing, "YouTube"},
		{"VISITOR_INFO1_LIVE", ".youtube.com", Marketing, "YouTube"},
		{"_fbp", ".example.com", Marketing, "Meta"},
		{"fr", ".facebook.com", Marketing, "Meta"},
		{"MUID", ".bing.com", Marketing, "Microsoft"},
		{"_uetsid", ".example.com", Marketing, "Microsoft Advertising"},
		{"_uetvid", ".example.com", Marketing, "Microsoft Advertising"},
		{"_clck", ".example.com", Statistics, "Microsoft Clarity"},
		{"_clsk", ".example.com", Statistics, "Microsoft Clarity"},
		{"_hjSession_123456", ".example.com", Statistics, "Hotjar"},
		{"_hjSessionUser_123456", ".example.com", Statistics, "Hotjar"},
		{"_hjSomethingNew", ".example.com", Statistics, "Hotjar"},
		{"li_sugr", ".linkedin.com", Marketing, "LinkedIn"},
		{"bcookie", ".linkedin.com", Marketing, "LinkedIn"},
		{"hubspotutk", ".example.com", Marketing, "HubSpot"},
		{"__hstc", ".example.com", Marketing, "HubSpot"},
		{"__hssc", ".example.com", Statistics, "HubSpot"},
		{"PHPSESSID", "example.com", Necessary, "PHP"},
		{"JSESSIONID", "example.com", Necessary, ""},
		{"ASP.NET_SessionId", "example.com", Necessary, "ASP.NET"},
		{"ASPSESSIONIDQACTQRAB", "example.com", Necessary, "Classic ASP"},
		{"csrftoken", "example.com", Necessary, "Django"},
		{"XSRF-TOKEN", "example.com", Necessary, ""},
		{"__cf_bm", ".example.com", Necessary, "Cloudflare"},
		{"cf_clearance", ".example.com", Necessary, "Cloudflare"},
		{"wordpress_logged_in_0123abcd", "example.com", Necessary, "WordPress"},
		{"wp-settings-1", "example.com", Preferences, "WordPress"},
		{"wp-settings-time-1", "example.com", Preferences, "WordPress"},
		{"crumb_consent", "example.com", Necessary, "Crumb"},
		{"CookieConsent", "example.com", Necessary, "Cookiebot"},
		{"OptanonConsent", ".example.com", Necessary, "OneTrust"},
		{"cookieyes-consent", "example.com", Necessary, "CookieYes"},
		{"__stripe_mid", ".example.com", Necessary, "Stripe"},
		{"intercom-id-abc123", ".example.com", Preferences, "Intercom"},
		{"_ttp", ".example.com", Marketing, "TikTok"},
		{"_pin_unauth", ".example.com", Marketing, "Pinterest"},
		{"personalization_id", ".twitter.com", Marketing, "X (Twitter)"},
		{"guest_id", ".x.com", Marketing, "X (Twitter)"},
		{"_pk_id.1.a1b2", "example.com", Statistics, "Matomo"},
		{"_pk_ses.1.a1b2", "example.com", Statistics, "Matomo"},
		{"s_cc", ".example.com", Statistics, "Adobe Analytics"},
		{"AMCV_0123456789ABCDEF%40AdobeOrg", ".example.com", Marketing, "Adobe Experience Cloud"},
		{"mp_0123abcd_mixpanel", ".example.com", Statistics, "Mixpanel"},
		{"ajs_anonymous_id", ".example.com", Statistics, "Segment"},
		{"ajs_custom", ".example.com", Statistics, "Segment"},
		{"optimizelyEndUserId", ".example.com", Statistics, "Optimizely"},
		{"_shopify_y", ".example.com", Statistics, "Shopify"},
		{"_s", ".example.com", Statistics, "Shopify"},
		{"cart", "example.com", Necessary, "Shopify"},
		{"AMP_abcdef1234", ".example.com", Statistics, "Amplitude"},
		{"AMP_MKTG_abcdef1234", ".example.com", Marketing, "Amplitude"},
		// Ambiguous short names only on their provider's domains.
		{"fr", "example.com", Unclassified, ""},
		{"NID", ".example.com", Unclassified, ""},
		{"uid", ".example.com", Unclassified, ""},
		{"uid", ".criteo.com", Marketing, "Criteo / Adform"},
		{"totally_unknown_cookie", "example.com", Unclassified, ""},
		{"", "example.com", Unclassified, ""},
	} {
		got := c.Classify(tc.name, tc.domain)
		if got.Category != tc.category || (tc.provider != "" && got.Provider != tc.provider) {
			t.Errorf("Classify(%q, %q) = %+v, want %s (%s)", tc.name, tc.domain, got, tc.category, tc.provider)
		}
		wantSource := SourceBuiltin
		if tc.category == Unclassified {
			wantSource = SourceHeuristic
		}
		if got.Source != wantSource {
			t.Errorf("Classify(%q): source %q, want %q", tc.name, got.Source, wantSource)
		}
	}
}

func TestBuiltinDatabase(t *testing.T) {
	defs := BuiltinDefinitions()
	if len(defs) < 150 {
		t.Errorf("built-in database has %d definitions, want at least 150", len(defs))
	}
	seen := map[string]bool{}
	for _, d := range defs {
		key := d.Name + "|" + strings.Join(d.Domains, ",")
		if seen[key] {
			t.Errorf("duplicate definition %q", key)
		}
		seen[key] = true
		if !ValidCategory(d.Category) || d.Provider == "" || d.Purpose == "" || d.Lifetime == "" || d.Source != SourceBuiltin {
			t.Errorf("incomplete definition %+v", d)
		}
		if strings.Count(d.Name, "*") > 1 {
			t.Errorf("pattern %q has more than one *", d.Name)
		}
	}
	if n := NewClassifier().Len(); n != len(defs) {
		t.Errorf("classifier holds %d definitions, database %d", n, len(defs))
	}
}

func TestClassifierPrecedence(t *testing.T) {
	c := NewClassifier()
	c.Add([]Definition{
		{Name: "_s*", Category: Marketing, Provider: "short prefix"},
		{Name: "_session*", Category: Preferences, Provider: "longer prefix"},
		{Name: "_session_exact", Category: Necessary, Provider: "exact"},
		{Name: "_ga", Category: Marketing, Provider: "imported _ga"},         // loses to the built-in exact name
		{Name: "_hjViewportId", Category: Necessary, Provider: "imported"},   // exact beats the built-in _hj* pattern
		{Name: "_hjSession_*", Category: Marketing, Provider: "imported"},    // a tie with the built-in pattern: built-in wins
		{Name: "bad", Category: "Functional"},                                // not a Crumb category: skipped
		{Name: "a*b*c", Category: Marketing},                                 // two stars: skipped
		{Name: "_session_exact", Category: Marketing, Provider: "duplicate"}, // first one stays
	})
	for _, tc := range []struct{ name, category, provider, source string }{
		{"_session_exact", Necessary, "exact", SourceOpenDB},
		{"_session_other", Preferences, "longer prefix", SourceOpenDB},
		{"_sxyz", Marketing, "short prefix", SourceOpenDB},
		{"_ga", Statistics, "Google Analytics", SourceBuiltin},
		{"_hjViewportId", Necessary, "imported", SourceOpenDB},
		{"_hjSession_42", Statistics, "Hotjar", SourceBuiltin},
		{"bad", Unclassified, "", SourceHeuristic},
		{"a_b_c", Unclassified, "", SourceHeuristic},
	} {
		got := c.Classify(tc.name, "example.com")
		if got.Category != tc.category || got.Provider != tc.provider || got.Source != tc.source {
			t.Errorf("Classify(%q) = %+v, want %s/%s/%s", tc.name, got, tc.category, tc.provider, tc.source)
		}
	}

	// Overrides win over everything, exact first, then the longest pattern.
	site, err := c.WithOverrides(map[string]string{"_ga": Necessary, "_session*": Marketing, "_session_ex*": Statistics})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"_ga": Necessary, "_session_x": Marketing, "_session_exact": Statistics} {
		if got := site.Classify(name, ""); got.Category != want || got.Source != SourceOverride {
			t.Errorf("with overrides, Classify(%q) = %+v, want %s from override", name, got, want)
		}
	}
	if got := c.Classify("_ga", ""); got.Source != SourceBuiltin {
		t.Errorf("WithOverrides changed the original classifier: %+v", got)
	}
	if _, err := c.WithOverrides(map[string]string{"x": "tracking"}); !errors.Is(err, ErrBadCategory) {
		t.Errorf("bad override category: err = %v", err)
	}
	if err := c.SetOverrides(map[string]string{"x": "unclassified"}); !errors.Is(err, ErrBadCategory) {
		t.Errorf("unclassified is not an override category: err = %v", err)
	}
	if err := c.SetOverrides(map[string]string{"x": Marketing}); err != nil {
		t.Fatal(err)
	}
	if got := c.Classify("x", ""); got.Category != Marketing || got.Source != SourceOverride {
		t.Errorf("SetOverrides: %+v", got)
	}
}

func TestOpenCookieDatabaseImport(t *testing.T) {
	defs, err := ParseOpenCookieDatabase(openOCD(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(defs) < 2000 || len(defs) > 2264 {
		t.Errorf("%d definitions from 2,264 rows", len(defs))
	}
	names := map[string]Definition{}
	for _, d := range defs {
		if _, dup := names[d.Name]; dup {
			t.Errorf("duplicate name %q survived", d.Name)
		}
		names[d.Name] = d
		if !ValidCategory(d.Category) || d.Source != SourceOpenDB {
			t.Errorf("bad definition %+v", d)
		}
	}
	// Quirks: a 2-character wildcard becomes an exact name; the first of
	// duplicated rows stays; a wildcard row is a prefix pattern.
	for name, want := range map[string]string{"_s": "Shopify", "tp": "Bombora", "_ga_*": "Google Analytics", "wp-settings-*": ""} {
		d, ok := names[name]
		if !ok || (want != "" && d.Provider != want) {
			t.Errorf("definition %q = %+v, want provider %q", name, d, want)
		}
	}
	if _, ok := names["_s*"]; ok {
		t.Error("2-character prefix _s kept as a pattern")
	}

	c := NewClassifier()
	c.Add(defs)
	for _, tc := range []struct{ name, domain, category, source string }{
		{"CookieConsentBulkTicket", "", Necessary, SourceOpenDB}, // Functional → necessary
		{"_ga", "", Statistics, SourceBuiltin},                   // built-in exact first
		{"_sxyz_unknown", "", Unclassified, SourceHeuristic},     // "_s" does not swallow it
		{"_session_id", "", Necessary, SourceBuiltin},            // exact beats any prefix
		{"PHPSESSID", "", Necessary, SourceBuiltin},              //
		{"fr", ".facebook.com", Marketing, SourceBuiltin},        //
		{"fr", "example.com", Marketing, SourceOpenDB},           // the database has no domain limits
		{"_hjSessionUser_1", "", Statistics, SourceBuiltin},      //
		{"__kla_id", "", Marketing, SourceBuiltin},               //
		{"test_cookie", ".doubleclick.net", Marketing, SourceBuiltin},
	} {
		got := c.Classify(tc.name, tc.domain)
		if got.Category != tc.category || got.Source != tc.source {
			t.Errorf("with the database, Classify(%q, %q) = %+v, want %s from %s", tc.name, tc.domain, got, tc.category, tc.source)
		}
	}
}

func TestParseOpenCookieDatabaseErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":          "",
		"no header":      "\n",
		"missing column": "ID,Platform,Category\n1,x,Analytics\n",
		"binary":         "\x00\x01\x02\xff",
		"json":           `[{"name":"_ga","category":"Analytics"}]`,
	} {
		if _, err := ParseOpenCookieDatabase(strings.NewReader(in)); !errors.Is(err, ErrBadCSV) {
			t.Errorf("%s: err = %v, want ErrBadCSV", name, err)
		}
	}
	// Columns in another order, a BOM, quirky rows.
	in := "\ufeffWildcard match,Cookie / Data Key name,Category\n" +
		"1,abc_,Analytics\n" + // prefix
		"0,,Analytics\n" + // no name: skipped
		"0,x,Tracking\n" + // unknown category: skipped
		"1,ab,Marketing\n" + // short prefix: exact
		"0,SSPR_*,Functional\n" + // a star in the name: a pattern
		"0,Site History,Personalization\n" // a storage key with a space
	defs, err := ParseOpenCookieDatabase(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range defs {
		got = append(got, d.Name+"="+d.Category)
	}
	want := "abc_*=statistics ab=marketing SSPR_*=necessary Site History=preferences"
	if strings.Join(got, " ") != want {
		t.Errorf("parsed %q, want %q", strings.Join(got, " "), want)
	}
}

func FuzzParseOpenCookieDatabase(f *testing.F) {
	f.Add("ID,Platform,Category,Cookie / Data Key name,Domain,Description,Retention period,Data Controller,User Privacy & GDPR Rights Portals,Wildcard match\n" +
		"1,Google Analytics,Analytics,_ga,,\"Distinguishes, users\",2 years,Google,https://x,0\n" +
		"2,Google Analytics,Analytics,_ga_,,d,2 years,Google,https://x,1\n")
	f.Add("Category,Cookie / Data Key name,Wildcard match\nMarketing,tp,1\nFunctional,SSPR_*,0\n")
	f.Add("\ufeffCategory,Cookie / Data Key name,Wildcard match\n\"Analytics\",\"a\"\"b\",0")
	f.Add("Category,Cookie / Data Key name,Wildcard match\nAnalytics,\xff\xfe,0\n")
	f.Add("a,b\n\"")
	f.Fuzz(func(t *testing.T, in string) {
		defs, err := ParseOpenCookieDatabase(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrBadCSV) || defs != nil {
				t.Fatalf("error %v with %d definitions", err, len(defs))
			}
			return
		}
		seen := map[string]bool{}
		for _, d := range defs {
			if d.Name == "" || !ValidCategory(d.Category) || strings.Count(d.Name, "*") > 1 || seen[d.Name] {
				t.Fatalf("bad definition %+v", d)
			}
			seen[d.Name] = true
		}
		c := NewClassifier()
		c.Add(defs)
		for _, d := range defs {
			if got := c.Classify(strings.ReplaceAll(d.Name, "*", "x"), ""); got.Category == "" || got.Source == "" {
				t.Fatalf("Classify(%q) = %+v", d.Name, got)
			}
		}
	})
}

func TestTrackerList(t *testing.T) {
	for host, want := range map[string]string{
		"www.google-analytics.com": "Google Analytics",
		"connect.facebook.net":     "Meta",
		"bat.bing.com":             "Microsoft Advertising",
		"www.bing.com":             "Microsoft",
		"static.hotjar.com":        "Hotjar",
		"example.com":              "",
		"notgoogle-analytics.com":  "",
	} {
		tr, ok := LookupTracker(host)
		if ok != (want != "") || tr.Provider != want {
			t.Errorf("LookupTracker(%q) = %+v, %v; want %q", host, tr, ok, want)
		}
	}
	if len(KnownTrackers()) < 50 {
		t.Errorf("tracker list has %d entries", len(KnownTrackers()))
	}
}
