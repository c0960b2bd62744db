package scanner

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// Resolver looks host names up. *net.Resolver satisfies it; tests give a
// map of names to loopback addresses so that real host names (site.test,
// tracker.test) can be crawled while the traffic stays on 127.0.0.1.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// specialPrefixes are ranges a scan may not reach unless AllowPrivate is set,
// beyond what netip.Addr's predicates (loopback, private, link-local,
// multicast, unspecified) already cover. Sources: the IANA IPv4 and IPv6
// Special-Purpose Address Registries (RFC 6890 and successors).
var specialPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space, CGNAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
	netip.MustParsePrefix("192.88.99.0/24"),  // 6to4 relay anycast (deprecated)
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and 255.255.255.255
	netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated)
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use IPv4/IPv6 translation
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001::/23"),       // IETF protocol assignments (Teredo, ORCHID, …)
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("3fff::/20"),       // documentation (RFC 9637)
	netip.MustParsePrefix("5f00::/16"),       // SRv6 SIDs
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated)
}

var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96") // well-known NAT64: embeds an IPv4 address
	sixToFour   = netip.MustParsePrefix("2002::/16")    // 6to4: embeds an IPv4 address
)

// PublicAddr reports whether a scan may connect to addr without
// AllowPrivate: false for loopback, private (RFC 1918, fc00::/7), link-local,
// unspecified, multicast, CGNAT and the other special-purpose ranges, and for
// IPv6 forms that embed such an IPv4 address (IPv4-mapped, NAT64, 6to4).
func PublicAddr(addr netip.Addr) bool {
	if !addr.IsValid() {
		return false
	}
	addr = addr.Unmap()
	if addr.Is6() {
		if addr.Zone() != "" {
			return false
		}
		b := addr.As16()
		switch {
		case nat64Prefix.Contains(addr):
			return PublicAddr(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case sixToFour.Contains(addr):
			return PublicAddr(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
	}
	if addr.IsLoopback() || addr.IsPrivate() || addr.IsUnspecified() ||
		addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() ||
		addr.IsInterfaceLocalMulticast() || addr.IsMulticast() {
		return false
	}
	for _, p := range specialPrefixes {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// guard dials only addresses a scan may reach. It resolves the host itself
// and connects to the very address it checked, so a DNS answer that changes
// between check and connect (rebinding) cannot get around it.
type guard struct {
	allowPrivate bool
	isPublic     func(netip.Addr) bool
	resolver     Resolver
	dialer       net.Dialer
}

func newGuard(allowPrivate bool, isPublic func(netip.Addr) bool, r Resolver, timeout time.Duration) *guard {
	if r == nil {
		r = net.DefaultResolver
	}
	if isPublic == nil {
		isPublic = PublicAddr
	}
	return &guard{
		allowPrivate: allowPrivate,
		isPublic:     isPublic,
		resolver:     r,
		dialer:       net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second},
	}
}

// resolve returns the addresses of host the scan may connect to. It fails
// with an error wrapping ErrPrivateTarget when every address is refused.
// Error texts name the host, never an address.
func (g *guard) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		addrs, err = g.resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, fmt.Errorf("scanner: resolve %s: %w", host, err)
		}
	}
	ok := addrs[:0:0]
	for _, a := range addrs {
		if g.allowPrivate || g.isPublic(a) {
			ok = append(ok, a.Unmap())
		}
	}
	if len(ok) == 0 {
		if len(addrs) == 0 {
			return nil, fmt.Errorf("scanner: resolve %s: no addresses", host)
		}
		return nil, fmt.Errorf("scanner: connect to %s: %w", host, ErrPrivateTarget)
	}
	return ok, nil
}

// DialContext is an http.Transport dial function that applies the check to
// every connection, redirects included.
func (g *guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("scanner: dial %s: %w", address, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return nil, fmt.Errorf("scanner: dial %s: bad port", host)
	}
	addrs, err := g.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	var firstErr error
	for _, a := range addrs {
		c, err := g.dialer.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return c, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	// The net error would print the address; name the host instead.
	return nil, fmt.Errorf("scanner: connect to %s: %w", host, stripAddr(firstErr))
}

// stripAddr keeps the cause of a dial error without the address text.
func stripAddr(err error) error {
	if op, ok := err.(*net.OpError); ok && op.Err != nil {
		return op.Err
	}
	return err
}
