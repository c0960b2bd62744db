package geo_test

import (
	"fmt"
	"log"
	"net/netip"

	"github.com/crumb-consent/crumb/geo"
)

func ExampleOpen() {
	// A GeoLite2-Country database; crumb serve --geoip takes its path.
	regions, err := geo.Open("testdata/GeoLite2-Country-Test.mmdb")
	if err != nil {
		log.Fatal(err)
	}
	defer regions.Close()

	// Addresses arrive anonymised: IPv4 /24, IPv6 /48.
	for _, a := range []string{"2.0.1.0", "3.0.7.0", "1.0.0.0", "2001:db8:1234::", "9.9.9.0"} {
		country, ruleSet := regions.Lookup(netip.MustParseAddr(a))
		fmt.Printf("%-16s %-2s %s\n", a, country, ruleSet)
	}
	// Output:
	// 2.0.1.0          FR opt-in
	// 3.0.7.0          US opt-out
	// 1.0.0.0          AU notice
	// 2001:db8:1234::  DE opt-in
	// 9.9.9.0             opt-in
}

func ExampleRuleSet() {
	fmt.Println(geo.RuleSet("DE", ""))
	fmt.Println(geo.RuleSet("US", ""))   // Country database: the whole US
	fmt.Println(geo.RuleSet("US", "CO")) // City database: Colorado has a privacy law
	fmt.Println(geo.RuleSet("US", "WY")) // Wyoming has none
	fmt.Println(geo.RuleSet("", ""))     // unknown
	// Output:
	// opt-in
	// opt-out
	// opt-out
	// notice
	// opt-in
}
