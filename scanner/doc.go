// Package scanner is Crumb's cookie scanner: it crawls a site, finds every
// cookie it sets, classifies each one and flags what is set before consent.
// See Scan.
package scanner
