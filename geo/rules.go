package geo

// Rule sets, as named in the Crumb-Rule-Set header and the widget's
// configuration. They are the same strings as widget.OptIn, widget.OptOut
// and widget.Notice; geo does not import widget (domain packages stay apart),
// and a test pins the literals.
const (
	OptIn  = "opt-in"  // nothing but necessary cookies before a choice
	OptOut = "opt-out" // allowed until refused; Global Privacy Control refuses
	Notice = "notice"  // information only
)

// Countries, by ISO 3166-1 alpha-2 code, whose law asks for prior consent
// to non-essential cookies. Listing one here changes no answer (an unlisted
// country gets OptIn too); the list records what was decided on purpose, and
// the tests keep a country from being in two lists.
var optInCountries = []string{
	// EU 27: ePrivacy Directive art. 5(3) with GDPR consent (CJEU Planet49).
	"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
	"IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
	// Parts of the EU that GeoIP databases give codes of their own: Åland and
	// the French outermost regions.
	"AX", "GF", "GP", "MQ", "RE", "YT", "MF",
	// EEA: the ePrivacy Directive applies through the EEA Agreement.
	"IS", "LI", "NO",
	// United Kingdom (PECR reg. 6 and UK GDPR), Gibraltar and the Crown
	// dependencies, which keep GDPR-style laws of their own.
	"GB", "GI", "GG", "JE", "IM",
	// Switzerland: the revised FADP (2023) only asks for a way to refuse, but
	// Swiss sites serve EU visitors and DESIGN §8 puts CH with them.
	"CH",
	// Brazil: LGPD; the ANPD's 2022 cookie guide expects consent for
	// non-essential cookies.
	"BR",
	// Türkiye: KVKK; the authority's 2022 cookie guide asks for explicit
	// consent to non-essential cookies.
	"TR",
}

// Countries where an opt-out regime applies: non-essential cookies may be
// set until the visitor refuses, and a Global Privacy Control signal counts
// as a refusal.
var optOutCountries = []string{
	// United States: the state consumer-privacy laws (CCPA/CPRA and the ones
	// that followed) are opt-out laws, and several make GPC binding. A country
	// database cannot tell one state from another, so the whole country gets
	// the opt-out rule set; see usPrivacyStates for City databases.
	"US",
}

// Countries with no consent requirement for cookies: a privacy notice is
// all the law asks. Kept short on purpose: a country belongs here only when
// that is well established, since being wrong here weakens the banner.
var noticeCountries = []string{
	// Australia: Privacy Act 1988; the APPs ask for notice, not cookie consent.
	"AU",
	// New Zealand: Privacy Act 2020; notice, no cookie consent.
	"NZ",
}

// US states (ISO 3166-2 subdivision codes, without the "US-") with a
// comprehensive consumer-privacy law in force: opt-out of sale, sharing and
// targeted advertising, in most of them through a universal opt-out signal
// such as GPC. With a City database, a visitor in one of these states gets
// OptOut and a visitor in any other state gets Notice; with no subdivision
// (a Country database, or a network the database places only in the US) the
// visitor gets OptOut.
var usPrivacyStates = []string{
	"CA", // California Consumer Privacy Act, as amended by the CPRA
	"VA", // Virginia Consumer Data Protection Act (2023)
	"CO", // Colorado Privacy Act (2023)
	"CT", // Connecticut Data Privacy Act (2023)
	"UT", // Utah Consumer Privacy Act (2023)
	"FL", // Florida Digital Bill of Rights (2024; narrow scope, listed to err strict)
	"TX", // Texas Data Privacy and Security Act (2024)
	"OR", // Oregon Consumer Privacy Act (2024)
	"MT", // Montana Consumer Data Privacy Act (2024)
	"IA", // Iowa Consumer Data Protection Act (2025)
	"DE", // Delaware Personal Data Privacy Act (2025)
	"NE", // Nebraska Data Privacy Act (2025)
	"NH", // New Hampshire privacy act, SB 255 (2025)
	"NJ", // New Jersey Data Privacy Act (2025)
	"TN", // Tennessee Information Protection Act (2025)
	"MN", // Minnesota Consumer Data Privacy Act (2025)
	"MD", // Maryland Online Data Privacy Act (2025)
	"IN", // Indiana Consumer Data Protection Act (2026)
	"KY", // Kentucky Consumer Data Protection Act (2026)
	"RI", // Rhode Island Data Transparency and Privacy Protection Act (2026)
}

// countryRules and stateRules are the lists above as lookup tables, built
// once; RuleSet only reads them.
var countryRules, stateRules = buildRules()

func buildRules() (countries, states map[string]string) {
	countries = make(map[string]string)
	for _, l := range []struct {
		rule  string
		codes []string
	}{{OptIn, optInCountries}, {OptOut, optOutCountries}, {Notice, noticeCountries}} {
		for _, c := range l.codes {
			countries[c] = l.rule
		}
	}
	states = make(map[string]string, len(usPrivacyStates))
	for _, s := range usPrivacyStates {
		states[s] = OptOut
	}
	return countries, states
}

// RuleSet returns the rule set for a country (ISO 3166-1 alpha-2, upper
// case) and, when known, the first-level subdivision inside it (the ISO
// 3166-2 code without the country prefix, "CA" for California; "" when
// unknown). An empty or unlisted country gets OptIn, the strictest rule set.
// Only US subdivisions change the answer: a state with a privacy law gets
// OptOut, any other state Notice.
func RuleSet(country, subdivision string) string {
	rule, ok := countryRules[country]
	if !ok {
		return OptIn
	}
	if country == "US" && subdivision != "" {
		if r, ok := stateRules[subdivision]; ok {
			return r
		}
		return Notice
	}
	return rule
}
