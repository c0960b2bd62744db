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

/* global __crumb_config, __CRUMB_CSS__ */

const W = window
const D = document
const C = __crumb_config
const NAME = 'crumb_consent'
const CATS = ['necessary', 'preferences', 'statistics', 'marketing']
const SEL = 'script[type="text/plain"][data-crumb-category],iframe[data-crumb-src][data-crumb-category]'
const WATCH = SEL + ',[data-crumb-declaration]'
const DAY = 864e5
const MAXQ = 4 // pending choices kept in the cookie while the server is unreachable

const me = D.currentScript
const nonce = (me && (me.nonce || me.getAttribute('nonce'))) || ''
const gpc = navigator.globalPrivacyControl === true
const rule = C.rule_set
const offered = {}
C.categories.forEach((c) => { offered[c.id] = c.enabled || c.id === 'necessary' })

// The language: the first of the visitor's languages the config has texts for.
let lang = C.default_language
for (const l of navigator.languages || [navigator.language || '']) {
  const p = String(l).split('-')[0].toLowerCase()
  if (C.texts[p]) { lang = p; break }
}
const T = C.texts[lang] || C.texts[C.default_language]

let cur = null // the stored consent: {state, version, exp, id, queue}
let valid = false // cur is for this config version and not expired
let state // what is granted now: the stored choice or the rule set's defaults
let ui = null // the banner's elements, built on first show
let busy = false // a flush() is running
let sheet = null
let jar = null // the last value written, for browsers that refuse cookies: kept for this page

// ---- encoding -------------------------------------------------------------------------

const b64e = (s) => btoa(unescape(encodeURIComponent(s))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
const b64d = (s) => decodeURIComponent(escape(atob(s.replace(/-/g, '+').replace(/_/g, '/'))))

function randomID () {
  const b = new Uint8Array(16)
  crypto.getRandomValues(b)
  return b64e(String.fromCharCode.apply(null, b)).slice(0, 22)
}

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

function readCookie () {
  const m = D.cookie.match(/(?:^|;\s*)crumb_consent=([^;]*)/)
  return m ? m[1] : jar || ''
}

function writeCookie (value, expires) {
  const age = Math.max(0, Math.round((expires - Date.now()) / 1000))
  const host = location.hostname
  const d = C.cookie_domain
  let s = NAME + '=' + value + ';path=/;max-age=' + age + ';samesite=lax'
  if (location.protocol === 'https:') s += ';secure'
  if (d && (host === d || host.endsWith('.' + d))) {
    D.cookie = NAME + '=;path=/;max-age=0' // a host-only copy would shadow the shared one
    s += ';domain=' + d
  }
  D.cookie = s
  jar = value
}

// load reads crumb_consent: a receipt (JWT) or a list of pending choices.
function load () {
  const v = readCookie()
  if (!v) return null
  const life = C.consent_lifetime_days * DAY
  try {
    if (v[0] === 'P') {
      const q = JSON.parse(b64d(v.slice(1)))
      const e = q[q.length - 1]
      return { state: norm(e.s), version: e.v, exp: e.t + life, id: '', queue: q }
    }
    const p = JSON.parse(b64d(v.split('.')[1]))
    let exp = p.exp ? p.exp * 1000 : Infinity
    if (p.iat) exp = Math.min(exp, p.iat * 1000 + life)
    return { state: norm(p.state), version: p.ver, exp, id: p.jti }
  } catch (e) {
    return null // not ours or damaged: ask again
  }
}

function savePending (q) {
  const e = q[q.length - 1]
  writeCookie('P' + b64e(JSON.stringify(q)), e.t + C.consent_lifetime_days * DAY)
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
      const c = load()
      const q = c && c.queue
      const e = q && q.find((x) => !x.x)
      if (!e) break
      const body = {
        site: C.site, url: e.u, state: e.s, method: e.m, version: e.v, nonce: e.n
      }
      if (e.r) body.replaces = e.r
      if (e.g) body.gpc = true
      let res
      try {
        res = await fetch(C.api + '/v1/consent', {
          method: 'POST',
          body: JSON.stringify(body),
          headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
          credentials: 'omit',
          keepalive: true
        })
      } catch (err) {
        break // offline or blocked: keep it for the next page view or the online event
      }
      const st = res.status
      let j = null
      if (st === 200 || st === 201) {
        try { j = await res.json() } catch (err) {}
      } else if (st < 400 || st >= 500 || st === 408 || st === 429) {
        break // try later
      }
      // Take the answered entry out of what the cookie holds now (another tab or a click
      // may have changed it while the request was under way).
      const now = load()
      const nq = (now && now.queue) || []
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
        let p
        try { p = JSON.parse(b64d(String(j.receipt).split('.')[1])) } catch (err) {}
        if (p && p.jti) writeCookie(j.receipt, Math.min(p.exp ? p.exp * 1000 : Infinity, e.t + C.consent_lifetime_days * DAY))
        else { e.x = 1; savePending([e]) }
      }
      cur = load()
    }
  } finally {
    busy = false
  }
}

// choose applies a choice at once, keeps it in the cookie and records it.
function choose (s, method) {
  s = norm(s)
  const before = cur && cur.state
  if (method !== 'gpc' && cur && grantsAny(before) && !grantsAny(s)) method = 'withdraw'
  const q = ((cur && cur.queue) || []).filter((x) => !x.x)
  const r = (cur && cur.id) || ''
  if (method === 'withdraw' && !r && !q.length) method = 'reject_all' // nothing known to withdraw
  q.push({
    s,
    m: method,
    v: C.version,
    t: Date.now(),
    n: randomID(),
    u: location.href.split('#')[0].slice(0, 1024),
    r,
    g: gpc ? 1 : 0
  })
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
  C.services.forEach((v) => { if (!s[v.category]) pats.push.apply(pats, v.cookies) })
  C.cookies.forEach((c) => { if (!s[c.category]) pats.push(c.name) })
  if (!pats.length) return
  const parts = location.hostname.split('.')
  const doms = ['']
  for (let i = 0; i < parts.length - 1; i++) doms.push(parts.slice(i).join('.'))
  D.cookie.split(';').forEach((kv) => {
    const n = kv.split('=')[0].trim()
    if (!n || n === NAME) return
    if (!pats.some((p) => (p.slice(-1) === '*' ? n.indexOf(p.slice(0, -1)) === 0 : n === p))) return
    doms.forEach((d) => { D.cookie = n + '=;path=/;max-age=0' + (d ? ';domain=' + d : '') })
  })
}

// ---- applying -------------------------------------------------------------------------

function apply (s, announce) {
  state = s
  if (announce || valid || rule !== 'opt-in') consentMode('update')
  activate()
  if (ui) sync()
  if (announce) {
    D.dispatchEvent(new CustomEvent('crumb:consent', { detail: { ...s } }))
    if (typeof api.onchange === 'function') {
      try { api.onchange({ ...s }) } catch (err) { setTimeout(() => { throw err }) }
    }
  }
}

const granted = (cats) => String(cats).trim().split(/\s+/).every((c) => state[c] === true)

let chain = Promise.resolve()

// activate runs the blocked scripts and loads the blocked iframes whose categories are all
// granted, in document order; a script with src is waited for before the next one runs.
function activate () {
  if (!state) return
  D.querySelectorAll(SEL).forEach((el) => {
    if (el._crumb) return
    const cats = el.getAttribute('data-crumb-category')
    if (!granted(cats)) {
      if (el.tagName === 'IFRAME') placeholder(el, cats)
      return
    }
    el._crumb = 1
    if (el.tagName === 'IFRAME') {
      if (el._ph) { el._ph.remove(); el.hidden = false }
      el.src = el.getAttribute('data-crumb-src')
      el.removeAttribute('data-crumb-src')
      return
    }
    chain = chain.then(() => run(el))
  })
}

function run (old) {
  return new Promise((resolve) => {
    const s = D.createElement('script')
    for (const a of old.attributes) {
      if (a.name !== 'type' && a.name.indexOf('data-crumb-') !== 0) s.setAttribute(a.name, a.value)
    }
    const t = old.getAttribute('data-crumb-type')
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
  const cat = String(cats).trim().split(/\s+/).find((c) => !state[c])
  const title = (T.categories[cat] && T.categories[cat].title) || cat
  const host = D.createElement('crumb-placeholder')
  const root = host.attachShadow({ mode: 'open' })
  const w = parseInt(f.getAttribute('width'), 10)
  const h = parseInt(f.getAttribute('height'), 10)
  style(root, ':host{display:block!important;' + (w > 0 ? 'width:' + w + 'px;max-width:100%;' : '') + (h > 0 ? 'height:' + h + 'px;' : '') + '}')
  const btn = el('button', { class: 'pri', type: 'button', 'data-category': cat }, T.placeholder_allow)
  btn.onclick = () => {
    choose({ ...state, [cat]: true }, 'custom')
  }
  root.append(el('div', { class: 'cc c ph ' + C.theme, lang, dir: T.dir }, el('p', {}, T.placeholder.replace('{category}', title)), btn))
  f._ph = host
  f.hidden = true
  f.parentNode.insertBefore(host, f)
}

// ---- auto-blocking --------------------------------------------------------------------

const hosts = []
C.services.forEach((s) => s.hosts.forEach((h) => hosts.push([h, s.category])))

function blockedCategory (url) {
  let h
  try { h = new URL(url, location.href).hostname } catch (e) { return '' }
  for (const [x, c] of hosts) {
    if ((h === x || h.endsWith('.' + x)) && !state[c]) return c
  }
  return ''
}

// hold turns a script or iframe of a listed host into a blocked one before the browser
// runs or loads it; activate() releases it once its category is granted.
function hold (n) {
  if (n.nodeType !== 1 || n._crumb) return
  if (n.tagName === 'SCRIPT' && n.src && (!n.type || /javascript|module|ecmascript/i.test(n.type))) {
    const c = blockedCategory(n.src)
    if (c) {
      if (n.type) n.setAttribute('data-crumb-type', n.type)
      n.type = 'text/plain'
      n.setAttribute('data-crumb-category', c)
    }
  } else if (n.tagName === 'IFRAME' && n.getAttribute('src')) {
    const c = blockedCategory(n.src)
    if (c) {
      n.setAttribute('data-crumb-src', n.src)
      n.setAttribute('data-crumb-category', c)
      n.src = 'about:blank' // also stops a load that began when the parser inserted it
    }
  }
}

function holdTree (n) {
  hold(n)
  if (n.querySelectorAll) n.querySelectorAll('script[src],iframe[src]').forEach(hold)
}

function autoBlock () {
  // Scripts that other scripts insert run as soon as they are inserted, so insertion is
  // intercepted; the observer catches parser-inserted ones before the parser runs them.
  const P = Node.prototype
  ;['appendChild', 'insertBefore', 'replaceChild'].forEach((m) => {
    const orig = P[m]
    P[m] = function (n) {
      if (n && n.nodeType) holdTree(n)
      return orig.apply(this, arguments)
    }
  })
  const E = Element.prototype
  ;['append', 'prepend', 'before', 'after', 'replaceWith'].forEach((m) => {
    const orig = E[m]
    if (orig) {
      E[m] = function () {
        for (const n of arguments) if (n && n.nodeType) holdTree(n)
        return orig.apply(this, arguments)
      }
    }
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
        if (!found && (n.matches(WATCH) || n.querySelector(WATCH))) found = true
      }
    }
    if (found && !pending) {
      pending = true
      setTimeout(() => { pending = false; activate(); declarations() })
    }
  }).observe(D.documentElement, { childList: true, subtree: true })
}

// ---- Google Consent Mode v2 -----------------------------------------------------------

function consentMode (cmd) {
  if (!C.consent_mode) return
  if (typeof W.gtag !== 'function') {
    // The standard gtag snippet: consent defaults must reach the data layer before the
    // Google tag reads it, also when it loads after this script.
    W.dataLayer = W.dataLayer || []
    W.gtag = function () { W.dataLayer.push(arguments) }
  }
  // Consent Mode storage types and the category that grants each.
  const types = {
    ad_storage: 'marketing',
    ad_user_data: 'marketing',
    ad_personalization: 'marketing',
    analytics_storage: 'statistics',
    functionality_storage: 'preferences',
    personalization_storage: 'preferences'
  }
  const o = {}
  for (const k in types) o[k] = cmd === 'default' || !state[types[k]] ? 'denied' : 'granted'
  if (cmd === 'default') {
    o.security_storage = 'granted'
    o.wait_for_update = 500
  }
  W.gtag('consent', cmd, o)
}

// ---- the banner -----------------------------------------------------------------------

function el (tag, attrs, ...kids) {
  const e = D.createElement(tag)
  for (const k in attrs) {
    const v = attrs[k]
    if (v === true) e.setAttribute(k, '')
    else if (v !== false && v != null) e.setAttribute(k, v)
  }
  kids.flat().forEach((k) => { if (k != null && k !== false) e.append(k) }) // strings become text nodes
  return e
}

// style gives a shadow root the banner's CSS (constructed sheets: allowed under a strict
// style-src, no <style> element, no style attribute) and any extra rules.
function style (root, extra) {
  if (!sheet) {
    let css = __CRUMB_CSS__
    const k = C.colors
    css += '.cc.c{' + (k.primary ? '--p:' + k.primary + ';--pt:' + k.on_primary + ';' : '') +
      (k.background ? '--bg:' + k.background + ';' : '') + (k.text ? '--fg:' + k.text + ';--mu:' + k.text + ';' : '') + '}'
    sheet = mkSheet(css)
  }
  const sheets = [sheet]
  if (extra) sheets.push(mkSheet(extra))
  if (sheet.replaceSync) root.adoptedStyleSheets = sheets
  else sheets.forEach((s) => root.append(el('style', {}, s))) // old browsers: text in the shadow root
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

function build () {
  const host = D.createElement('crumb-consent')
  const root = host.attachShadow({ mode: 'open' })
  style(root)
  const modal = C.layout === 'modal'
  const btn = (action, text, cls) => el('button', { type: 'button', class: cls || 'pri', 'data-action': action }, text)
  const cats = el('div', { class: 'l2', hidden: true })
  C.categories.forEach((c) => {
    if (!offered[c.id]) return
    const t = T.categories[c.id] || { title: c.id, description: '' }
    const nec = c.id === 'necessary'
    const id = 'c-' + c.id
    const svcs = C.services.filter((s) => s.category === c.id)
    cats.append(el('div', { class: 'cat' },
      el('label', { for: id },
        el('input', { type: 'checkbox', id, 'data-category': c.id, disabled: nec, checked: nec, 'aria-describedby': id + '-d' }),
        el('span', {}, t.title), nec ? el('small', {}, T.always_on) : null),
      el('p', { id: id + '-d' }, t.description),
      svcs.length ? el('ul', { class: 'svc' }, svcs.map((s) => el('li', {}, el('b', {}, s.name),
        s.description[lang] ? ' ' + s.description[lang] : '',
        s.cookies.length ? el('small', {}, ' (' + s.cookies.join(', ') + ')') : null))) : null))
  })
  const close = btn('close', T.close, 'x')
  // A <dialog>: shown modal in the modal layout (the page behind is inert), else as a manual
  // popover (top layer, page usable). Browsers without either get a fixed box.
  const box = el('dialog', {
    class: 'b', role: 'dialog', tabindex: '-1', 'aria-modal': modal ? 'true' : false,
    'aria-labelledby': 'crumb-t', 'aria-describedby': 'crumb-d', popover: 'manual', hidden: true
  },
  close,
  el('h2', { id: 'crumb-t' }, T.title),
  el('p', { id: 'crumb-d' }, T.description, C.privacy_url ? ' ' : '',
    C.privacy_url ? el('a', { href: C.privacy_url, target: '_blank', rel: 'noopener' }, T.privacy_link) : null),
  cats,
  el('div', { class: 'btns' },
    btn('reject_all', T.reject_all), btn('accept_all', T.accept_all), btn('customize', T.customize, 'sec'), btn('save', T.save, 'sec')))
  const fab = el('button', { type: 'button', class: 'fab', 'data-action': 'settings', hidden: true }, T.settings)
  const wrap = el('div', { class: 'cc c ' + C.layout + ' ' + C.position + ' ' + C.theme, lang, dir: T.dir }, box, fab)
  root.append(wrap)
  // Under <html>, not <body>: a page that hides or replaces its body keeps the banner.
  D.documentElement.appendChild(host)
  showRoot()
  root.addEventListener('click', onClick)
  box.addEventListener('keydown', onKey)
  box.addEventListener('cancel', (e) => e.preventDefault()) // Escape is ours (onKey)
  box.addEventListener('close', () => { if (ui.open) open() }) // closed by the browser: back
  ui = { host, root, box, cats, fab, wrap, modal, layer2: false, via: '', open: false, prev: null }
}

// showRoot undoes `* { display: none !important }`, which hides <html> itself and with it
// everything: a more specific important rule brings the root back (the page's content
// stays hidden). Checked again once the page's styles have loaded.
let rootFixed = false
function showRoot () {
  if (rootFixed || !ui || getComputedStyle(D.documentElement).display !== 'none') return
  const fix = mkSheet(':root{display:block!important}')
  if (fix.replaceSync) D.adoptedStyleSheets = D.adoptedStyleSheets.concat(fix)
  rootFixed = true
}

const q = (s) => ui.root.querySelector(s)

// sync puts the current state into the switches and the buttons into their layer.
function sync () {
  ui.root.querySelectorAll('input[data-category]').forEach((i) => { i.checked = state[i.getAttribute('data-category')] === true })
  const l2 = ui.layer2
  const notice = rule === 'notice' && !l2
  ui.cats.hidden = !l2
  q('[data-action=close]').hidden = !l2
  q('[data-action=customize]').hidden = l2 || notice
  q('[data-action=save]').hidden = !l2
  q('[data-action=reject_all]').hidden = notice
  q('[data-action=accept_all]').textContent = notice ? T.ok : T.accept_all
  ui.wrap.classList.toggle('two', l2)
  ui.fab.hidden = ui.open || !C.settings_button || !valid
}

function show (layer2, via, deferred) {
  if (!ui) build()
  ui.layer2 = !!layer2
  ui.via = via || ''
  if (!ui.open) {
    ui.prev = D.activeElement
    ui.open = true
    if (deferred) {
      // On page load, leave the dialog's first style and layout to the next
      // frame rather than forcing them inside the page's script task. Hidden
      // tabs run no frames, hence the timer.
      let once = 0
      const go = () => { if (!once++ && ui.open) { open(); ui.box.focus() } }
      requestAnimationFrame(go)
      setTimeout(go, 100)
      sync()
      return
    }
    open()
  }
  sync()
  ui.box.focus()
}

function open () {
  const b = ui.box
  b.hidden = false
  try {
    if (ui.modal) b.showModal()
    else b.showPopover()
  } catch (e) {}
}

function hide () {
  if (!ui || !ui.open) return
  ui.open = false
  try {
    if (ui.modal) ui.box.close()
    else ui.box.hidePopover()
  } catch (e) {}
  ui.box.hidden = true
  sync()
  const p = ui.prev
  if (p && p.focus && p !== D.body && p.isConnected) p.focus()
  else if (!ui.fab.hidden) ui.fab.focus()
}

function onClick (e) {
  const b = e.target.closest && e.target.closest('[data-action]')
  if (!b) return
  const a = b.getAttribute('data-action')
  if (a === 'accept_all' || a === 'reject_all' || a === 'save') {
    const s = all(a === 'accept_all')
    if (a === 'save') ui.root.querySelectorAll('input[data-category]').forEach((i) => { s[i.getAttribute('data-category')] = i.checked })
    choose(s, a === 'save' ? 'custom' : a)
    hide()
  } else if (a === 'customize') show(true)
  else if (a === 'settings') show(true, 'settings')
  else if (a === 'close') back()
}

// back leaves the second layer: to the first layer, or closed when the settings were
// opened after a choice. It records nothing.
function back () {
  if (ui.via === 'settings' && valid) hide()
  else show(false)
}

function onKey (e) {
  if (e.key === 'Escape') {
    e.preventDefault() // no close request: Escape never dismisses the banner itself
    if (ui.layer2) back()
    return
  }
  if (e.key !== 'Tab' || !ui.modal) return
  // Modal layout: Tab and Shift+Tab cycle inside the dialog.
  const f = [].filter.call(ui.box.querySelectorAll('button,input,a[href]'), (x) => !x.disabled && x.getClientRects().length)
  const i = f.indexOf(ui.root.activeElement)
  if (e.shiftKey ? i <= 0 : i === f.length - 1) {
    e.preventDefault()
    f[e.shiftKey ? f.length - 1 : 0].focus()
  }
}

// ---- cookie declaration ---------------------------------------------------------------

function declarations () {
  D.querySelectorAll('[data-crumb-declaration]').forEach((d) => {
    if (d._crumb) return
    d._crumb = 1
    const parts = []
    CATS.forEach((c) => {
      const rows = C.cookies.filter((k) => k.category === c)
      if (!rows.length || !offered[c]) return
      const t = T.categories[c] || { title: c, description: '' }
      parts.push(el('h3', {}, t.title), el('p', {}, t.description), el('table', { class: 'crumb-cookies' },
        el('thead', {}, el('tr', {}, [T.table_name, T.table_provider, T.table_purpose, T.table_expiry].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, rows.map((k) => el('tr', {}, [k.name, k.provider, k.purpose, k.expiry].map((v) => el('td', {}, v)))))))
    })
    d.replaceChildren.apply(d, parts)
  })
}

// ---- start ----------------------------------------------------------------------------

const api = {
  show () { show(true, 'settings') },
  consent () { return valid ? { ...state } : null },
  accepted (c) { return !!state && state[c] === true },
  onchange: null,
  version: C.version,
  language: lang
}

function start () {
  cur = load()
  valid = !!cur && cur.version === C.version && cur.exp > Date.now()
  if (W.Crumb && typeof W.Crumb.onchange === 'function') api.onchange = W.Crumb.onchange // set before we loaded
  W.Crumb = api
  state = valid ? cur.state : defaults()
  consentMode('default')
  if (C.auto_block) autoBlock()
  watch()
  apply(state, valid)
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
  if (cur && cur.queue) flush()
  W.addEventListener('online', flush)
  declarations()
  if (D.readyState === 'loading') D.addEventListener('DOMContentLoaded', () => { activate(); declarations(); showRoot() })
  W.addEventListener('load', showRoot)
}

if (!W.__crumb) {
  W.__crumb = 1 // a second copy of the script defers to the first
  start()
}
