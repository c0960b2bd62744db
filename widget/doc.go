// Package widget is Crumb's consent banner: the banner config schema owners edit, the
// vanilla JS and CSS of the banner (src/), their esbuild bundle (dist/, embedded), and the
// rendering of the widget.js that one visitor receives.
//
// # Config
//
// A Config is what an owner shapes in the dashboard: layout, colours, the categories
// offered, the services and cookies listed under them, texts per language, the consent
// lifetime, a shared cookie domain, Google Consent Mode, auto-blocking and whether the site
// shares consent with the account's other sites (share_consent). ParseConfig is
// strict: unknown or duplicate fields, wrong types and bad values are refused with an error
// that wraps ErrInvalidConfig and names every problem (at most eight at once), e.g.
//
//	widget: invalid banner config: layout "popup": want one of bar, box, modal; consent_lifetime_days 0: want 1 to 730
//
// Fields left out keep their DefaultConfig values. Configs are stored as immutable
// versions: Canonical gives the deterministic compact JSON (struct order, sorted map keys,
// nil lists as []) and VersionOf names it, "v" and 16 hex digits of its SHA-256:
//
//	c, err := widget.ParseConfig(body) // from PUT /v1/sites/{site}/banner
//	if err != nil {
//		return err // errors.Is(err, widget.ErrInvalidConfig): a 400
//	}
//	canon := c.Canonical()
//	version := widget.VersionOf(canon) // store canon under version
//
// # Rendering
//
// Render returns the complete widget.js for a Page (site, API base URL, version, rule set,
// config and the visitor's languages from ParseAcceptLanguage):
//
//	//# allFunctionsCalledOnLoad
//	{const __crumb_config={…};(()=>{…bundle…})()}
//
// The first line is V8's explicit compile hint: Chromium compiles every function while the
// bytes stream in, off the page's main thread, instead of each one lazily at its first
// call. The config is a block-scoped constant, not a global. Its JSON escapes '<', '>', '&',
// U+2028 and U+2029, so owner text can neither close the <script> nor break the statement;
// the banner inserts owner text with textContent, never as HTML. Only the texts of the
// visitor's languages that the site has (built in or from the owner) plus the default
// language are inlined, each field resolved as owner text, else the built-in text of that
// language, else English: 26 languages cost a visitor nothing, and the response varies by
// Accept-Language. Render is pure and fast (tens of µs, see BenchmarkRender); the server
// caches its output by (site, version, language set) and adds ETag and compression.
// PublicConfig returns the same resolved config as plain JSON for sites that build their
// own banner UI, every field present; Render leaves out those that hold the value the
// widget assumes when one is missing (empty strings, colours and lists, false, all four
// categories offered) and texts the banner cannot show with the config (the privacy link
// without privacy_url, the declaration table's heads without cookies, OK but under the
// notice rule set, the settings entry without settings_button).
//
// Built-in texts (texts.json) cover the 24 official EU languages, Norwegian (nb, no) and
// Icelandic; Languages lists them. Right-to-left languages (ar, he, fa, ur, …) get
// dir="rtl" when an owner adds texts for them.
//
// # The banner in the page
//
// The contract with pages and tests (DESIGN §6): one <crumb-consent> element, appended to
// <html>, with an open shadow root holding all markup and CSS (constructed style sheets,
// which a strict style-src allows). Buttons carry data-action="accept_all", "reject_all",
// "customize" and "save" (each exactly once; also "close" and "settings"); the category
// switches are checkboxes with data-category. The dialog is a <dialog> shown with
// showModal() in the modal layout and as a manual popover otherwise, so it sits in the top
// layer above any z-index. The host element's own styles are !important inside the shadow
// tree, which beats the page's !important rules; a page that hides <html> itself with
// `* { display: none !important }` gets a more specific rule for :root.
//
// The script's own task is kept short, since it holds up the page: it reads the cookie
// (the one thing the decision needs), pushes the Consent Mode defaults, installs
// auto-blocking and appends the first layer. The style sheet is parsed, the dialog opened
// and focused in the next frame (the dialog stays hidden until then); the second layer is
// built when it is first shown, the cookie declaration in a later task.
//
// Blocked content waits as <script type="text/plain" data-crumb-category="statistics">
// (inline or with src) and <iframe data-crumb-src="…" data-crumb-category="marketing">.
// Once every category named is granted, scripts run in document order (one with src is
// waited for before the next runs) with the nonce of the widget's own <script> tag, and
// iframes load; before that an iframe shows a placeholder whose button grants just its
// category. With auto_block, scripts and iframes from a service's hosts are held back the
// same way when other scripts or the parser insert them.
//
// The rule set decides what applies before a choice: nothing under opt-in, everything
// under opt-out and notice. Global Privacy Control (navigator.globalPrivacyControl) refuses
// marketing under opt-out and is recorded as the visitor's choice (method "gpc") when they
// have made none; under opt-in the banner still shows once so they may opt in to the rest.
//
// With consent_mode, every Consent Mode update (a choice, or a stored one on page load) is
// followed in the data layer by {event: "crumb_consent", crumb: {necessary: true, …}}: the
// custom event a Google Tag Manager trigger fires tags on, with the state in the data layer
// variable crumb.<category>. Microsoft's UET gets the same signals in its own consent mode
// (window.uetq: "consent", "default" or "update", {ad_storage} from marketing), which
// Microsoft Advertising requires for visitors in the EEA, UK and Switzerland.
//
// A choice applies at once (scripts, Google Consent Mode update, the crumb:consent event
// and Crumb.onchange), deletes listed first-party cookies of refused categories, and is
// kept in the first-party cookie crumb_consent as "P" + base64url(JSON list of pending
// choices, each with a random nonce) until POST /v1/consent answers; the receipt (a JWT
// whose payload carries state, ver, jti, iat and exp) then replaces it. A failed POST is
// retried on the next page view and on the online event with the same nonce, so the
// ledger records it once. The banner returns when the config version changes or the
// consent is older than the site's lifetime; the new consent names the old one in
// replaces, and a change that grants nothing after something was granted is a "withdraw".
// window.Crumb offers show(), consent(), accepted(category), onchange, version and
// language. A click on any element of the page marked data-crumb-settings (a footer link
// such as <a href="#" data-crumb-settings>Cookie settings</a>) opens the settings as show()
// does, without following the link, so that a page under a strict CSP, with no inline
// onclick, still offers the way back to them. Crumb.set({statistics: true}) records the
// page's own consent control (an "allow statistics" button beside a chart) as a custom
// choice over the current one, and closes the banner if it is open; it returns true. It is
// taken only inside the handler of the visitor's own click, key, pointer or touch event (a
// trusted event of those types), and returns false otherwise, so that a call on load or from
// a timer cannot record a choice the visitor never made. (It is a guard against mistakes, not
// against the site itself: the site's own origin may POST to /v1/consent.)
//
// The cookie declaration: an element <div data-crumb-declaration></div> on the owner's
// privacy page is filled with the site's cookies, a table per category with name, provider,
// purpose and expiry, from the config's cookies (the server fills those from the latest
// scan where the owner has listed none). It is filled once per element, in a task after
// start-up, and uses the visitor's language.
//
// # Consent shared between sites
//
// Subdomains of one parent share the cookie itself (cookie_domain). Sites on different
// registrable domains (shop-a.com, shop-b.de) of one account share by handing the consent
// on in the link, which needs no third-party cookie. Both configs say share_consent; the
// server passes each one the domains of the others as Page.ShareDomains, which Render
// inlines as share_domains (only when the site's own Config.ShareConsent is true):
//
//	page.ShareDomains = []string{"shop-b.de"} // the other sharing sites' Domains
//	js, err := widget.Render(page)
//
// When a visitor who holds a receipt follows a link (click, middle click or Enter; a
// capture listener, so links added later count and nothing is rewritten before) to one of
// those hosts or a subdomain, the widget adds crumb_share=<consent id> to its href. On
// arrival the widget takes the parameter out of the address at once (history.replaceState)
// and, if the referrer is a sharing site too and this site has no valid consent or an
// older one that says something else, asks GET {api}/v1/sites/{site}/shared/{id}
// (no credentials) for {"id","site","state","method","gpc","time"}. On 200 it applies that
// state like a choice and records it here with POST /v1/consent plus "shared_from"; the
// banner waits for the answer, at most 1.5 s, and shows as usual after a 404, an error or
// no answer. The referrer check keeps a link from an e-mail or a third site from making
// someone else's consent this visitor's; the same state is not recorded twice, so links
// back and forth record nothing new.
//
// # Building
//
// The sources are src/crumb.js and src/crumb.css. After editing them run
//
//	go generate ./widget
//
// which bundles and minifies them with esbuild's Go API (internal/bundle) into
// dist/crumb.min.js, CSS inlined. Commit dist/: TestBundleFresh rebuilds in memory and
// fails when the committed file is stale. TestSizeBudget keeps widget.js for the default
// config in any one built-in language under 8 KB gzipped, also with sharing on.
//
// # Tests
//
// Besides the Go unit and fuzz tests, the browser tests run the bundle in headless
// Chromium (chromedp) against a loopback harness that serves test pages and widget.js and
// records consent POSTs. They skip when no Chromium is found ($CRUMB_CHROMIUM,
// /usr/bin/chromium, …) unless CRUMB_REQUIRE_BROWSER=1.
package widget
