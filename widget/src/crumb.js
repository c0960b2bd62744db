// Crumb consent banner. Vanilla JS, no dependencies.
//
// widget.Render wraps the bundle of this file as
//   {const __crumb_config={…resolved config…};<bundle>}
// so the config is a block-scoped constant of one response, never a global. __CRUMB_CSS__ is
// replaced at build time by the minified crumb.css (see widget/internal/bundle).
//
// The contract (DESIGN.md §6): one <crumb-consent> element with an open shadow root, buttons
// with data-action="accept_all|reject_all|customize|save", switches with data-category, and
// the first-party cookie crumb_consent holding the receipt (a JWT) or, until the server has
// answered, "P" + base64url(JSON list of pending choices).
//
// Every byte here is served with every page view (TestSizeBudget keeps widget.js under 8 KB
// gzipped in every built-in language), hence the terse code.

/* global __crumb_config, __CRUMB_CSS__ */

const W = window
const D = document
const C = __crumb_config
// Render leaves out what holds these defaults (and empty strings and false): the four
// categories all offered, no colours, services, cookies or sharing sites.
const { categories, colors = {}, services = [], cookies = [], share_domains: shareDomains = [] } = C
const NAME = 'crumb_consent'
const CATS = ['necessary', 'preferences', 'statistics', 'marketing']
const SEL = 'script[type="text/plain"][data-crumb-category],iframe[data-crumb-src][data-crumb-category]'
const WATCH = SEL + ',[data-crumb-declaration]'
const MAXQ = 4 // pending choices kept in the cookie while the server is unreachable
const SHARE = 'crumb_share' // the query parameter that hands a consent to another site

const me = D.currentScript
const nonce = (me && (me.nonce || me.getAttribute('nonce'))) || ''
const gpc = navigator.globalPrivacyControl === true
const rule = C.rule_set
const LIFE = C.consent_lifetime_days * 864e5 // how long a consent holds, in ms
// The categories this site shows, in order (necessary always: Validate).
const offered = categories ? categories.filter((c) => c.enabled).map((c) => c.id) : CATS

// The language: the first of the visitor's languages the config has texts for (Render
// always inlines the default language's).
let lang = C.default_language
for (const l of navigator.languages || []) {
  const p = l.split('-')[0].toLowerCase()
  if (C.texts[p]) { lang = p; break }
}
const T = C.texts[lang]

let cur = {} // the stored consent: {state, version, exp, at, id, queue}; {} if none
let valid = false // cur is for this config version and not expired
let state // what is granted now: the stored choice or the rule set's defaults
// The banner, built on first show (box is null until then): its shadow root, the dialog,
// the second layer's list, the buttons by data-action; whether it is modal and still bare.
let shadow, box = null, list, A, modal, bare
// Shown (isOpen), the second layer (layer2), opened from the settings entry (via), and what
// had the focus before (prev).
let isOpen = false, layer2, via, prev
let busy = false // a flush() is running
let sheet = null
let jar = '' // the last value written, for browsers that refuse cookies: kept for this page

// ---- small helpers --------------------------------------------------------------------

const b64e = (s) => btoa(unescape(encodeURIComponent(s))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
const b64d = (s) => decodeURIComponent(escape(atob(s.replace(/-/g, '+').replace(/_/g, '/'))))
const randomID = () => b64e(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16)))) // 22 characters

// under: host h is domain d or one of its subdomains.
const under = (h, d) => h === d || h.endsWith('.' + d)
// shares: host h belongs to one of the account's other sites that share consent.
const shares = (h) => shareDomains.some((d) => under(h, d))
const words = (s) => s.trim().split(/\s+/)

// norm makes a full state object with necessary granted. A category the site hides is
// granted by "accept all" like the others (the server checks that accept_all grants all);
// it has nothing to run, and a config that starts using it is a new version, asked again.
function norm (s) {
  const o = {}
  CATS.forEach((c) => { o[c] = c === 'necessary' || !!(s && s[c]) })
  return o
}

const all = (on) => norm({ preferences: on, statistics: on, marketing: on })
const grantsAny = (s) => !!(s && (s.preferences || s.statistics || s.marketing))

// defaults is what applies before a choice: nothing under opt-in; everything under opt-out
// (but marketing when the browser sends Global Privacy Control) and notice.
function defaults () {
  const s = all(rule !== 'opt-in')
  if (gpc && rule === 'opt-out') s.marketing = false
  return s
}

// ---- the cookie -------------------------------------------------------------------------

function writeCookie (value, expires) {
  const d = C.cookie_domain
  // (max-age must be an integer, or the browser makes a session cookie; a negative one
  // deletes.)
  let s = NAME + '=' + value + ';path=/;max-age=' + ((expires - Date.now()) / 1000 | 0) + ';samesite=lax'
  if (location.protocol === 'https:') s += ';secure'
  if (d && under(location.hostname, d)) {
    D.cookie = NAME + '=;path=/;max-age=0' // a host-only copy would shadow the shared one
    s += ';domain=' + d
  }
  D.cookie = s
  jar = value
}

// load reads crumb_consent: a receipt (JWT) or a list of pending choices; {} when there is
// none, or one that is not ours or damaged (asked again).
function load () {
  const m = D.cookie.match(/(?:^|;\s*)crumb_consent=([^;]*)/)
  const v = m ? m[1] : jar
  if (!v) return {} // (the common case on a first visit, so not through an exception: V8's
  // first exception in a script costs milliseconds)
  try {
    if (v[0] === 'P') {
      const q = JSON.parse(b64d(v.slice(1)))
      const e = q[q.length - 1]
      return { state: norm(e.s), version: e.v, exp: e.t + LIFE, at: e.t, id: '', queue: q }
    }
    const p = JSON.parse(b64d(v.split('.')[1]))
    return { state: norm(p.state), version: p.ver, exp: Math.min(p.exp * 1000 || Infinity, p.iat * 1000 + LIFE || Infinity), at: p.iat * 1000 || 0, id: p.jti }
  } catch (e) {
    return {}
  }
}

// fresh: c is a consent for this config version and not expired.
const fresh = (c) => c.version === C.version && c.exp > Date.now()

function savePending (q) {
  writeCookie('P' + b64e(JSON.stringify(q)), q[q.length - 1].t + LIFE)
}

// ---- recording ------------------------------------------------------------------------

// flush sends the pending choices in order, each once: a retry reuses the nonce, so the
// server answers a repeated one with the consent it already has.
async function flush () {
  if (busy) return
  busy = true
  try {
    // Each round answers or gives up on one entry; the bound guards against a cookie
    // that cannot be rewritten.
    for (let round = 0; round <= MAXQ; round++) {
      const e = (load().queue || []).find((x) => !x.x)
      if (!e) break
      const body = { site: C.site, url: e.u, state: e.s, method: e.m, version: e.v, nonce: e.n }
      if (e.r) body.replaces = e.r
      if (e.g) body.gpc = true
      if (e.f) body.shared_from = e.f
      let res
      try {
        // A string body is sent as text/plain;charset=UTF-8: a CORS-simple request, no
        // preflight.
        res = await fetch(C.api + '/v1/consent', { method: 'POST', body: JSON.stringify(body), credentials: 'omit', keepalive: true })
      } catch (err) {
        break // offline or blocked: keep it for the next page view or the online event
      }
      const st = res.status
      let j = null
      if (res.ok) {
        try { j = await res.json() } catch (err) {}
      } else if (st < 400 || st > 499 || st === 408 || st === 429) {
        break // try later
      }
      // Take the answered entry out of what the cookie holds now (another tab or a click
      // may have changed it while the request was under way).
      const nq = load().queue || []
      const i = nq.findIndex((x) => x.n === e.n)
      if (i < 0) break
      if (!j || !j.id) {
        nq[i].x = 1 // refused for good: the choice still applies here, it is not sent again
        savePending(nq)
        continue
      }
      nq.splice(0, i + 1)
      if (nq.length) {
        if (!nq[0].r) nq[0].r = j.id
        savePending(nq)
      } else {
        // (load() takes the receipt's own expiry into account.)
        writeCookie(j.receipt, e.t + LIFE)
        if (!load().id) { e.x = 1; savePending([e]) } // not a receipt: keep the choice
      }
      cur = load()
    }
  } finally {
    busy = false
  }
}

// choose applies a choice at once, keeps it in the cookie and records it. from names the
// consent of another site it was taken over from; g says that one came with GPC.
function choose (s, method, from, g) {
  s = norm(s)
  if (method !== 'gpc' && grantsAny(cur.state) && !grantsAny(s)) method = 'withdraw'
  const q = (cur.queue || []).filter((x) => !x.x)
  const r = cur.id || ''
  if (method === 'withdraw' && !r && !q.length) method = 'reject_all' // nothing known to withdraw
  q.push({ s, m: method, v: C.version, t: Date.now(), n: randomID(), u: location.href.split('#')[0].slice(0, 1024), r, g: gpc || g ? 1 : 0, f: from })
  while (q.length > MAXQ) q.splice(1, 1)
  savePending(q)
  cur = load()
  valid = true
  purge(s)
  apply(s, true)
  flush()
}

// purge deletes first-party cookies of denied categories that the config lists, on this
// host and its parent domains.
function purge (s) {
  const pats = []
  services.forEach((v) => { if (!s[v.category]) pats.push(...v.cookies) })
  cookies.forEach((c) => { if (!s[c.category]) pats.push(c.name) })
  const parts = location.hostname.split('.')
  D.cookie.split(';').forEach((kv) => {
    const n = kv.split('=')[0].trim()
    if (n && n !== NAME && pats.some((p) => (p.slice(-1) === '*' ? n.indexOf(p.slice(0, -1)) === 0 : n === p))) {
      parts.forEach((x, i) => { D.cookie = n + '=;path=/;max-age=0' + (i ? ';domain=' + parts.slice(i - 1).join('.') : '') })
    }
  })
}

// ---- applying -------------------------------------------------------------------------

function apply (s, announce) {
  state = s
  if (announce || valid || rule !== 'opt-in') consentMode('update')
  activate()
  if (box) sync()
  if (announce) {
    D.dispatchEvent(new CustomEvent('crumb:consent', { detail: { ...s } }))
    if (typeof api.onchange === 'function') {
      try { api.onchange({ ...s }) } catch (err) { setTimeout(() => { throw err }) }
    }
  }
}

let chain = Promise.resolve()

// activate runs the blocked scripts and loads the blocked iframes whose categories are all
// granted, in document order; a script with src is waited for before the next one runs.
function activate () {
  D.querySelectorAll(SEL).forEach((el) => {
    if (el._crumb) return
    const cats = el.dataset.crumbCategory
    const frame = el.tagName === 'IFRAME'
    if (!words(cats).every((c) => state[c])) {
      if (frame) placeholder(el, cats)
    } else if (frame) {
      el._crumb = 1
      if (el._ph) { el._ph.remove(); el.hidden = false }
      el.src = el.dataset.crumbSrc
      delete el.dataset.crumbSrc
    } else {
      el._crumb = 1
      chain = chain.then(() => run(el))
    }
  })
}

function run (old) {
  return new Promise((resolve) => {
    const s = D.createElement('script')
    for (const a of old.attributes) {
      if (a.name !== 'type' && a.name.indexOf('data-crumb-')) s.setAttribute(a.name, a.value)
    }
    const t = old.dataset.crumbType
    if (t) s.type = t
    if (nonce) s.nonce = nonce
    s._crumb = 1
    if (s.src) {
      s.async = false
      s.onload = s.onerror = resolve
    } else {
      s.text = old.text
    }
    if (old.parentNode) old.parentNode.replaceChild(s, old)
    else D.head.appendChild(s)
    if (!s.src) resolve()
  })
}

function placeholder (f, cats) {
  if (f._ph) return
  const cat = words(cats).find((c) => !state[c])
  const title = (T.categories[cat] || { title: cat }).title
  const host = D.createElement('crumb-placeholder')
  const root = host.attachShadow({ mode: 'open' })
  const w = parseInt(f.width)
  const h = parseInt(f.height)
  style(root, ':host{display:block!important;' + (w > 0 ? 'width:' + w + 'px;max-width:100%;' : '') + (h > 0 ? 'height:' + h + 'px;' : '') + '}')
  const btn = el('button', { class: 'pri', type: 'button', 'data-category': cat }, T.placeholder_allow)
  btn.onclick = () => choose({ ...state, [cat]: true }, 'custom')
  root.append(el('div', { class: 'cc c ph ' + C.theme, lang, dir: T.dir }, el('p', 0, T.placeholder.replace('{category}', title)), btn))
  f._ph = host
  f.hidden = true
  f.parentNode.insertBefore(host, f)
}

// ---- auto-blocking --------------------------------------------------------------------

const hosts = []
services.forEach((s) => s.hosts.forEach((h) => hosts.push([h, s.category])))

function blockedCategory (url) {
  let h
  try { h = new URL(url, location.href).hostname } catch (e) {}
  for (const [x, c] of hosts) {
    if (h && under(h, x) && !state[c]) return c
  }
}

// hold turns a script or iframe of a listed host into a blocked one before the browser
// runs or loads it; activate() releases it once its category is granted.
function hold (n) {
  if (n.nodeType !== 1 || n._crumb) return
  const s = n.tagName === 'SCRIPT'
  const c = (s ? n.src && (!n.type || /javascript|module|ecmascript/i.test(n.type)) : n.tagName === 'IFRAME' && n.getAttribute('src')) && blockedCategory(n.src)
  if (!c) return
  n.dataset.crumbCategory = c
  if (s) {
    if (n.type) n.dataset.crumbType = n.type
    n.type = 'text/plain'
  } else {
    n.dataset.crumbSrc = n.src
    n.src = 'about:blank' // also stops a load that began when the parser inserted it
  }
}

function holdTree (n) {
  if (n && n.nodeType) {
    hold(n)
    if (n.querySelectorAll) n.querySelectorAll('script[src],iframe[src]').forEach(hold)
  }
}

function autoBlock () {
  // Scripts that other scripts insert run as soon as they are inserted, so insertion is
  // intercepted; the observer catches parser-inserted ones before the parser runs them.
  // Node's methods take the new node first (the others are already in the tree); Element's
  // take only new ones.
  [[Node, 'appendChild insertBefore replaceChild'], [Element, 'append prepend before after replaceWith']].forEach(([K, ms]) => {
    const P = K.prototype
    ms.split(' ').forEach((m) => {
      const orig = P[m]
      if (orig) {
        P[m] = function (...a) {
          (K === Node ? a.slice(0, 1) : a).forEach(holdTree)
          return orig.apply(this, a)
        }
      }
    })
  })
}

let pending = false
function watch () {
  new MutationObserver((ms) => {
    let found = false
    for (const m of ms) {
      for (const n of m.addedNodes) {
        if (n.nodeType !== 1) continue
        if (C.auto_block) holdTree(n)
        found = found || n.matches(WATCH) || !!n.querySelector(WATCH)
      }
    }
    if (found && !pending) {
      pending = true
      setTimeout(() => { pending = false; activate(); declarations() })
    }
  }).observe(D.documentElement, { childList: true, subtree: true })
}

// ---- sharing with the account's other sites -------------------------------------------

// A link to a host of share_domains gets ?crumb_share=<consent id> when it is followed (only
// then: nothing is rewritten before), if the visitor holds a receipt here. The site it leads
// to looks that consent up and records it as its own (shared_from): no third-party cookie.

// unshare takes crumb_share out of a query string ("?a=1&crumb_share=x"): [the rest without
// "?", the value or undefined].
function unshare (search) {
  let v
  const rest = search.slice(1).split('&').filter((kv) => {
    if (kv.split('=')[0] !== SHARE) return kv
    v = kv.slice(SHARE.length + 1)
  })
  return [rest.join('&'), v]
}

// decorate listens to click, auxclick (middle button) and contextmenu in the capture phase:
// keyboard activation (Enter on a link) is dispatched as a click too, and "open in new tab"
// from the context menu takes the link as it is once the menu opens, so every way of
// following a link passes here, also for links in open shadow roots.
//
// A click on an owner's element marked data-crumb-settings (a footer link, say) opens the
// settings, as Crumb.show() does: a page under a strict CSP has no inline onclick to call it.
function decorate (e) {
  if (e.type === 'click' && e.target.closest?.('[data-crumb-settings]')) {
    e.preventDefault()
    return api.show()
  }
  const a = e.composedPath().find((n) => n.tagName === 'A' && n.href)
  if (!a || !shares(a.hostname)) return
  const c = load()
  // (A link left decorated, after a middle click say, hands on nothing by itself: the
  // referrer check in start() makes the id count only when a sharing site sent it.)
  if (fresh(c) && c.id) a.search = (unshare(a.search)[0] + '&' + SHARE + '=' + c.id).replace(/^&/, '')
}

// lookup asks the server for the consent another site handed on: its JSON, or nothing after
// a 404, an error or 1.5 s without an answer (a later answer is ignored).
function lookup (id) {
  return new Promise((resolve) => {
    setTimeout(resolve, 1500)
    fetch(C.api + '/v1/sites/' + C.site + '/shared/' + id, { credentials: 'omit' })
      .then((r) => r.ok && r.json()).then(resolve, resolve)
  })
}

// adopt takes over a shared consent when this site has no valid one, or an older one that
// says something else (the same state is not recorded again: links back and forth between
// two sites would otherwise record a new consent on every visit).
function adopt (j) {
  if (!j?.id || !j.state) return
  const s = norm(j.state)
  if (valid && !(Date.parse(j.time) >= cur.at && JSON.stringify(s) !== JSON.stringify(state))) return
  choose(s, j.method, j.id, j.gpc)
}

// ---- Google Consent Mode v2 (and Microsoft UET's) ---------------------------------------

function consentMode (cmd) {
  if (!C.consent_mode) return
  if (typeof W.gtag !== 'function') {
    // The standard gtag snippet: consent defaults must reach the data layer before the
    // Google tag reads it, also when it loads after this script.
    W.dataLayer = W.dataLayer || []
    W.gtag = function () { W.dataLayer.push(arguments) }
  }
  // Consent Mode storage types; ad_* are granted by marketing, analytics_* by statistics,
  // the others by preferences.
  const o = {}
  'ad_storage ad_user_data ad_personalization analytics_storage functionality_storage personalization_storage'.split(' ').forEach((k) => {
    o[k] = cmd === 'default' || !state[k[1] === 'd' ? 'marketing' : k[0] === 'a' ? 'statistics' : 'preferences'] ? 'denied' : 'granted'
  })
  if (cmd === 'default') {
    o.security_storage = 'granted'
    o.wait_for_update = 500
  }
  W.gtag('consent', cmd, o)
  // Microsoft UET consent mode: the queue its tag reads when it loads, or the tag itself.
  ;(W.uetq = W.uetq || []).push('consent', cmd, { ad_storage: o.ad_storage })
  // For Google Tag Manager: a custom event to trigger tags on, with the state to read.
  if (cmd === 'update') W.dataLayer?.push({ event: 'crumb_consent', crumb: { ...state } })
}

// ---- the banner -----------------------------------------------------------------------

// el makes an element: attributes true are empty, false and null left out; children that
// are falsy ('' included) are left out, strings become text nodes, arrays are flattened.
function el (tag, attrs, ...kids) {
  const e = D.createElement(tag)
  for (const k in attrs) {
    const v = attrs[k]
    if (v != null && v !== false) e.setAttribute(k, v === true ? '' : v)
  }
  e.append(...kids.flat().filter((k) => k))
  return e
}

// style gives a shadow root the banner's CSS (constructed sheets: allowed under a strict
// style-src, no <style> element, no style attribute) and any extra rules.
function style (root, extra) {
  if (!sheet) {
    const k = colors
    sheet = mkSheet(__CRUMB_CSS__ + '.cc.c{' + (k.primary ? '--p:' + k.primary + ';--pt:' + k.on_primary + ';' : '') +
      (k.background ? '--bg:' + k.background + ';' : '') + (k.text ? '--fg:' + k.text + ';--mu:' + k.text + ';' : '') + '}')
  }
  const sheets = [sheet]
  if (extra) sheets.push(mkSheet(extra))
  if (sheet.replaceSync) root.adoptedStyleSheets = sheets
  else sheets.forEach((s) => root.append(el('style', 0, s))) // old browsers: text in the shadow root
}

function mkSheet (css) {
  try {
    const s = new CSSStyleSheet()
    s.replaceSync(css)
    return s
  } catch (e) {
    return css
  }
}

// build makes the banner's first layer; fill adds the second when it is first shown. With
// bare, the CSS waits for open(): until then the dialog is hidden and the host, an empty
// inline element, shows nothing, so the sheet's parsing need not hold up the page's script
// task.
function build (deferred) {
  const host = D.createElement('crumb-consent')
  shadow = host.attachShadow({ mode: 'open' })
  bare = deferred
  if (!bare) style(shadow)
  modal = C.layout === 'modal'
  A = {}
  const btn = (a, cls) => (A[a] = el('button', { type: 'button', class: cls || 'pri', 'data-action': a }, T[a]))
  list = el('div', { class: 'l2', hidden: true })
  // (target _blank implies rel noopener.)
  // A <dialog>: shown modal in the modal layout (the page behind is inert), else as a manual
  // popover (top layer, page usable). Browsers without either get a fixed box.
  box = el('dialog', {
    class: 'b', role: 'dialog', tabindex: '-1', 'aria-modal': modal && 'true', 'aria-labelledby': 'crumb-t', 'aria-describedby': 'crumb-d', popover: 'manual', hidden: true
  },
  btn('close', 'x'),
  el('h2', { id: 'crumb-t' }, T.title),
  el('p', { id: 'crumb-d' }, T.description, C.privacy_url && [' ', el('a', { href: C.privacy_url, target: '_blank' }, T.privacy_link)]),
  list,
  el('div', { class: 'btns' }, btn('reject_all'), btn('accept_all'), btn('customize', 'sec'), btn('save', 'sec')))
  shadow.append(el('div', { class: 'cc c ' + C.layout + ' ' + C.position + ' ' + C.theme, lang, dir: T.dir }, box, btn('settings', 'fab')))
  // Under <html>, not <body>: a page that hides or replaces its body keeps the banner.
  D.documentElement.appendChild(host)
  shadow.addEventListener('click', onClick)
  box.onkeydown = onKey
  box.oncancel = (e) => e.preventDefault() // Escape is ours (onKey)
  box.onclose = () => { if (isOpen) open() } // closed by the browser: back
}

// (Render inlines the texts of every offered category.)
function fill () {
  offered.forEach((id) => {
    const t = T.categories[id]
    const nec = id === 'necessary'
    const svcs = services.filter((s) => s.category === id)
    list.append(el('div', { class: 'cat' },
      el('label', { for: 'c-' + id },
        el('input', { type: 'checkbox', id: 'c-' + id, 'data-category': id, disabled: nec, 'aria-describedby': 'c-' + id + '-d' }),
        el('span', 0, t.title), nec && el('small', 0, T.always_on)),
      el('p', { id: 'c-' + id + '-d' }, t.description),
      svcs.length && el('ul', { class: 'svc' }, svcs.map((s) => el('li', 0, el('b', 0, s.name),
        s.description[lang] && ' ' + s.description[lang],
        s.cookies.length && el('small', 0, ' (' + s.cookies.join(', ') + ')'))))))
  })
}

// showRoot undoes `* { display: none !important }`, which hides <html> itself and with it
// everything: a more specific important rule brings the root back (the page's content
// stays hidden). Checked again once the page's styles have loaded.
let rootFixed = false
function showRoot () {
  if (rootFixed || !box || getComputedStyle(D.documentElement).display !== 'none') return
  const fix = mkSheet(':root{display:block!important}')
  if (fix.replaceSync) D.adoptedStyleSheets = D.adoptedStyleSheets.concat(fix)
  rootFixed = true
}

// sync puts the current state into the switches and the buttons into their layer.
function sync () {
  const notice = rule === 'notice' && !layer2
  if (layer2 && !list.firstChild) fill()
  shadow.querySelectorAll('input[data-category]').forEach((i) => { i.checked = state[i.dataset.category] })
  list.hidden = A.close.hidden = A.save.hidden = !layer2
  A.customize.hidden = layer2 || notice
  A.reject_all.hidden = notice
  A.accept_all.textContent = notice ? T.ok : T.accept_all
  A.settings.hidden = isOpen || !C.settings_button || !valid
}

function show (second, from, deferred) {
  if (!box) build(deferred)
  layer2 = second
  via = from
  if (!isOpen) {
    prev = D.activeElement
    isOpen = true
    if (deferred) {
      // On page load, leave the dialog's first style and layout to the next
      // frame rather than forcing them inside the page's script task. Hidden
      // tabs run no frames, hence the timer.
      let once = 0
      const go = () => { if (!once++ && isOpen) { open(); box.focus() } }
      requestAnimationFrame(go)
      setTimeout(go, 100)
      sync()
      return
    }
    open()
  }
  sync()
  box.focus()
}

function open () {
  if (bare) {
    bare = false
    style(shadow)
  }
  box.hidden = false
  try {
    if (modal) box.showModal()
    else box.showPopover()
  } catch (e) {}
  showRoot() // after the changes above: one style recalculation for all of them
}

function hide () {
  if (!isOpen) return
  isOpen = false
  try {
    if (modal) box.close()
    else box.hidePopover()
  } catch (e) {}
  box.hidden = true
  sync()
  if (prev?.isConnected && prev !== D.body) prev.focus()
  else if (!A.settings.hidden) A.settings.focus()
}

function onClick (e) {
  const b = e.target.closest('[data-action]')
  const a = b?.dataset.action
  if (a === 'accept_all' || a === 'reject_all' || a === 'save') {
    const s = all(a === 'accept_all')
    if (a === 'save') shadow.querySelectorAll('input[data-category]').forEach((i) => { s[i.dataset.category] = i.checked })
    choose(s, a === 'save' ? 'custom' : a)
    hide()
  } else if (a === 'customize') show(true)
  else if (a === 'settings') show(true, a)
  else if (a === 'close') back()
}

// back leaves the second layer: to the first layer, or closed when the settings were
// opened after a choice. It records nothing.
function back () {
  if (via && valid) hide()
  else show(false)
}

function onKey (e) {
  if (e.key === 'Escape') {
    e.preventDefault() // no close request: Escape never dismisses the banner itself
    if (layer2) back()
  } else if (e.key === 'Tab' && modal) {
    // Modal layout: Tab and Shift+Tab cycle inside the dialog.
    const f = [].filter.call(box.querySelectorAll('button,input,a[href]'), (x) => !x.disabled && x.getClientRects().length)
    const i = f.indexOf(shadow.activeElement)
    if (e.shiftKey ? i <= 0 : i === f.length - 1) {
      e.preventDefault()
      f[e.shiftKey ? f.length - 1 : 0].focus()
    }
  }
}

// ---- cookie declaration ---------------------------------------------------------------

function declarations () {
  D.querySelectorAll('[data-crumb-declaration]').forEach((d) => {
    if (d._crumb) return
    d._crumb = 1
    d.replaceChildren(...CATS.map((c) => {
      const rows = cookies.filter((k) => k.category === c)
      const t = T.categories[c]
      return rows.length && offered.includes(c) && [el('h3', 0, t.title), el('p', 0, t.description), el('table', { class: 'crumb-cookies' },
        el('thead', 0, el('tr', 0, [T.table_name, T.table_provider, T.table_purpose, T.table_expiry].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', 0, rows.map((k) => el('tr', 0, [k.name, k.provider, k.purpose, k.expiry].map((v) => el('td', 0, v))))))]
    }).flat().filter((x) => x))
  })
}

// ---- start ----------------------------------------------------------------------------

const api = {
  show () { show(true, 'settings') },
  consent () { return valid ? { ...state } : null },
  accepted (c) { return state[c] === true },
  // The page's own consent control (an "allow statistics" button). Taken only in the handler
  // of the visitor's own click or key (a trusted event), so that a call on load or from a
  // timer cannot record a choice the visitor never made. (navigator.userActivation would not
  // do: a page opened from the address bar counts as activated for its first seconds.)
  set (s) {
    const e = W.event
    if (!e?.isTrusted || !/^(click|key|pointer|mouse|touch)/.test(e.type)) return false
    choose({ ...state, ...s }, 'custom')
    if (isOpen) hide()
    return true
  },
  onchange: null,
  version: C.version,
  language: lang
}

function start () {
  // A consent handed on by another site of the account: out of the address at once.
  let shared = ''
  const [rest, sid] = unshare(location.search)
  if (sid != null) {
    try { history.replaceState(history.state, '', location.pathname + (rest && '?' + rest) + location.hash) } catch (e) {}
    // Taken only when a page of a sharing site led here: a link from anywhere else (an
    // e-mail, a forum, a third site) must not make someone else's consent this visitor's.
    if (/^[\w-]{16,64}$/.test(sid) && shares(new URL(D.referrer || 'x:').hostname)) shared = sid
  }
  cur = load()
  valid = fresh(cur)
  if (shared === cur.id) shared = ''
  api.onchange = (W.Crumb || api).onchange // set before we loaded
  W.Crumb = api
  state = valid ? cur.state : defaults()
  consentMode('default')
  if (C.auto_block) autoBlock()
  watch()
  apply(state, valid)
  // Without a valid consent the banner waits for the shared one's lookup (at most 1.5 s).
  if (!shared || valid) decide()
  if (shared) {
    lookup(shared).then((j) => {
      const was = valid
      adopt(j)
      if (!was) decide()
    })
  }
  D.addEventListener('click', decorate, true)
  D.addEventListener('auxclick', decorate, true)
  D.addEventListener('contextmenu', decorate, true)
  if (cur.queue) flush()
  W.addEventListener('online', flush)
  // The cookie declaration can wait for the next task (or the document's end).
  if (D.readyState === 'loading') D.addEventListener('DOMContentLoaded', () => { activate(); declarations(); showRoot() })
  else setTimeout(declarations)
  W.addEventListener('load', showRoot)
}

// decide shows the banner, records Global Privacy Control or offers the settings entry.
function decide () {
  if (!valid && gpc && rule !== 'notice') {
    // Global Privacy Control: recorded as the visitor's choice when they have made none.
    choose(defaults(), 'gpc')
    if (rule === 'opt-in') show(false, '', true) // they may still opt in to the rest
  } else if (!valid) {
    show(false, '', true)
  } else if (C.settings_button) {
    build()
    sync()
  }
}

if (!W.__crumb) {
  W.__crumb = 1 // a second copy of the script defers to the first
  start()
}
