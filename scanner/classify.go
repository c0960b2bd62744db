package scanner

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// Definition describes a known cookie (or Web Storage key) or a family of
// them.
type Definition struct {
	// Name is the exact name, or a pattern with one "*" standing for any run
	// of characters: "_ga_*", "mp_*_mixpanel", "_pk_id.*".
	Name     string `json:"name"`
	Category string `json:"category"` // necessary, preferences, statistics or marketing
	Provider string `json:"provider,omitempty"`
	Purpose  string `json:"purpose,omitempty"`
	Lifetime string `json:"lifetime,omitempty"` // typical lifetime, as text ("2 years", "session")
	// Domains, when set, limits the definition to cookies whose registrable
	// domain is one of these (for short, ambiguous names such as "fr" or
	// "NID"). A cookie of unknown domain matches.
	Domains []string `json:"domains,omitempty"`
	// Source is where the definition comes from: SourceBuiltin or
	// SourceOpenDB. Add keeps the value given, defaulting to SourceOpenDB.
	Source string `json:"source,omitempty"`
}

// Classification is the verdict on one cookie name.
type Classification struct {
	Category string // one of the four categories, or Unclassified
	Source   string // SourceBuiltin, SourceOpenDB, SourceOverride or SourceHeuristic
	Provider string
	Purpose  string
	Lifetime string
	Pattern  string // the definition's name or pattern that matched, "" for the heuristic
}

// ValidCategory reports whether c is one of the four banner categories.
func ValidCategory(c string) bool {
	switch c {
	case Necessary, Preferences, Statistics, Marketing:
		return true
	}
	return false
}

// Classifier maps cookie names to categories. Its lookup order:
//
//  1. per-site overrides (exact name, then the longest matching pattern);
//  2. exact names: the built-in database, then imported definitions;
//  3. patterns: the one with the most literal characters wins, the built-in
//     database on a tie — so an exact name always beats a pattern, and "_s*"
//     never beats "_session*";
//  4. otherwise Unclassified, with Source SourceHeuristic.
//
// A Classifier is safe for concurrent use.
type Classifier struct {
	mu        sync.RWMutex
	builtin   *defTable
	imported  *defTable
	overrides *defTable
}

// NewClassifier returns a classifier holding the built-in database.
func NewClassifier() *Classifier {
	return &Classifier{builtin: builtinTable(), imported: newDefTable(), overrides: newDefTable()}
}

// Add adds imported definitions (Open Cookie Database rows, for example).
// Definitions with an empty name or a category outside the four are skipped;
// for a name defined twice, the first definition stays.
func (c *Classifier) Add(defs []Definition) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.imported.clone()
	for _, d := range defs {
		if d.Source == "" {
			d.Source = SourceOpenDB
		}
		t.add(d)
	}
	c.imported = t
}

// SetOverrides replaces the per-site overrides: cookie name (or pattern with
// one "*") → category. It fails with ErrBadCategory, changing nothing, if a
// category is not one of the four.
func (c *Classifier) SetOverrides(overrides map[string]string) error {
	t, err := overrideTable(overrides)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.overrides = t
	c.mu.Unlock()
	return nil
}

// WithOverrides returns a classifier sharing c's databases with its own
// overrides, leaving c as it is.
func (c *Classifier) WithOverrides(overrides map[string]string) (*Classifier, error) {
	t, err := overrideTable(overrides)
	if err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return &Classifier{builtin: c.builtin, imported: c.imported, overrides: t}, nil
}

// Len returns the number of built-in and imported definitions.
func (c *Classifier) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.builtin.len() + c.imported.len()
}

func overrideTable(overrides map[string]string) (*defTable, error) {
	t := newDefTable()
	for _, name := range slices.Sorted(maps.Keys(overrides)) {
		cat := overrides[name]
		if !ValidCategory(cat) {
			return nil, fmt.Errorf("scanner: override %q: %w %q", name, ErrBadCategory, cat)
		}
		if strings.TrimSpace(name) == "" || strings.Count(name, "*") > 1 {
			return nil, fmt.Errorf("%w: override name %q (want a name or a pattern with one *)", ErrBadOptions, name)
		}
		t.add(Definition{Name: name, Category: cat, Source: SourceOverride})
	}
	return t, nil
}

// Classify returns the category of a cookie by its name and domain (the
// cookie's Domain, "" when unknown). An unknown cookie is Unclassified with
// Source SourceHeuristic.
func (c *Classifier) Classify(name, domain string) Classification {
	c.mu.RLock()
	b, imp, ov := c.builtin, c.imported, c.overrides
	c.mu.RUnlock()
	reg := ""
	if domain != "" {
		reg = registrable(domain)
	}
	if d, ok := ov.exactMatch(name, reg); ok {
		return d.classification()
	}
	if d, ok := ov.patternMatch(name, reg); ok {
		return d.classification()
	}
	if d, ok := b.exactMatch(name, reg); ok {
		return d.classification()
	}
	if d, ok := imp.exactMatch(name, reg); ok {
		return d.classification()
	}
	bd, bok := b.patternMatch(name, reg)
	id, iok := imp.patternMatch(name, reg)
	switch {
	case bok && (!iok || literalLen(bd.Name) >= literalLen(id.Name)):
		return bd.classification()
	case iok:
		return id.classification()
	}
	return Classification{Category: Unclassified, Source: SourceHeuristic}
}

func (d Definition) classification() Classification {
	return Classification{Category: d.Category, Source: d.Source, Provider: d.Provider,
		Purpose: d.Purpose, Lifetime: d.Lifetime, Pattern: d.Name}
}

// defTable indexes definitions by exact name and keeps patterns sorted by
// specificity. It is immutable once shared: Add builds a new one.
type defTable struct {
	exact    map[string][]Definition // several when they differ by Domains
	patterns []pattern               // most literal characters first
}

type pattern struct {
	prefix, suffix string
	def            Definition
}

func newDefTable() *defTable { return &defTable{exact: map[string][]Definition{}} }

func (t *defTable) len() int {
	n := len(t.patterns)
	for _, ds := range t.exact {
		n += len(ds)
	}
	return n
}

func (t *defTable) clone() *defTable {
	n := &defTable{exact: make(map[string][]Definition, len(t.exact)), patterns: slices.Clone(t.patterns)}
	for k, v := range t.exact {
		n.exact[k] = slices.Clone(v)
	}
	return n
}

// add inserts d unless a definition with the same name and domains exists.
func (t *defTable) add(d Definition) {
	d.Name = strings.TrimSpace(d.Name)
	if d.Name == "" || !ValidCategory(d.Category) || strings.Count(d.Name, "*") > 1 {
		return
	}
	doms := make([]string, 0, len(d.Domains))
	for _, dom := range d.Domains {
		doms = append(doms, registrable(dom))
	}
	d.Domains = doms
	pre, suf, isPattern := strings.Cut(d.Name, "*")
	if !isPattern {
		for _, e := range t.exact[d.Name] {
			if slices.Equal(e.Domains, d.Domains) {
				return
			}
		}
		t.exact[d.Name] = append(t.exact[d.Name], d)
		return
	}
	for _, p := range t.patterns {
		if p.def.Name == d.Name && slices.Equal(p.def.Domains, d.Domains) {
			return
		}
	}
	p := pattern{prefix: pre, suffix: suf, def: d}
	i, _ := slices.BinarySearchFunc(t.patterns, p, func(a, b pattern) int {
		return literalLen(b.def.Name) - literalLen(a.def.Name) // descending
	})
	// Insert after equals so that the first added wins ties.
	for i < len(t.patterns) && literalLen(t.patterns[i].def.Name) == literalLen(d.Name) {
		i++
	}
	t.patterns = slices.Insert(t.patterns, i, p)
}

func literalLen(name string) int { return len(name) - strings.Count(name, "*") }

func domainOK(d Definition, reg string) bool {
	return len(d.Domains) == 0 || reg == "" || slices.Contains(d.Domains, reg)
}

func (t *defTable) exactMatch(name, reg string) (Definition, bool) {
	for _, d := range t.exact[name] {
		if domainOK(d, reg) {
			return d, true
		}
	}
	return Definition{}, false
}

func (t *defTable) patternMatch(name, reg string) (Definition, bool) {
	for _, p := range t.patterns {
		if len(name) >= len(p.prefix)+len(p.suffix) &&
			strings.HasPrefix(name, p.prefix) && strings.HasSuffix(name, p.suffix) &&
			domainOK(p.def, reg) {
			return p.def, true
		}
	}
	return Definition{}, false
}
