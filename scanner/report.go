package scanner

import "time"

// Engine names accepted by Options.Engine and written to Report.Engine.
const (
	EngineColly  = "colly"
	EngineChrome = "chrome"
)

// Categories of a cookie, as in the banner (DESIGN §6) plus "unclassified".
const (
	Necessary    = "necessary"
	Preferences  = "preferences"
	Statistics   = "statistics"
	Marketing    = "marketing"
	Unclassified = "unclassified"
)

// Sources of a classification, written to Cookie.Source.
const (
	SourceBuiltin   = "builtin"
	SourceOpenDB    = "open-cookie-database"
	SourceOverride  = "override"
	SourceHeuristic = "heuristic"
)

// How a cookie was set, written to Cookie.SetBy.
const (
	SetByHeader = "header"
	SetByScript = "script"
)

// Phases of a chrome scan with Options.Consent "all". A page is loaded once
// per phase, each time in a fresh browser context.
const (
	PhaseBeforeConsent = "before_consent" // no choice made
	PhaseAfterAccept   = "after_accept"   // after "Accept all" in the Crumb banner
	PhaseAfterReject   = "after_reject"   // after "Reject all" in the Crumb banner
)

// Report is the result of a scan. Its JSON form is the contract of DESIGN §7:
// fields may be added, never renamed or removed.
type Report struct {
	URL      string    `json:"url"`
	Engine   string    `json:"engine"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Pages    []Page    `json:"pages"`
	Cookies  []Cookie  `json:"cookies"`
	Requests []Request `json:"requests"`

	// Additions to the contract.

	// Storage lists the localStorage and sessionStorage keys that scripts
	// wrote (chrome engine only).
	Storage []StorageItem `json:"storage,omitempty"`
	// Consent is "all" when each page was also run after Accept all and
	// after Reject all (chrome engine), "" otherwise.
	Consent string `json:"consent,omitempty"`
	// Phases summarises each run of the pages (chrome engine with Consent
	// "all"): how many pages ran and on how many the banner was missing.
	Phases []Phase `json:"phases,omitempty"`
	// Truncated is true when the scan stopped early: canceled, out of time,
	// or a limit (pages, distinct cookies or requests) was reached.
	Truncated bool `json:"truncated,omitempty"`
}

// Page is one crawled page.
type Page struct {
	URL    string `json:"url"`
	Status int    `json:"status"` // HTTP status, 0 when no response came
	// Additions.
	FinalURL string `json:"final_url,omitempty"` // after redirects, when it differs
	Error    string `json:"error,omitempty"`     // why the page failed, if it did
}

// Cookie is one cookie the site set, identified by name, domain and path.
// Domain is the host for a host-only cookie, and ".example.com" for a cookie
// with a Domain attribute (the convention of browsers' cookie stores).
type Cookie struct {
	Name          string   `json:"name"`
	Domain        string   `json:"domain"`
	Path          string   `json:"path"`
	Expires       string   `json:"expires"` // RFC 3339, "" for a session cookie
	Secure        bool     `json:"secure"`
	HTTPOnly      bool     `json:"http_only"`
	SameSite      string   `json:"same_site"` // "Strict", "Lax", "None" or "" when not given
	ThirdParty    bool     `json:"third_party"`
	SetBy         string   `json:"set_by"`    // SetByHeader or SetByScript
	Initiator     string   `json:"initiator"` // URL of the response or script that set it
	Pages         []string `json:"pages"`
	Category      string   `json:"category"`
	Source        string   `json:"source"`
	BeforeConsent bool     `json:"before_consent"`

	// Additions.
	Provider    string   `json:"provider,omitempty"`
	Purpose     string   `json:"purpose,omitempty"`
	Partitioned bool     `json:"partitioned,omitempty"`  // CHIPS: kept per top-level site
	Hint        string   `json:"hint,omitempty"`         // why an unclassified cookie looks like what it is
	Phases      []string `json:"phases,omitempty"`       // the phases in which it was seen (Consent "all")
	AfterReject bool     `json:"after_reject,omitempty"` // outside necessary and seen after Reject all
}

// Request is a request the page makes or would make (colly: resources named in
// the HTML; chrome: every request the browser sent).
type Request struct {
	URL        string `json:"url"`
	ThirdParty bool   `json:"third_party"`
	// Additions.
	Type  string   `json:"type,omitempty"` // script, iframe, img, stylesheet, xhr, …
	Pages []string `json:"pages,omitempty"`
}

// StorageItem is a Web Storage key a script wrote.
type StorageItem struct {
	Key           string   `json:"key"`
	Kind          string   `json:"kind"`   // "local" or "session"
	Origin        string   `json:"origin"` // origin of the frame that wrote it
	ThirdParty    bool     `json:"third_party"`
	Initiator     string   `json:"initiator"`
	Pages         []string `json:"pages"`
	Category      string   `json:"category"`
	Source        string   `json:"source"`
	Provider      string   `json:"provider,omitempty"`
	Purpose       string   `json:"purpose,omitempty"`
	Hint          string   `json:"hint,omitempty"`
	BeforeConsent bool     `json:"before_consent"`
	Phases        []string `json:"phases,omitempty"`
	AfterReject   bool     `json:"after_reject,omitempty"`
}

// Phase summarises one run of the pages.
type Phase struct {
	Name          string `json:"name"`
	Pages         int    `json:"pages"`
	BannerMissing int    `json:"banner_missing,omitempty"` // pages where no Crumb banner button was found
}
