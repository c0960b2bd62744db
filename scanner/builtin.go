package scanner

import "sync"

// The built-in cookie database, written for Crumb from the providers' own
// public documentation and common knowledge of what these cookies do. It is
// not derived from the Open Cookie Database, which operators import
// separately (Classifier.Add, Store.ImportOpenCookieDatabase).
//
// Patterns hold one "*". Short or generic names carry the registrable
// domains they are known on, so a site's own "fr" or "uid" cookie is not
// mistaken for Facebook's or Criteo's.

const (
	google    = "google.com"
	youtube   = "youtube.com"
	dclick    = "doubleclick.net"
	facebook  = "facebook.com"
	linkedin  = "linkedin.com"
	bing      = "bing.com"
	clarity   = "clarity.ms"
	tiktok    = "tiktok.com"
	pinterest = "pinterest.com"
)

func def(name, category, provider, purpose, lifetime string, domains ...string) Definition {
	return Definition{Name: name, Category: category, Provider: provider, Purpose: purpose,
		Lifetime: lifetime, Domains: domains, Source: SourceBuiltin}
}

var builtinDefs = []Definition{
	// Crumb itself.
	def("crumb_consent", Necessary, "Crumb", "Stores the visitor's consent choice and its signed receipt", "1 year"),

	// Consent management platforms: all store the visitor's choice.
	def("CookieConsent", Necessary, "Cookiebot", "Stores the visitor's consent choice", "1 year"),
	def("CookieConsentBulkSetting-*", Necessary, "Cookiebot", "Stores a consent choice shared across sites", "1 year"),
	def("OptanonConsent", Necessary, "OneTrust", "Stores the visitor's consent choice per category", "1 year"),
	def("OptanonAlertBoxClosed", Necessary, "OneTrust", "Records that the consent banner was answered", "1 year"),
	def("eupubconsent-v2", Necessary, "IAB TCF", "Stores the TCF publisher consent string", "13 months"),
	def("euconsent-v2", Necessary, "IAB TCF", "Stores the TCF v2 consent string", "13 months"),
	def("euconsent", Necessary, "IAB TCF", "Stores the TCF v1 consent string", "13 months"),
	def("usprivacy", Necessary, "IAB CCPA", "Stores the US privacy (CCPA) string", "1 year"),
	def("cookieyes-consent", Necessary, "CookieYes", "Stores the visitor's consent choice", "1 year"),
	def("cmplz_*", Necessary, "Complianz", "Stores the visitor's consent choice per category", "1 year"),
	def("cookielawinfo-checkbox-*", Necessary, "CookieLawInfo", "Stores the consent choice per category", "1 year"),
	def("viewed_cookie_policy", Necessary, "CookieLawInfo", "Records that the banner was answered", "1 year"),
	def("CookieScriptConsent", Necessary, "Cookie-Script", "Stores the visitor's consent choice", "1 month"),
	def("borlabs-cookie", Necessary, "Borlabs Cookie", "Stores the visitor's consent choice", "1 year"),
	def("cookie_notice_accepted", Necessary, "Cookie Notice", "Records that the notice was accepted", "1 month"),
	def("moove_gdpr_popup", Necessary, "GDPR Cookie Compliance", "Stores the visitor's consent choice", "1 year"),
	def("_iub_cs-*", Necessary, "iubenda", "Stores the visitor's consent choice", "1 year"),
	def("didomi_token", Necessary, "Didomi", "Stores the visitor's consent choice", "1 year"),
	def("klaro", Necessary, "Klaro", "Stores the visitor's consent choice", "1 year"),
	def("cc_cookie", Necessary, "CookieConsent (orestbida)", "Stores the visitor's consent choice", "6 months"),
	def("tarteaucitron", Necessary, "tarteaucitron", "Stores the visitor's consent choice", "1 year"),
	def("axeptio_cookies", Necessary, "Axeptio", "Stores the visitor's consent choice", "1 year"),
	def("axeptio_authorized_vendors", Necessary, "Axeptio", "Stores the vendors the visitor accepted", "1 year"),
	def("axeptio_all_vendors", Necessary, "Axeptio", "Lists the vendors shown to the visitor", "1 year"),
	def("uc_settings", Necessary, "Usercentrics", "Stores the visitor's consent choice (local storage)", "persistent"),
	def("uc_user_interaction", Necessary, "Usercentrics", "Records that the banner was answered (local storage)", "persistent"),
	def("FCCDCF", Necessary, "Google Funding Choices", "Stores the visitor's consent choice", "13 months", google),
	def("FCNEC", Necessary, "Google Funding Choices", "Stores the visitor's consent choice", "1 year", google),

	// Session, security and load balancing of common platforms.
	def("PHPSESSID", Necessary, "PHP", "Keeps the visitor's server-side session", "session"),
	def("JSESSIONID", Necessary, "Java servlet containers", "Keeps the visitor's server-side session", "session"),
	def("ASP.NET_SessionId", Necessary, "ASP.NET", "Keeps the visitor's server-side session", "session"),
	def("ASPSESSIONID*", Necessary, "Classic ASP", "Keeps the visitor's server-side session", "session"),
	def(".AspNetCore.Session", Necessary, "ASP.NET Core", "Keeps the visitor's server-side session", "session"),
	def(".AspNetCore.Antiforgery.*", Necessary, "ASP.NET Core", "Protects forms against cross-site request forgery", "session"),
	def(".AspNetCore.Cookies", Necessary, "ASP.NET Core", "Keeps the visitor signed in", "session"),
	def(".ASPXAUTH", Necessary, "ASP.NET", "Keeps the visitor signed in", "session"),
	def("__RequestVerificationToken", Necessary, "ASP.NET MVC", "Protects forms against cross-site request forgery", "session"),
	def("ARRAffinity", Necessary, "Microsoft Azure", "Routes the visitor to the same server instance", "session"),
	def("ARRAffinitySameSite", Necessary, "Microsoft Azure", "Routes the visitor to the same server instance", "session"),
	def("AWSALB", Necessary, "Amazon Web Services", "Load balancer stickiness", "7 days"),
	def("AWSALBCORS", Necessary, "Amazon Web Services", "Load balancer stickiness for cross-site requests", "7 days"),
	def("AWSALBTG", Necessary, "Amazon Web Services", "Load balancer target group stickiness", "7 days"),
	def("AWSALBTGCORS", Necessary, "Amazon Web Services", "Load balancer target group stickiness", "7 days"),
	def("AWSELB", Necessary, "Amazon Web Services", "Classic load balancer stickiness", "session"),
	def("csrftoken", Necessary, "Django", "Protects forms against cross-site request forgery", "1 year"),
	def("sessionid", Necessary, "Django", "Keeps the visitor's session", "2 weeks"),
	def("django_language", Preferences, "Django", "Remembers the visitor's language", "session"),
	def("XSRF-TOKEN", Necessary, "Laravel / Angular", "Protects requests against cross-site request forgery", "2 hours"),
	def("laravel_session", Necessary, "Laravel", "Keeps the visitor's session", "2 hours"),
	def("connect.sid", Necessary, "Express", "Keeps the visitor's session", "session"),
	def("rack.session", Necessary, "Rack", "Keeps the visitor's session", "session"),
	def("_session_id", Necessary, "Ruby on Rails", "Keeps the visitor's session", "session"),
	def("_csrf", Necessary, "various frameworks", "Protects forms against cross-site request forgery", "session"),
	def("CFID", Necessary, "Adobe ColdFusion", "Keeps the visitor's session", "session"),
	def("CFTOKEN", Necessary, "Adobe ColdFusion", "Keeps the visitor's session", "session"),
	def("SERVERID", Necessary, "HAProxy", "Routes the visitor to the same server", "session"),
	def("BIGipServer*", Necessary, "F5 BIG-IP", "Routes the visitor to the same server", "session"),
	def("incap_ses_*", Necessary, "Imperva Incapsula", "Bot and attack protection", "session"),
	def("visid_incap_*", Necessary, "Imperva Incapsula", "Bot and attack protection", "1 year"),
	def("nlbi_*", Necessary, "Imperva Incapsula", "Load balancing", "session"),
	def("SESS*", Necessary, "Drupal", "Keeps the visitor's session", "23 days"),
	def("SSESS*", Necessary, "Drupal", "Keeps the visitor's session over HTTPS", "23 days"),
	def("ci_session", Necessary, "CodeIgniter", "Keeps the visitor's session", "2 hours"),
	def("CAKEPHP", Necessary, "CakePHP", "Keeps the visitor's session", "session"),
	def("frontend", Necessary, "Magento", "Keeps the visitor's session", "1 hour"),
	def("form_key", Necessary, "Magento", "Protects forms against cross-site request forgery", "1 hour"),
	def("X-Magento-Vary", Necessary, "Magento", "Serves the right cached page version", "session"),
	def("mage-cache-storage", Necessary, "Magento", "Caches customer section data (local storage)", "persistent"),
	def("PrestaShop-*", Necessary, "PrestaShop", "Keeps the visitor's session and cart", "20 days"),
	def("crumb", Necessary, "Squarespace", "Protects forms against cross-site request forgery", "session"),
	def("ss_cookieAllowed", Necessary, "Squarespace", "Stores the visitor's cookie choice", "1 year"),
	def("svSession", Necessary, "Wix", "Keeps the visitor's session", "2 years"),
	def("hs", Necessary, "Wix", "Security", "session"),
	def("ssr-caching", Necessary, "Wix", "Serves the page from cache", "session"),
	def("smSession", Necessary, "Wix", "Keeps a signed-in site member's session", "2 weeks"),
	def("TS01*", Necessary, "F5 / Wix", "Security and fraud prevention", "session"),
	def("BrowserId", Necessary, "Salesforce", "Identifies the browser for security", "1 year"),
	def("CookieConsentPolicy", Necessary, "Salesforce", "Stores the visitor's cookie choice", "1 year"),
	def("LSKey-*", Necessary, "Salesforce", "Stores the visitor's cookie choice", "1 year"),

	// WordPress and WooCommerce.
	def("wordpress_logged_in_*", Necessary, "WordPress", "Keeps a signed-in user signed in", "session"),
	def("wordpress_sec_*", Necessary, "WordPress", "Secure authentication of a signed-in user", "session"),
	def("wordpress_test_cookie", Necessary, "WordPress", "Tests whether the browser accepts cookies", "session"),
	def("wp-settings-time-*", Preferences, "WordPress", "Time the user's dashboard settings were saved", "1 year"),
	def("wp-settings-*", Preferences, "WordPress", "Remembers the user's dashboard settings", "1 year"),
	def("wp_lang", Preferences, "WordPress", "Remembers the chosen language", "session"),
	def("comment_author_*", Preferences, "WordPress", "Remembers the commenter's name, e-mail and website", "1 year"),
	def("woocommerce_cart_hash", Necessary, "WooCommerce", "Detects changes to the cart", "session"),
	def("woocommerce_items_in_cart", Necessary, "WooCommerce", "Records whether the cart has items", "session"),
	def("wp_woocommerce_session_*", Necessary, "WooCommerce", "Keeps the shopper's cart", "2 days"),
	def("sbjs_*", Statistics, "WooCommerce order attribution (Sourcebuster)", "Records where the visitor came from", "session"),
	def("tk_ai", Statistics, "Jetpack / WordPress.com", "Anonymous visitor identifier for statistics", "session"),
	def("tk_*", Statistics, "Jetpack / WordPress.com", "Visitor statistics", "session"),

	// Cloudflare and other edge networks.
	def("__cf_bm", Necessary, "Cloudflare", "Bot management", "30 minutes"),
	def("cf_clearance", Necessary, "Cloudflare", "Records that the visitor passed a challenge", "30 minutes to 1 year"),
	def("__cflb", Necessary, "Cloudflare", "Load balancer session affinity", "session"),
	def("__cfruid", Necessary, "Cloudflare", "Rate limiting", "session"),
	def("_cfuvid", Necessary, "Cloudflare", "Rate limiting", "session"),
	def("cf_ob_info", Necessary, "Cloudflare", "Always Online: serves a cached page when the origin is down", "30 seconds"),
	def("cf_use_ob", Necessary, "Cloudflare", "Always Online: serves a cached page when the origin is down", "30 seconds"),
	def("__cfwaitingroom", Necessary, "Cloudflare", "Keeps the visitor's place in a waiting room", "session"),
	def("cf_chl_*", Necessary, "Cloudflare", "Challenge state", "session"),
	def("ak_bmsc", Necessary, "Akamai", "Bot management", "2 hours"),
	def("bm_sv", Necessary, "Akamai", "Bot management", "2 hours"),
	def("bm_sz", Necessary, "Akamai", "Bot management", "4 hours"),
	def("bm_mi", Necessary, "Akamai", "Bot management", "2 hours"),
	def("_abck", Necessary, "Akamai", "Bot management", "1 year"),
	def("RT", Statistics, "Akamai mPulse", "Measures page load performance", "7 days"),
	def("_GRECAPTCHA", Necessary, "Google reCAPTCHA", "Bot protection", "6 months", google, "recaptcha.net"),
	def("hc_accessibility", Necessary, "hCaptcha", "Accessibility bypass of the challenge", "1 day"),

	// Payments.
	def("__stripe_mid", Necessary, "Stripe", "Fraud prevention", "1 year"),
	def("__stripe_sid", Necessary, "Stripe", "Fraud prevention", "30 minutes"),
	def("m", Necessary, "Stripe", "Fraud prevention", "2 years", "stripe.com"),
	def("ts_c", Necessary, "PayPal", "Fraud prevention", "3 years", "paypal.com"),
	def("tsrce", Necessary, "PayPal", "Fraud prevention", "3 days", "paypal.com"),
	def("x-pp-s", Necessary, "PayPal", "Keeps the payment session", "session", "paypal.com"),
	def("nsid", Necessary, "PayPal", "Keeps the payment session", "session", "paypal.com"),
	def("l7_az", Necessary, "PayPal", "Routes the visitor to a data center", "30 minutes", "paypal.com"),
	def("enforce_policy", Necessary, "PayPal", "Stores the applicable cookie policy", "1 year", "paypal.com"),

	// Shopify.
	def("_shopify_y", Statistics, "Shopify", "Visitor identifier for shop analytics", "1 year"),
	def("_shopify_s", Statistics, "Shopify", "Session identifier for shop analytics", "30 minutes"),
	def("_shopify_sa_p", Marketing, "Shopify", "Marketing and referral attribution", "30 minutes"),
	def("_shopify_sa_t", Marketing, "Shopify", "Marketing and referral attribution", "30 minutes"),
	def("_shopify_analytics", Statistics, "Shopify", "Analytics consent signal", "1 year"),
	def("_shopify_marketing", Marketing, "Shopify", "Marketing consent signal", "1 year"),
	def("_shopify_essential", Necessary, "Shopify", "Keeps the shopper's session and cart", "1 year"),
	def("_y", Statistics, "Shopify", "Visitor identifier for shop analytics", "1 year"),
	def("_s", Statistics, "Shopify", "Session identifier for shop analytics", "30 minutes"),
	def("_orig_referrer", Statistics, "Shopify", "Records the landing referrer", "2 weeks"),
	def("_landing_page", Statistics, "Shopify", "Records the landing page", "2 weeks"),
	def("cart", Necessary, "Shopify", "Keeps the shopping cart", "2 weeks"),
	def("cart_sig", Necessary, "Shopify", "Verifies the shopping cart", "2 weeks"),
	def("cart_ts", Necessary, "Shopify", "Checkout timing of the cart", "2 weeks"),
	def("cart_currency", Necessary, "Shopify", "Currency of the cart", "2 weeks"),
	def("secure_customer_sig", Necessary, "Shopify", "Keeps a customer signed in", "1 year"),
	def("localization", Preferences, "Shopify", "Remembers the shop's country and language", "2 weeks"),
	def("_tracking_consent", Necessary, "Shopify", "Stores the visitor's consent choice", "1 year"),
	def("_cmp_a", Necessary, "Shopify", "Stores the visitor's consent choice", "1 day"),
	def("keep_alive", Necessary, "Shopify", "Keeps the buyer session alive", "30 minutes"),
	def("_secure_session_id", Necessary, "Shopify", "Keeps the checkout session", "1 day"),
	def("shopify_pay_redirect", Necessary, "Shopify", "Shop Pay checkout", "1 hour"),

	// Google Analytics and Tag Manager.
	def("_ga", Statistics, "Google Analytics", "Distinguishes visitors", "2 years"),
	def("_ga_*", Statistics, "Google Analytics", "Keeps the GA4 session state", "2 years"),
	def("_gid", Statistics, "Google Analytics", "Distinguishes visitors for 24 hours", "1 day"),
	def("_gat", Statistics, "Google Analytics", "Throttles the request rate", "1 minute"),
	def("_gat_*", Statistics, "Google Analytics", "Throttles the request rate", "1 minute"),
	def("_dc_gtm_*", Statistics, "Google Tag Manager", "Throttles the request rate", "1 minute"),
	def("AMP_TOKEN", Statistics, "Google Analytics", "Client ID for AMP pages", "1 year"),
	def("__utma", Statistics, "Google Analytics (legacy)", "Distinguishes visitors and sessions", "2 years"),
	def("__utmb", Statistics, "Google Analytics (legacy)", "Determines new sessions", "30 minutes"),
	def("__utmc", Statistics, "Google Analytics (legacy)", "Determines new sessions", "session"),
	def("__utmt", Statistics, "Google Analytics (legacy)", "Throttles the request rate", "10 minutes"),
	def("__utmz", Statistics, "Google Analytics (legacy)", "Records the traffic source", "6 months"),
	def("__utmv", Statistics, "Google Analytics (legacy)", "Custom visitor variables", "2 years"),
	def("FPID", Statistics, "Google Analytics (server-side tagging)", "First-party visitor identifier", "2 years"),
	def("FPLC", Statistics, "Google Analytics (server-side tagging)", "Cross-domain linker for FPID", "20 hours"),
	def("_gaexp", Statistics, "Google Optimize", "Assigns the visitor to an experiment", "90 days"),
	def("_gac_*", Marketing, "Google Analytics", "Ad campaign information for Google Ads", "90 days"),

	// Google advertising.
	def("_gcl_au", Marketing, "Google Ads", "Conversion linker: measures ad efficiency", "90 days"),
	def("_gcl_aw", Marketing, "Google Ads", "Stores the ad click for conversion tracking", "90 days"),
	def("_gcl_dc", Marketing, "Google Campaign Manager", "Stores the ad click for conversion tracking", "90 days"),
	def("_gcl_*", Marketing, "Google Ads", "Conversion tracking", "90 days"),
	def("_gcl_ls", Marketing, "Google Ads", "Conversion linker data (local storage)", "persistent"),
	def("__gads", Marketing, "Google AdSense", "Ad serving and measurement", "13 months"),
	def("__gpi", Marketing, "Google AdSense", "Ad serving and measurement", "13 months"),
	def("__gsas", Marketing, "Google AdSense", "Ad measurement", "13 months"),
	def("IDE", Marketing, "Google DoubleClick", "Ad targeting and measurement", "13 months", dclick),
	def("test_cookie", Marketing, "Google DoubleClick", "Checks whether the browser accepts cookies", "15 minutes", dclick),
	def("DSID", Marketing, "Google DoubleClick", "Links ad activity to a signed-in Google account", "2 weeks", dclick),
	def("NID", Marketing, "Google", "Remembers preferences and personalises ads", "6 months", google),
	def("1P_JAR", Marketing, "Google", "Ad personalisation and statistics", "1 month", google),
	def("AEC", Necessary, "Google", "Prevents abuse of Google services", "6 months", google),
	def("SID", Marketing, "Google", "Google account: security and ad personalisation", "2 years", google, youtube),
	def("HSID", Marketing, "Google", "Google account: security and ad personalisation", "2 years", google, youtube),
	def("SSID", Marketing, "Google", "Google account: security and ad personalisation", "2 years", google, youtube),
	def("APISID", Marketing, "Google", "Google account: personalises embedded Google content", "2 years", google, youtube),
	def("SAPISID", Marketing, "Google", "Google account: personalises embedded Google content", "2 years", google, youtube),
	def("SIDCC", Marketing, "Google", "Google account: security and ad personalisation", "1 year", google, youtube),
	def("__Secure-1PSID", Marketing, "Google", "Google account: ad personalisation", "2 years", google, youtube),
	def("__Secure-3PSID", Marketing, "Google", "Google account: ad personalisation on other sites", "2 years", google, youtube),
	def("__Secure-3PAPISID", Marketing, "Google", "Google account: ad personalisation on other sites", "2 years", google, youtube),
	def("__Secure-3PSIDCC", Marketing, "Google", "Google account: ad personalisation on other sites", "1 year", google, youtube),
	def("__Secure-3P*", Marketing, "Google", "Google account: ad personalisation on other sites", "2 years", google, youtube),
	def("__Secure-1P*", Marketing, "Google", "Google account: ad personalisation", "2 years", google, youtube),
	def("__Secure-ENID", Preferences, "Google", "Remembers Google preferences", "13 months", google),
	def("CONSENT", Necessary, "Google", "Stores the visitor's consent choice for Google services", "2 years", google, youtube),
	def("SOCS", Necessary, "Google", "Stores the visitor's consent choice for Google services", "13 months", google, youtube),

	// YouTube.
	def("VISITOR_INFO1_LIVE", Marketing, "YouTube", "Estimates bandwidth and tracks embedded video views", "6 months", youtube),
	def("YSC", Marketing, "YouTube", "Tracks the embedded videos viewed", "session", youtube),
	def("VISITOR_PRIVACY_METADATA", Necessary, "YouTube", "Stores the visitor's consent choice", "6 months", youtube),
	def("PREF", Preferences, "YouTube", "Remembers player preferences", "8 months", youtube),
	def("LOGIN_INFO", Marketing, "YouTube", "Links embedded views to a signed-in account", "2 years", youtube),
	def("yt-remote-*", Marketing, "YouTube", "Remembers the video player's settings and devices (local storage)", "persistent"),
	def("ytidb::LAST_RESULT_ENTRY_KEY", Marketing, "YouTube", "Remembers the last video player state (local storage)", "persistent"),
	def("yt.innertube::*", Marketing, "YouTube", "Records embedded video views (local storage)", "persistent"),

	// Meta (Facebook, Instagram).
	def("_fbp", Marketing, "Meta", "Identifies browsers for ads and the Meta Pixel", "3 months"),
	def("_fbc", Marketing, "Meta", "Stores the last Facebook ad click", "3 months"),
	def("fr", Marketing, "Meta", "Ad delivery and measurement", "3 months", facebook),
	def("datr", Marketing, "Meta", "Identifies the browser to Facebook", "2 years", facebook),
	def("sb", Marketing, "Meta", "Identifies the browser to Facebook", "2 years", facebook),
	def("wd", Preferences, "Meta", "Window dimensions for Facebook content", "1 week", facebook),
	def("lastExternalReferrer", Marketing, "Meta", "Meta Pixel referrer tracking (local storage)", "persistent"),
	def("lastExternalReferrerTime", Marketing, "Meta", "Meta Pixel referrer tracking (local storage)", "persistent"),

	// Microsoft: Bing Ads, Clarity.
	def("MUID", Marketing, "Microsoft", "Identifies browsers across Microsoft sites for ads and analytics", "13 months"),
	def("_uetsid", Marketing, "Microsoft Advertising", "Universal Event Tracking session", "1 day"),
	def("_uetvid", Marketing, "Microsoft Advertising", "Universal Event Tracking visitor", "13 months"),
	def("_uetmsclkid", Marketing, "Microsoft Advertising", "Stores the last ad click", "90 days"),
	def("MR", Marketing, "Microsoft", "Resets MUID", "7 days", bing),
	def("SRCHD", Marketing, "Microsoft", "Bing ad targeting", "13 months", bing),
	def("SRCHUID", Marketing, "Microsoft", "Bing ad targeting", "13 months", bing),
	def("SRCHUSR", Marketing, "Microsoft", "Bing ad targeting", "13 months", bing),
	def("ANONCHK", Marketing, "Microsoft", "Checks whether MUID is sent to Bing", "10 minutes", clarity, bing),
	def("_clck", Statistics, "Microsoft Clarity", "Visitor identifier and settings", "1 year"),
	def("_clsk", Statistics, "Microsoft Clarity", "Joins page views into one session recording", "1 day"),
	def("CLID", Statistics, "Microsoft Clarity", "Visitor identifier", "1 year", clarity),
	def("SM", Statistics, "Microsoft Clarity", "Synchronises MUID across Microsoft domains", "session", clarity),

	// Hotjar.
	def("_hjSessionUser_*", Statistics, "Hotjar", "Visitor identifier", "1 year"),
	def("_hjSession_*", Statistics, "Hotjar", "Current session data", "30 minutes"),
	def("_hjid", Statistics, "Hotjar", "Visitor identifier (legacy)", "1 year"),
	def("_hjIncludedInSessionSample_*", Statistics, "Hotjar", "Whether the session is sampled", "30 minutes"),
	def("_hjIncludedInPageviewSample", Statistics, "Hotjar", "Whether the page view is sampled", "30 minutes"),
	def("_hjAbsoluteSessionInProgress", Statistics, "Hotjar", "Detects the first page view of a session", "30 minutes"),
	def("_hjFirstSeen", Statistics, "Hotjar", "Identifies a new visitor's first session", "session"),
	def("_hjTLDTest", Statistics, "Hotjar", "Finds the widest cookie domain", "session"),
	def("_hjOptOut", Necessary, "Hotjar", "Stores the visitor's opt-out", "1 year"),
	def("_hj*", Statistics, "Hotjar", "Behaviour analytics", "session to 1 year"),

	// LinkedIn.
	def("li_sugr", Marketing, "LinkedIn", "Browser identifier for ad matching", "3 months"),
	def("bcookie", Marketing, "LinkedIn", "Browser identifier", "1 year", linkedin),
	def("bscookie", Marketing, "LinkedIn", "Secure browser identifier", "1 year", linkedin),
	def("lidc", Marketing, "LinkedIn", "Data center routing for embedded content", "1 day", linkedin),
	def("UserMatchHistory", Marketing, "LinkedIn", "Ad ID syncing", "30 days", linkedin),
	def("AnalyticsSyncHistory", Marketing, "LinkedIn", "Time of the last ad ID sync", "30 days", linkedin),
	def("li_gc", Necessary, "LinkedIn", "Stores the visitor's consent choice", "6 months", linkedin),
	def("lang", Preferences, "LinkedIn", "Remembers the language", "session", linkedin),
	def("li_fat_id", Marketing, "LinkedIn", "Member click identifier for conversion tracking", "30 days"),
	def("ln_or", Statistics, "LinkedIn", "Insight Tag sampling", "1 day"),
	def("lms_ads", Marketing, "LinkedIn", "Identifies members off LinkedIn for ads", "30 days", linkedin),
	def("lms_analytics", Marketing, "LinkedIn", "Identifies members off LinkedIn for analytics", "30 days", linkedin),

	// HubSpot.
	def("hubspotutk", Marketing, "HubSpot", "Visitor identity for HubSpot forms and tracking", "6 months"),
	def("__hstc", Marketing, "HubSpot", "Visitor and session tracking", "6 months"),
	def("__hssc", Statistics, "HubSpot", "Session page counter", "30 minutes"),
	def("__hssrc", Statistics, "HubSpot", "Detects a browser restart", "session"),
	def("__hs_opt_out", Necessary, "HubSpot", "Stores the visitor's opt-out", "6 months"),
	def("__hs_do_not_track", Necessary, "HubSpot", "Stops the tracking code", "6 months"),
	def("__hs_initial_opt_in", Necessary, "HubSpot", "Stores the visitor's consent choice", "1 week"),
	def("messagesUtk", Preferences, "HubSpot", "Chat widget visitor identity", "6 months"),

	// Chat and support widgets.
	def("intercom-id-*", Preferences, "Intercom", "Identifies the visitor to the chat widget", "9 months"),
	def("intercom-session-*", Preferences, "Intercom", "Keeps the chat session", "1 week"),
	def("intercom-device-id-*", Preferences, "Intercom", "Identifies the device to the chat widget", "9 months"),
	def("__zlcmid", Preferences, "Zendesk Chat", "Chat visitor identifier", "1 year"),
	def("driftt_aid", Marketing, "Drift", "Anonymous visitor identifier", "2 years"),
	def("drift_aid", Marketing, "Drift", "Anonymous visitor identifier", "2 years"),
	def("drift_campaign_refresh", Marketing, "Drift", "Campaign display throttling", "30 minutes"),
	def("TawkConnectionTime", Preferences, "tawk.to", "Chat connection state", "session"),
	def("twk_uuid_*", Preferences, "tawk.to", "Chat visitor identifier", "6 months"),
	def("__tawkuuid", Preferences, "tawk.to", "Chat visitor identifier", "6 months"),

	// Video and media embeds.
	def("vuid", Statistics, "Vimeo", "Video view analytics", "2 years", "vimeo.com"),
	def("player", Preferences, "Vimeo", "Remembers player settings", "1 year", "vimeo.com"),
	def("sp_t", Marketing, "Spotify", "Visitor identifier for embedded content", "1 year", "spotify.com"),
	def("sp_landing", Marketing, "Spotify", "Landing page of embedded content", "1 day", "spotify.com"),

	// TikTok.
	def("_ttp", Marketing, "TikTok", "TikTok Pixel browser identifier", "13 months"),
	def("_tt_enable_cookie", Marketing, "TikTok", "Checks whether the Pixel can set cookies", "13 months"),
	def("ttcsid", Marketing, "TikTok", "TikTok Pixel session", "30 minutes"),
	def("ttcsid_*", Marketing, "TikTok", "TikTok Pixel session", "30 minutes"),
	def("ttwid", Marketing, "TikTok", "Visitor identifier for embedded content", "1 year", tiktok),
	def("tt_webid", Marketing, "TikTok", "Visitor identifier", "1 year", tiktok),
	def("tt_webid_v2", Marketing, "TikTok", "Visitor identifier", "1 year", tiktok),
	def("tt_chain_token", Marketing, "TikTok", "Tracking token", "6 months", tiktok),
	def("msToken", Marketing, "TikTok", "Security and tracking token", "10 days", tiktok),

	// Pinterest.
	def("_pinterest_ct_ua", Marketing, "Pinterest", "Conversion tracking identifier", "1 year"),
	def("_pin_unauth", Marketing, "Pinterest", "Visitor identifier for ads", "1 year"),
	def("_pinterest_sess", Marketing, "Pinterest", "Pinterest session", "1 year", pinterest),
	def("_routing_id", Marketing, "Pinterest", "Visitor routing", "session", pinterest),
	def("_epik", Marketing, "Pinterest", "Ad click identifier", "1 year"),
	def("_derived_epik", Marketing, "Pinterest", "Ad click identifier", "1 year"),

	// Twitter / X.
	def("personalization_id", Marketing, "X (Twitter)", "Ad personalisation", "2 years", "twitter.com", "x.com"),
	def("guest_id", Marketing, "X (Twitter)", "Visitor identifier", "2 years", "twitter.com", "x.com"),
	def("guest_id_ads", Marketing, "X (Twitter)", "Visitor identifier for ads", "2 years", "twitter.com", "x.com"),
	def("guest_id_marketing", Marketing, "X (Twitter)", "Visitor identifier for marketing", "2 years", "twitter.com", "x.com"),
	def("muc_ads", Marketing, "X (Twitter)", "Ad measurement", "2 years", "twitter.com", "x.com"),

	// Other social and advertising networks.
	def("_scid", Marketing, "Snapchat", "Snap Pixel visitor identifier", "13 months"),
	def("_scid_r", Marketing, "Snapchat", "Snap Pixel visitor identifier", "13 months"),
	def("_sctr", Marketing, "Snapchat", "Snap Pixel session", "1 year"),
	def("sc_at", Marketing, "Snapchat", "Ad measurement", "1 year", "snapchat.com"),
	def("_rdt_uuid", Marketing, "Reddit", "Reddit Pixel visitor identifier", "90 days"),
	def("__qca", Marketing, "Quantcast", "Audience measurement and ads", "13 months"),
	def("mc", Marketing, "Quantcast", "Audience measurement and ads", "13 months", "quantserve.com"),
	def("cto_bundle", Marketing, "Criteo", "Retargeting identifiers", "13 months"),
	def("cto_bidid", Marketing, "Criteo", "Real-time bidding identifier", "13 months"),
	def("uid", Marketing, "Criteo / Adform", "Ad network visitor identifier", "13 months", "criteo.com", "adform.net"),
	def("ad-id", Marketing, "Amazon Advertising", "Ad identifier", "7 months", "amazon-adsystem.com"),
	def("ad-privacy", Marketing, "Amazon Advertising", "Ad opt-out state", "5 years", "amazon-adsystem.com"),
	def("t_gid", Marketing, "Taboola", "Visitor identifier for recommendations and ads", "1 year", "taboola.com"),
	def("obuid", Marketing, "Outbrain", "Visitor identifier for recommendations and ads", "3 months", "outbrain.com"),
	def("uuid2", Marketing, "Xandr (AppNexus)", "Ad network visitor identifier", "3 months", "adnxs.com"),
	def("anj", Marketing, "Xandr (AppNexus)", "Ad network visitor data", "3 months", "adnxs.com"),
	def("demdex", Marketing, "Adobe Audience Manager", "Visitor identifier", "180 days", "demdex.net"),
	def("dextp", Marketing, "Adobe Audience Manager", "Time of the last data sync", "180 days", "demdex.net"),
	def("dst", Marketing, "Adobe Audience Manager", "Data sync errors", "180 days", "demdex.net"),
	def("A3", Marketing, "Yahoo", "Ad targeting", "1 year", "yahoo.com"),
	def("B", Marketing, "Yahoo", "Ad targeting", "1 year", "yahoo.com"),
	def("khaos", Marketing, "Magnite (Rubicon Project)", "Ad network visitor identifier", "1 year", "rubiconproject.com"),
	def("KADUSERCOOKIE", Marketing, "PubMatic", "Ad network visitor identifier", "1 month", "pubmatic.com"),
	def("TDID", Marketing, "The Trade Desk", "Ad network visitor identifier", "1 year", "adsrvr.org"),
	def("TDCPM", Marketing, "The Trade Desk", "Ad network visitor data", "1 year", "adsrvr.org"),
	def("CMID", Marketing, "Index Exchange", "Ad network visitor identifier", "1 year", "casalemedia.com"),
	def("pxrc", Marketing, "LiveRamp", "Identity matching", "2 months", "rlcdn.com"),
	def("rlas3", Marketing, "LiveRamp", "Identity matching", "1 year", "rlcdn.com"),
	def("id5id", Marketing, "ID5", "Shared advertising identifier", "90 days"),
	def("_cc_id", Marketing, "Lotame", "Audience data visitor identifier", "9 months"),
	def("__atuvc", Marketing, "AddThis", "Share counter and visitor tracking", "13 months"),
	def("__atuvs", Marketing, "AddThis", "Share counter session", "30 minutes"),
	def("uvc", Marketing, "AddThis", "Share counter and visitor tracking", "13 months", "addthis.com"),
	def("__stid", Marketing, "ShareThis", "Visitor identifier for sharing analytics", "2 years"),
	def("__adroll", Marketing, "AdRoll", "Retargeting visitor identifier", "13 months"),
	def("__adroll_fpc", Marketing, "AdRoll", "First-party retargeting identifier", "1 year"),
	def("__ar_v4", Marketing, "AdRoll", "Conversion and segment data", "1 year"),
	def("__adroll_shared", Marketing, "AdRoll", "Shared retargeting identifier", "13 months"),
	def("_lfa", Marketing, "Leadfeeder", "Identifies visiting companies", "2 years"),
	def("_zitok", Marketing, "ZoomInfo", "Identifies visiting companies", "1 year"),
	def("_gd_visitor", Marketing, "6sense", "Identifies visiting companies", "13 months"),
	def("_gd_session", Marketing, "6sense", "Visiting company session", "4 hours"),
	def("tuuid", Marketing, "Demandbase", "Identifies visiting companies", "1 year", "company-target.com"),
	def("_mkto_trk", Marketing, "Marketo", "Links visits to a known lead", "2 years"),
	def("visitor_id*", Marketing, "Salesforce Pardot", "Links visits to a prospect", "10 years"),
	def("pi_opt_in*", Necessary, "Salesforce Pardot", "Stores the visitor's tracking consent", "10 years"),
	def("__kla_id", Marketing, "Klaviyo", "Links visits to a subscriber", "2 years"),
	def("sib_cuid", Marketing, "Brevo (Sendinblue)", "Links visits to a contact", "6 months"),
	def("prism_*", Marketing, "ActiveCampaign", "Site tracking of contacts", "30 days"),

	// Analytics and experimentation.
	def("_pk_id.*", Statistics, "Matomo", "Visitor identifier", "13 months"),
	def("_pk_ses.*", Statistics, "Matomo", "Current visit", "30 minutes"),
	def("_pk_ref.*", Statistics, "Matomo", "Referrer of the first visit", "6 months"),
	def("_pk_cvar.*", Statistics, "Matomo", "Custom visit variables", "30 minutes"),
	def("_pk_hsr.*", Statistics, "Matomo", "Heatmap and session recording", "30 minutes"),
	def("_pk_testcookie.*", Statistics, "Matomo", "Checks whether cookies can be set", "session"),
	def("_pk_*", Statistics, "Matomo", "Web analytics", "session to 13 months"),
	def("MATOMO_SESSID", Necessary, "Matomo", "Session of Matomo's own interface", "session"),
	def("mtm_consent", Necessary, "Matomo", "Stores the visitor's consent", "30 years"),
	def("mtm_consent_removed", Necessary, "Matomo", "Stores the withdrawal of consent", "30 years"),
	def("mtm_cookie_consent", Necessary, "Matomo", "Stores the visitor's cookie consent", "30 years"),
	def("s_cc", Statistics, "Adobe Analytics", "Checks whether cookies are enabled", "session"),
	def("s_sq", Statistics, "Adobe Analytics", "Records the previous link clicked", "session"),
	def("s_vi", Statistics, "Adobe Analytics", "Visitor identifier", "2 years"),
	def("s_fid", Statistics, "Adobe Analytics", "Fallback visitor identifier", "2 years"),
	def("s_nr", Statistics, "Adobe Analytics", "New or returning visitor", "1 year"),
	def("s_ppv", Statistics, "Adobe Analytics", "Percentage of the page viewed", "session"),
	def("s_ecid", Statistics, "Adobe Analytics", "Experience Cloud visitor identifier", "2 years"),
	def("AMCV_*", Marketing, "Adobe Experience Cloud", "Experience Cloud visitor identifier", "2 years"),
	def("AMCVS_*", Marketing, "Adobe Experience Cloud", "Experience Cloud session flag", "session"),
	def("mbox", Marketing, "Adobe Target", "Personalisation and testing", "2 years"),
	def("at_check", Marketing, "Adobe Target", "Checks whether cookies are accepted", "session"),
	def("mp_*_mixpanel", Statistics, "Mixpanel", "Visitor and event properties", "1 year"),
	def("ajs_anonymous_id", Statistics, "Segment", "Anonymous visitor identifier", "1 year"),
	def("ajs_user_id", Statistics, "Segment", "Known user identifier", "1 year"),
	def("ajs_group_id", Statistics, "Segment", "Group (account) identifier", "1 year"),
	def("ajs_*", Statistics, "Segment", "Analytics identifiers", "1 year"),
	def("amplitude_id_*", Statistics, "Amplitude", "Visitor identifier", "10 years"),
	def("AMP_MKTG_*", Marketing, "Amplitude", "Marketing attribution", "1 year"),
	def("AMP_*", Statistics, "Amplitude", "Visitor and session identifiers", "1 year"),
	def("_hp2_id.*", Statistics, "Heap", "Visitor identifier", "13 months"),
	def("_hp2_ses_props.*", Statistics, "Heap", "Session properties", "30 minutes"),
	def("_hp2_props.*", Statistics, "Heap", "Event properties", "13 months"),
	def("optimizelyEndUserId", Statistics, "Optimizely", "Visitor identifier for experiments", "6 months"),
	def("optimizelySegments", Statistics, "Optimizely", "Visitor segments", "6 months"),
	def("optimizelyBuckets", Statistics, "Optimizely", "Experiment variations shown", "6 months"),
	def("optimizely*", Statistics, "Optimizely", "Experimentation", "6 months"),
	def("_vwo_uuid_v2", Statistics, "VWO", "Visitor identifier for experiments", "1 year"),
	def("_vwo_*", Statistics, "VWO", "Experimentation", "session to 1 year"),
	def("_vis_opt_*", Statistics, "VWO", "Experimentation", "session to 100 days"),
	def("_ce.s", Statistics, "Crazy Egg", "Session recording", "1 year"),
	def("cebs", Statistics, "Crazy Egg", "Session tracking", "session"),
	def("fs_uid", Statistics, "FullStory", "Visitor identifier for session recording", "1 year"),
	def("fs_lua", Statistics, "FullStory", "Time of last activity", "30 minutes"),
	def("mf_user", Statistics, "Mouseflow", "Returning visitor flag", "90 days"),
	def("mf_*", Statistics, "Mouseflow", "Session recording", "session to 90 days"),
	def("_lo_uid", Statistics, "Lucky Orange", "Visitor identifier", "2 years"),
	def("_lo_*", Statistics, "Lucky Orange", "Session recording", "session to 2 years"),
	def("_ym_uid", Statistics, "Yandex Metrica", "Visitor identifier", "1 year"),
	def("_ym_d", Statistics, "Yandex Metrica", "Date of the first visit", "1 year"),
	def("_ym_isad", Statistics, "Yandex Metrica", "Detects ad blockers", "20 hours"),
	def("_ym_*", Statistics, "Yandex Metrica", "Web analytics", "session to 1 year"),
	def("yandexuid", Marketing, "Yandex", "Visitor identifier", "1 year", "yandex.ru", "yandex.com"),
	def("_dd_s", Statistics, "Datadog RUM", "Groups events into sessions", "15 minutes"),
	def("dtCookie", Statistics, "Dynatrace", "Real-user monitoring session", "session"),
	def("dtPC", Statistics, "Dynatrace", "Real-user monitoring", "session"),
	def("dtLatC", Statistics, "Dynatrace", "Measures server latency", "session"),
	def("dtSa", Statistics, "Dynatrace", "Real-user monitoring across pages", "session"),
	def("rxVisitor", Statistics, "Dynatrace", "Visitor identifier", "session"),
	def("rxvt", Statistics, "Dynatrace", "Session timeout", "session"),
	def("bSession", Statistics, "Wix", "Measures system effectiveness", "30 minutes"),
	def("ss_cvr", Statistics, "Squarespace", "Visitor identifier for analytics", "2 years"),
	def("ss_cvt", Statistics, "Squarespace", "Session for analytics", "30 minutes"),
	def("disqus_unique", Statistics, "Disqus", "Unique visitor counter", "1 year", "disqus.com"),
}

var (
	builtinOnce  sync.Once
	builtinCache *defTable
)

// builtinTable returns the shared, immutable table of built-in definitions.
func builtinTable() *defTable {
	builtinOnce.Do(func() {
		t := newDefTable()
		for _, d := range builtinDefs {
			t.add(d)
		}
		builtinCache = t
	})
	return builtinCache
}

// BuiltinDefinitions returns a copy of the built-in database.
func BuiltinDefinitions() []Definition {
	out := make([]Definition, len(builtinDefs))
	for i, d := range builtinDefs {
		d.Domains = append([]string(nil), d.Domains...)
		out[i] = d
	}
	return out
}
