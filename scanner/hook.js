// Crumb scanner hook: evaluated in every frame before the page's own scripts
// (Page.addScriptToEvaluateOnNewDocument). It reports, through the runtime
// binding __crumbScanReport, every cookie a script writes (document.cookie,
// cookieStore.set) and every Web Storage key it sets (setItem), with the URL
// of the script that did it, taken from the call stack. Values of storage
// keys are never sent; cookie strings are, and the scanner keeps only the
// name and attributes.
(() => {
  // WebRTC sends STUN and TURN over UDP to any address a page names, past
  // the scan's proxy and its private-address guard, and no Chromium switch
  // stops it; a scan never needs it. Every frame runs this hook, fresh
  // about:blank ones included (TestChromePrivateVectors), so none keeps it.
  for (const k of ["RTCPeerConnection", "webkitRTCPeerConnection"]) {
    try { delete globalThis[k]; } catch (e) { /* keep going */ }
  }
  const name = "__crumbScanReport";
  const send = globalThis[name];
  if (typeof send !== "function") return;
  try { delete globalThis[name]; } catch (e) { /* keep going */ }
  const stackURL = /(https?:\/\/[^\s()'"]+?):\d+:\d+/;
  const caller = () => {
    try {
      const m = String(new Error().stack || "").match(stackURL);
      if (m) return m[1];
    } catch (e) { /* no stack */ }
    try {
      const cs = document.currentScript;
      if (cs && cs.src) return cs.src;
    } catch (e) { /* no document */ }
    return "";
  };
  const post = (o) => {
    try {
      o.f = String(location.href);
      o.s = caller();
      send(JSON.stringify(o));
    } catch (e) { /* never break the page */ }
  };

  const cookie = Object.getOwnPropertyDescriptor(Document.prototype, "cookie");
  if (cookie && cookie.set && cookie.get) {
    Object.defineProperty(Document.prototype, "cookie", {
      configurable: true,
      enumerable: cookie.enumerable,
      get() { return cookie.get.call(this); },
      set(v) {
        post({ k: "cookie", v: String(v) });
        cookie.set.call(this, v);
      },
    });
  }

  const setItem = Storage.prototype.setItem;
  Storage.prototype.setItem = function (key, value) {
    let kind = "";
    try {
      if (this === globalThis.localStorage) kind = "local";
      else if (this === globalThis.sessionStorage) kind = "session";
    } catch (e) { /* storage blocked */ }
    if (kind) post({ k: kind, key: String(key) });
    return setItem.apply(this, arguments);
  };

  if (typeof CookieStore === "function" && CookieStore.prototype.set) {
    const set = CookieStore.prototype.set;
    CookieStore.prototype.set = function (a, b) {
      try {
        let line = "";
        if (typeof a === "string") {
          line = a + "=" + String(b);
        } else if (a && a.name) {
          line = String(a.name) + "=" + String(a.value || "");
          if (a.domain) line += "; domain=" + a.domain;
          if (a.path) line += "; path=" + a.path;
          if (a.expires) line += "; expires=" + new Date(a.expires).toUTCString();
          if (a.sameSite) line += "; samesite=" + a.sameSite;
        }
        if (line) post({ k: "cookie", v: line + "; secure" });
      } catch (e) { /* keep going */ }
      return set.apply(this, arguments);
    };
  }
})();
