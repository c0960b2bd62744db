package scanner

import (
	"fmt"
	"testing"
)

func TestServicesAndBlockHosts(t *testing.T) {
	rep := &Report{
		Cookies: []Cookie{
			{Name: "_ga", Category: Statistics, Provider: "Google Analytics", Initiator: "https://www.googletagmanager.com/gtag/js"},
			{Name: "_ga_X", Category: Statistics, Provider: "Google Analytics", Initiator: "https://www.googletagmanager.com/gtag/js"},
			{Name: "PHPSESSID", Category: Necessary, Provider: "PHP", Initiator: "https://shop.example/"},
			{Name: "tp", Category: Marketing, Provider: "Ads Inc", Initiator: "https://ads.example/px"},
			{Name: "x", Category: Unclassified, Initiator: "https://cdn.unknown.example/a.js"},
			{Name: "pref", Category: Preferences, Initiator: "https://widget.example/w.js"},
		},
		Storage: []StorageItem{{Key: "ajs_user_id", Category: Statistics, Provider: "Segment", Initiator: "https://cdn.segment.com/a.js"}},
		Requests: []Request{
			{URL: "https://www.googletagmanager.com/gtag/js", ThirdParty: true},
			{URL: "https://connect.facebook.net/en_US/fbevents.js", ThirdParty: true},
			{URL: "https://ads.example/px", ThirdParty: true},
			{URL: "https://cdn.unknown.example/a.js", ThirdParty: true},
			{URL: "https://widget.example/w.js", ThirdParty: true},
			{URL: "https://cdn.segment.com/a.js", ThirdParty: true},
			{URL: "https://shop.example/app.js", ThirdParty: false},
		},
	}
	var got []string
	for _, s := range Services(rep) {
		got = append(got, fmt.Sprintf("%s/%s%v%v", s.Category, s.Provider, s.Names, s.Hosts))
	}
	want := []string{
		"necessary/PHP[PHPSESSID][shop.example]",
		"preferences/[pref][widget.example]",
		"statistics/Google Analytics[_ga _ga_X][www.googletagmanager.com]",
		"statistics/Segment[ajs_user_id][cdn.segment.com]",
		"marketing/Ads Inc[tp][ads.example]",
		"unclassified/[x][cdn.unknown.example]",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Services:\n got %q\nwant %q", got, want)
	}
	got = nil
	for _, b := range BlockHosts(rep) {
		got = append(got, b.Host+"="+b.Category)
	}
	want = []string{"ads.example=marketing", "cdn.segment.com=statistics", "connect.facebook.net=marketing",
		"widget.example=preferences", "www.googletagmanager.com=statistics"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("BlockHosts:\n got %q\nwant %q", got, want)
	}
}
