package scanner_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/crumb-consent/crumb/scanner"
)

func ExampleClassifier_Classify() {
	c := scanner.NewClassifier()
	for _, name := range []string{"_ga", "_ga_X1Y2Z3", "PHPSESSID", "_hjSessionUser_42", "my_pref"} {
		cl := c.Classify(name, ".example.com")
		fmt.Printf("%-18s %-13s %s\n", name, cl.Category, cl.Source)
	}
	// An owner's override wins.
	site, _ := c.WithOverrides(map[string]string{"my_pref": scanner.Preferences})
	fmt.Println(site.Classify("my_pref", "").Category, site.Classify("my_pref", "").Source)
	// Output:
	// _ga                statistics    builtin
	// _ga_X1Y2Z3         statistics    builtin
	// PHPSESSID          necessary     builtin
	// _hjSessionUser_42  statistics    builtin
	// my_pref            unclassified  heuristic
	// preferences override
}

func ExampleParseOpenCookieDatabase() {
	csv := `ID,Platform,Category,Cookie / Data Key name,Domain,Description,Retention period,Data Controller,User Privacy & GDPR Rights Portals,Wildcard match
1,Example Analytics,Analytics,exa_,,Visitor statistics,1 year,Example,https://example.com,1
2,Example Shop,Functional,shop_cart,,Keeps the cart,session,Example,https://example.com,0
`
	defs, err := scanner.ParseOpenCookieDatabase(strings.NewReader(csv))
	if err != nil {
		panic(err)
	}
	c := scanner.NewClassifier()
	c.Add(defs)
	for _, name := range []string{"exa_visitor", "shop_cart"} {
		cl := c.Classify(name, "")
		fmt.Println(name, cl.Category, cl.Source, cl.Provider)
	}
	// Output:
	// exa_visitor statistics open-cookie-database Example Analytics
	// shop_cart necessary open-cookie-database Example Shop
}

func ExampleCompare() {
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	before := &scanner.Report{Started: day, Cookies: []scanner.Cookie{
		{Name: "_ga", Domain: ".example.com", Path: "/", Category: scanner.Statistics},
		{Name: "old", Domain: "example.com", Path: "/"},
	}}
	after := &scanner.Report{Started: day.AddDate(0, 1, 0), Cookies: []scanner.Cookie{
		{Name: "_ga", Domain: ".example.com", Path: "/", Category: scanner.Statistics, BeforeConsent: true},
		{Name: "_fbp", Domain: ".example.com", Path: "/", Category: scanner.Marketing},
	}}
	d := scanner.Compare(before, after)
	fmt.Println("new:", d.New[0].Name, "gone:", d.Gone[0].Name, "changed:", d.Changed[0].New.Name, d.Changed[0].Fields)
	// Output:
	// new: _fbp gone: old changed: _ga [before_consent]
}
