package geo

import (
	"slices"
	"testing"
)

// The widget and the Crumb-Rule-Set header (DESIGN §4) use these strings;
// widget.OptIn, OptOut and Notice are the same literals.
func TestRuleSetNames(t *testing.T) {
	for got, want := range map[string]string{OptIn: "opt-in", OptOut: "opt-out", Notice: "notice"} {
		if got != want {
			t.Errorf("rule set %q, want %q", got, want)
		}
	}
}

func TestRuleSet(t *testing.T) {
	tests := []struct {
		country, subdivision, want string
	}{
		{"", "", OptIn},
		{"FR", "", OptIn},
		{"DE", "BE", OptIn},
		{"GB", "ENG", OptIn},
		{"CH", "", OptIn},
		{"BR", "SP", OptIn},
		{"NO", "", OptIn},
		{"US", "", OptOut},
		{"US", "CA", OptOut},
		{"US", "CO", OptOut},
		{"US", "WY", Notice},
		{"US", "DC", Notice},
		{"AU", "", Notice},
		{"AU", "NSW", Notice},
		{"NZ", "", Notice},
		{"ZZ", "", OptIn},   // unlisted
		{"CA", "", OptIn},   // Canada: unlisted (Québec's Law 25 is opt-in)
		{"CA", "CA", OptIn}, // a subdivision code that is a US state elsewhere
		{"us", "", OptIn},   // codes are upper case
	}
	for _, tt := range tests {
		if got := RuleSet(tt.country, tt.subdivision); got != tt.want {
			t.Errorf("RuleSet(%q, %q) = %q, want %q", tt.country, tt.subdivision, got, tt.want)
		}
	}
}

func TestRuleTables(t *testing.T) {
	eu27 := []string{"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
		"IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}
	if len(eu27) != 27 {
		t.Fatalf("EU list has %d members", len(eu27))
	}
	for _, c := range append(eu27, "IS", "LI", "NO", "GB", "CH", "BR") {
		if !slices.Contains(optInCountries, c) {
			t.Errorf("%s is not listed as opt-in", c)
		}
	}
	// Each code is listed once, in one list, and looks like an ISO code.
	seen := map[string]string{}
	for _, l := range []struct {
		name  string
		codes []string
	}{{"opt-in", optInCountries}, {"opt-out", optOutCountries}, {"notice", noticeCountries}, {"US states", usPrivacyStates}} {
		for _, c := range l.codes {
			if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
				t.Errorf("%s: %q is not an upper-case two-letter code", l.name, c)
			}
			key := c
			if l.name == "US states" {
				key = "US-" + c
			}
			if prev, ok := seen[key]; ok {
				t.Errorf("%s is listed in %s and %s", c, prev, l.name)
			}
			seen[key] = l.name
		}
	}
	if len(countryRules) != len(optInCountries)+len(optOutCountries)+len(noticeCountries) {
		t.Errorf("countryRules has %d entries", len(countryRules))
	}
}
