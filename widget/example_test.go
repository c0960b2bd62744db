package widget_test

import (
	"errors"
	"fmt"

	"github.com/crumb-consent/crumb/widget"
)

func ExampleParseConfig() {
	c, err := widget.ParseConfig([]byte(`{"layout":"bar","position":"bottom","theme":"dark"}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(c.Layout, c.Position, c.DefaultLanguage, c.ConsentLifetimeDays)

	_, err = widget.ParseConfig([]byte(`{"layout":"popup","consent_lifetime_days":0}`))
	fmt.Println(errors.Is(err, widget.ErrInvalidConfig))
	fmt.Println(err)
	// Output:
	// bar bottom en 365
	// true
	// widget: invalid banner config: layout "popup": want one of bar, box, modal; consent_lifetime_days 0: want 1 to 730
}

func ExampleVersionOf() {
	canon := widget.DefaultConfig().Canonical()
	v := widget.VersionOf(canon)
	fmt.Println(len(v), v[:1])
	// Output: 17 v
}

func ExampleParseAcceptLanguage() {
	fmt.Println(widget.ParseAcceptLanguage("de-AT,de;q=0.9,en;q=0.8,*;q=0.1"))
	// Output: [de en]
}

func ExampleRender() {
	c := widget.DefaultConfig()
	js, err := widget.Render(widget.Page{
		Site:      "s1",
		API:       "https://crumb.example",
		Version:   widget.VersionOf(c.Canonical()),
		RuleSet:   widget.OptIn,
		Config:    c,
		Languages: widget.ParseAcceptLanguage("fr-FR,fr;q=0.9"),
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s…\n", js[:51])
	// Output:
	// //# allFunctionsCalledOnLoad
	// {const __crumb_config=…
}
