// Package widget is Crumb's consent banner: the banner config schema owners edit, the
// vanilla JS/CSS sources of the banner, their esbuild bundle (embedded), and the rendering
// of the widget.js one visitor receives.
package widget
