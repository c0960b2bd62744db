package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/chromedp/cdproto/network"
)

// networkProfiles are the links -throttle names: Lighthouse's mobile
// profiles as DevTools applies them to each request (request latency = RTT
// × 3.75, throughput × 0.9; chrome-devtools-frontend's lantern
// Constants.ts). On loopback every byte is free; on these links the bytes a
// library serves, and its requests, count.
var networkProfiles = map[string]network.Conditions{
	// mobileSlow4G (DevTools' "Slow 4G"): RTT 150 ms, 1.6 Mbit/s down, 750 kbit/s up.
	"slow4g": {Latency: 150 * 3.75, DownloadThroughput: 1.6 * 1024 * 1024 / 8 * 0.9, UploadThroughput: 750 * 1024 / 8 * 0.9},
	// mobileRegular3G (DevTools' "3G"): RTT 300 ms, 700 kbit/s both ways.
	"3g": {Latency: 300 * 3.75, DownloadThroughput: 700 * 1024 / 8 * 0.9, UploadThroughput: 700 * 1024 / 8 * 0.9},
}

// networkProfile returns the conditions -throttle names; nil for "" (no
// throttling).
func networkProfile(name string) (*network.Conditions, error) {
	if name == "" {
		return nil, nil
	}
	c, ok := networkProfiles[name]
	if !ok {
		names := make([]string, 0, len(networkProfiles))
		for n := range networkProfiles {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, fmt.Errorf("unknown network profile %q (want one of %s)", name, strings.Join(names, ", "))
	}
	return &c, nil
}
