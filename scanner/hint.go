package scanner

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Tracker is a host family known to serve tracking or advertising scripts,
// pixels or frames.
type Tracker struct {
	Domain   string // registrable domain or host suffix
	Provider string
	Category string // the category its scripts and cookies usually fall in
}

// knownTrackers is Crumb's built-in tracker list, written from the providers'
// public documentation of their tag and pixel hosts.
var knownTrackers = []Tracker{
	{"google-analytics.com", "Google Analytics", Statistics},
	{"analytics.google.com", "Google Analytics", Statistics},
	{"googletagmanager.com", "Google Tag Manager", Statistics},
	{"doubleclick.net", "Google DoubleClick", Marketing},
	{"googlesyndication.com", "Google AdSense", Marketing},
	{"googleadservices.com", "Google Ads", Marketing},
	{"adservice.google.com", "Google Ads", Marketing},
	{"youtube.com", "YouTube", Marketing},
	{"youtube-nocookie.com", "YouTube (privacy-enhanced)", Marketing},
	{"facebook.net", "Meta", Marketing},
	{"facebook.com", "Meta", Marketing},
	{"instagram.com", "Meta", Marketing},
	{"clarity.ms", "Microsoft Clarity", Statistics},
	{"bat.bing.com", "Microsoft Advertising", Marketing},
	{"bing.com", "Microsoft", Marketing},
	{"hotjar.com", "Hotjar", Statistics},
	{"hotjar.io", "Hotjar", Statistics},
	{"licdn.com", "LinkedIn", Marketing},
	{"linkedin.com", "LinkedIn", Marketing},
	{"ads-twitter.com", "X (Twitter)", Marketing},
	{"twitter.com", "X (Twitter)", Marketing},
	{"x.com", "X (Twitter)", Marketing},
	{"tiktok.com", "TikTok", Marketing},
	{"tiktokcdn.com", "TikTok", Marketing},
	{"pinterest.com", "Pinterest", Marketing},
	{"pinimg.com", "Pinterest", Marketing},
	{"snapchat.com", "Snapchat", Marketing},
	{"sc-static.net", "Snapchat", Marketing},
	{"redditstatic.com", "Reddit", Marketing},
	{"reddit.com", "Reddit", Marketing},
	{"hs-scripts.com", "HubSpot", Marketing},
	{"hs-analytics.net", "HubSpot", Marketing},
	{"hsforms.net", "HubSpot", Marketing},
	{"hubspot.com", "HubSpot", Marketing},
	{"criteo.com", "Criteo", Marketing},
	{"criteo.net", "Criteo", Marketing},
	{"taboola.com", "Taboola", Marketing},
	{"outbrain.com", "Outbrain", Marketing},
	{"amazon-adsystem.com", "Amazon Advertising", Marketing},
	{"adnxs.com", "Xandr (AppNexus)", Marketing},
	{"rubiconproject.com", "Magnite", Marketing},
	{"pubmatic.com", "PubMatic", Marketing},
	{"adsrvr.org", "The Trade Desk", Marketing},
	{"casalemedia.com", "Index Exchange", Marketing},
	{"rlcdn.com", "LiveRamp", Marketing},
	{"demdex.net", "Adobe Audience Manager", Marketing},
	{"omtrdc.net", "Adobe Analytics", Statistics},
	{"2o7.net", "Adobe Analytics", Statistics},
	{"quantserve.com", "Quantcast", Marketing},
	{"scorecardresearch.com", "Comscore", Statistics},
	{"addthis.com", "AddThis", Marketing},
	{"sharethis.com", "ShareThis", Marketing},
	{"adroll.com", "AdRoll", Marketing},
	{"segment.com", "Segment", Statistics},
	{"segment.io", "Segment", Statistics},
	{"mixpanel.com", "Mixpanel", Statistics},
	{"amplitude.com", "Amplitude", Statistics},
	{"heapanalytics.com", "Heap", Statistics},
	{"fullstory.com", "FullStory", Statistics},
	{"mouseflow.com", "Mouseflow", Statistics},
	{"luckyorange.com", "Lucky Orange", Statistics},
	{"crazyegg.com", "Crazy Egg", Statistics},
	{"optimizely.com", "Optimizely", Statistics},
	{"visualwebsiteoptimizer.com", "VWO", Statistics},
	{"mc.yandex.ru", "Yandex Metrica", Statistics},
	{"yandex.ru", "Yandex", Marketing},
	{"matomo.cloud", "Matomo", Statistics},
	{"intercom.io", "Intercom", Preferences},
	{"intercomcdn.com", "Intercom", Preferences},
	{"zdassets.com", "Zendesk", Preferences},
	{"drift.com", "Drift", Marketing},
	{"tawk.to", "tawk.to", Preferences},
	{"vimeo.com", "Vimeo", Statistics},
	{"klaviyo.com", "Klaviyo", Marketing},
	{"marketo.net", "Marketo", Marketing},
	{"pardot.com", "Salesforce Pardot", Marketing},
}

// LookupTracker reports whether host belongs to a tracker on the built-in
// list, matching the longest listed domain that host equals or ends with.
func LookupTracker(host string) (Tracker, bool) {
	host = strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(host), "."), ".")
	var best Tracker
	for _, t := range knownTrackers {
		if (host == t.Domain || strings.HasSuffix(host, "."+t.Domain)) && len(t.Domain) > len(best.Domain) {
			best = t
		}
	}
	return best, best.Domain != ""
}

// KnownTrackers returns a copy of the built-in tracker list.
func KnownTrackers() []Tracker { return append([]Tracker(nil), knownTrackers...) }

var hintRules = []struct {
	re   *regexp.Regexp
	text string
}{
	{regexp.MustCompile(`(?i)consent|gdpr|cookie_?(notice|policy|law|banner)|cmp`), "name suggests a consent record (usually necessary)"},
	{regexp.MustCompile(`(?i)csrf|xsrf|antiforgery|verification`), "name suggests a security token (usually necessary)"},
	{regexp.MustCompile(`(?i)sess|auth|login|token`), "name suggests a session or sign-in (often necessary)"},
	{regexp.MustCompile(`(?i)cart|basket|checkout`), "name suggests a shopping cart (usually necessary)"},
	{regexp.MustCompile(`(?i)lang|locale|currency|theme|timezone|region|pref`), "name suggests a preference"},
	{regexp.MustCompile(`(?i)(^|[_.-])(ab|exp|variant|experiment)([_.-]|$)`), "name suggests an A/B test (often statistics)"},
	{regexp.MustCompile(`(?i)utm|campaign|click|gclid|fbclid|ref(errer)?([_.-]|$)|aff`), "name suggests campaign attribution (often marketing)"},
	{regexp.MustCompile(`(?i)uid|uuid|visitor|track|_id$|^id$|cid|guid`), "name suggests a visitor identifier (often statistics or marketing)"},
}

// hint explains what an unclassified cookie or storage key looks like, from
// its name, its attributes and the host of the response or script that set
// it. It never decides a category.
func hint(s site, name, initiator string, thirdParty, session, httpOnly bool, expires time.Time, now time.Time) string {
	var parts []string
	if u, err := url.Parse(initiator); err == nil && u.Host != "" {
		if t, ok := LookupTracker(u.Hostname()); ok {
			parts = append(parts, fmt.Sprintf("set by %s, a %s host (usually %s)", u.Hostname(), t.Provider, t.Category))
		} else if s.contains(u.Hostname()) {
			parts = append(parts, "set by the site itself ("+u.Hostname()+")")
		} else {
			parts = append(parts, "set by "+u.Hostname()+", another site")
		}
	}
	for _, r := range hintRules {
		if r.re.MatchString(name) {
			parts = append(parts, r.text)
			break
		}
	}
	if thirdParty {
		parts = append(parts, "third party")
	}
	switch {
	case session:
		parts = append(parts, "session cookie")
	case !expires.IsZero():
		days := int(expires.Sub(now).Hours() / 24)
		if days >= 365 {
			parts = append(parts, fmt.Sprintf("persistent for %d days (long-lived identifiers are typical of tracking)", days))
		} else {
			parts = append(parts, fmt.Sprintf("persistent for %d days", days))
		}
	}
	if httpOnly {
		parts = append(parts, "HttpOnly: scripts cannot read it, typical of server sessions")
	}
	return strings.Join(parts, "; ")
}
