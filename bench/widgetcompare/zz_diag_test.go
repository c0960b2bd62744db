package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

func TestZZDiag(t *testing.T) {
	if os.Getenv("WC_DIAG") == "" {
		t.Skip()
	}
	ctx := context.Background()
	c, err := startCrumb(errorLogger(os.Stderr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, _ := startStatic()
	defer st.Close()
	js, err := fetchWidget(ctx, c, "identity")
	if err != nil {
		t.Fatal(err)
	}
	v, err := loadNPM(st, "node_modules", libVanilla)
	if err != nil {
		t.Fatal(err)
	}
	mark := `<script>window.__t0=performance.now()</script>`
	targets := []target{
		{name: "empty", url: emptyPage(st), empty: true},
		{name: "crumb-async", url: crumbPage(st, c)},
		{name: "crumb-sync", url: st.addPage("/cs.html", page(crumbFound, `<script src="`+c.widgetURL()+`"></script>`, ""))},
		{name: "crumb-inline", url: st.addPage("/ci.html", page(crumbFound, mark+`<script>`+string(js)+`</script>`, ""))},
		{name: "crumb-inline-body", url: st.addPage("/cib.html", page(crumbFound, "", mark+`<script>`+string(js)+`</script>`))},
		{name: "vanilla", url: v.pageURL},
		{name: "vanilla-inline", url: st.addPage("/vi.html", page(npmLibs[libVanilla].found, `<style>`+string(v.files[1].a.plain)+`</style>`, mark+`<script>`+string(v.files[0].a.plain)+`</script>
<script>CookieConsent.run({hideFromBots:false,categories:{necessary:{enabled:true,readOnly:true},analytics:{}},language:{default:'en',translations:{en:{consentModal:{title:'We use cookies',description:'Cookies help us run this shop.',acceptAllBtn:'Accept all',acceptNecessaryBtn:'Reject all',showPreferencesBtn:'Manage preferences'},preferencesModal:{title:'Cookie preferences',acceptAllBtn:'Accept all',acceptNecessaryBtn:'Reject all',savePreferencesBtn:'Save',sections:[]}}}}});</script>`))},
	}
	b, err := startBrowser(chromiumPath(""))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	n, _ := strconv.Atoi(os.Getenv("WC_DIAG"))
	res, err := timeToBanner(ctx, b, targets, n, 1, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		fmt.Printf("%-20s med %6.1f p90 %6.1f net %6.1f dcl %6.1f fetchstart %6.1f fetched %6.1f failed %d\n", r.Library, r.Median, r.P90, r.NetMedian, r.ReadyMedian, r.FetchStartMedian, r.FetchedMedian, r.Failed)
	}
	// in-page exec time for inline variants
	for _, tg := range targets[3:] {
		if tg.name == "vanilla" {
			continue
		}
		var xs []float64
		for range n {
			v, err := b.eval(ctx, tg.url, `window.__bannerAt - window.__t0`, 15*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			xs = append(xs, v.(float64))
		}
		fmt.Printf("%-20s exec (banner - t0) median %.1f p90 %.1f\n", tg.name, percentile(xs, .5), percentile(xs, .9))
	}
}
