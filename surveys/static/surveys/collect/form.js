/* Nilai respondent form (/isi/): offline first, plain JavaScript, no framework.
 *
 * Everything the respondent gives is written to localStorage at once. Whenever there is a
 * connection the answers are saved as a server draft (POST .../responses/ with status "draft",
 * then PATCH with what changed); the final submit (POST .../submit/) is retried until the
 * server acknowledges it. The submission_id is made here, once, so every retry is the same
 * submission: the API's idempotency guarantees one stored response. Design fields (stratum,
 * psu, base_weight) are never sent. See surveys/collect/web.py.
 */
(function () {
  "use strict";

  var PREFIX = "nilai-isi:";
  var RETRY_MIN = 2000;
  var RETRY_MAX = 30000;
  var REQUEST_TIMEOUT = 20000;
  var KEY_LETTERS = "abcdefghjkmnpqrstuvwxyz";

  var main = document.getElementById("main");
  var data = JSON.parse(document.getElementById("isi-data").textContent);
  var STR = data.strings;
  var API = main.dataset.api;
  var HOME = main.dataset.home;
  var app = document.getElementById("app");
  var statusLine = document.getElementById("status");

  var session = null; // the session on screen
  var view = ""; // the key of what is on screen
  var net = navigator.onLine === false ? "offline" : "online";
  var lang = pickLanguage();

  // ------------------------------------------------------------------ storage

  function storageGet(name) {
    try {
      return JSON.parse(localStorage.getItem(PREFIX + name));
    } catch (e) {
      return null;
    }
  }

  function storageSet(name, value) {
    localStorage.setItem(PREFIX + name, JSON.stringify(value));
  }

  function save(s) {
    storageSet("s:" + s.id, s);
  }

  function currentSession() {
    var id = storageGet("current");
    return id ? storageGet("s:" + id) : null;
  }

  function allSessions() {
    var out = [];
    for (var i = 0; i < localStorage.length; i++) {
      var name = localStorage.key(i);
      if (name && name.indexOf(PREFIX + "s:") === 0) {
        var s = storageGet(name.slice(PREFIX.length));
        if (s) out.push(s);
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ language

  function pickLanguage() {
    var wanted = new URLSearchParams(location.search).get("lang");
    if (wanted && STR[wanted]) {
      storageSet("lang", wanted);
      return wanted;
    }
    var stored = storageGet("lang");
    if (stored && STR[stored]) return stored;
    return STR[document.documentElement.lang] ? document.documentElement.lang : "id";
  }

  function t(key, params) {
    var text = (STR[lang] && STR[lang][key]) || STR.id[key] || key;
    if (params) {
      Object.keys(params).forEach(function (name) {
        text = text.split("{" + name + "}").join(String(params[name]));
      });
    }
    return text;
  }

  function other() {
    return lang === "id" ? "en" : "id";
  }

  function applyLanguage() {
    document.documentElement.lang = lang;
    document.title = t("title");
    var wave = main.dataset.wave || "";
    document.querySelectorAll("[data-t]").forEach(function (node) {
      node.textContent = t(node.dataset.t, { wave: wave });
    });
    var link = document.getElementById("lang-switch");
    link.textContent = t("switch_to");
    link.lang = other();
    link.hreflang = other();
    link.href = "?lang=" + other();
    var hidden = document.querySelector("#code-form input[name=lang]");
    if (hidden) hidden.value = lang;
  }

  // ------------------------------------------------------------------ small helpers

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === false || value === null || value === undefined) return;
      if (name === "text") node.textContent = value;
      else if (value === true) node.setAttribute(name, "");
      else node.setAttribute(name, value);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function randomLetters(n) {
    var bytes = new Uint8Array(n);
    crypto.getRandomValues(bytes);
    var out = "";
    for (var i = 0; i < n; i++) out += KEY_LETTERS[bytes[i] % KEY_LETTERS.length];
    return out;
  }

  function newUuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) {
      return (x + 0x100).toString(16).slice(1);
    }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" +
      h.slice(16, 20) + "-" + h.slice(20);
  }

  /** The code as the server hashes it (surveys.services.accounts): no dashes or spaces, upper
   *  case; SHA-256, so the code itself is never stored. */
  async function codeHash(code) {
    var normalised = code.trim().toUpperCase().replace(/[- ]/g, "");
    var digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(normalised));
    return Array.prototype.map.call(new Uint8Array(digest), function (x) {
      return (x + 0x100).toString(16).slice(1);
    }).join("");
  }

  function show(id, visible) {
    var node = document.getElementById(id);
    if (node) node.hidden = !visible;
  }

  // ------------------------------------------------------------------ the API

  function Retry(reason) {
    this.reason = reason;
  }

  async function api(method, path, body, token, language) {
    var headers = { Accept: "application/json", "Accept-Language": language || lang };
    if (body !== null && body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = "Token " + token;
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT);
    var response;
    try {
      response = await fetch(API + path, {
        method: method,
        headers: headers,
        body: body === null || body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
        signal: controller.signal,
      });
    } catch (e) {
      throw new Retry("network");
    } finally {
      clearTimeout(timer);
    }
    var json = null;
    try {
      json = await response.json();
    } catch (e) {
      json = null;
    }
    if (response.status >= 500 || response.status === 429 || response.status === 408) {
      throw new Retry(String(response.status));
    }
    return { ok: response.ok, status: response.status, body: json || {} };
  }

  // ------------------------------------------------------------------ the questionnaire

  function instrument(s) {
    return s.instrument ? s.instrument[lang] || s.instrument.id : null;
  }

  function dimensions(s) {
    return instrument(s).dimensions;
  }

  function itemCodes(s) {
    var codes = [];
    dimensions(s).forEach(function (d) {
      d.items.forEach(function (item) { codes.push(item.code); });
    });
    return codes;
  }

  function pageCount(s) {
    return 1 + dimensions(s).length;
  }

  function aboutComplete(s) {
    return Boolean(s.about.region && s.about.sex && s.about.age_group);
  }

  function pageOfField(s, field) {
    if (field === "region" || field === "sex" || field === "age_group") return 0;
    var dims = dimensions(s);
    for (var i = 0; i < dims.length; i++) {
      for (var j = 0; j < dims[i].items.length; j++) {
        if (dims[i].items[j].code === field) return i + 1;
      }
    }
    return 0;
  }

  function pageFields(s, page) {
    if (page === 0) return ["region", "sex", "age_group"];
    return dimensions(s)[page - 1].items.map(function (item) { return item.code; });
  }

  function fieldValue(s, field) {
    if (field === "region" || field === "sex" || field === "age_group") return s.about[field];
    var value = s.answers[field];
    return value === undefined ? null : value;
  }

  /** field -> message for the page: unanswered fields, and what the server said. */
  function pageErrors(s, page) {
    var errors = {};
    pageFields(s, page).forEach(function (field) {
      var value = fieldValue(s, field);
      if (value === null || value === "" || value === undefined) {
        errors[field] = t(page === 0 ? "choose_one" : "required");
      } else if (s.errors[field]) {
        errors[field] = s.errors[field];
      }
    });
    return errors;
  }

  // ------------------------------------------------------------------ sessions

  function newSession(redeemed) {
    return {
      v: 1,
      id: redeemed.username,
      token: redeemed.token,
      wave: { id: redeemed.wave, instrument: redeemed.instrument, year: redeemed.year },
      // a panel follow-up invitation names the key; otherwise this browser makes one up
      // (letters only, so it can never look like a NIK or a phone number)
      key: redeemed.respondent || "web-" + randomLetters(14),
      submissionId: newUuid(),
      instrument: null,
      regions: data.regions,
      about: { region: "", sex: "", age_group: "" },
      answers: {},
      page: 0,
      server: { draft: false, snapshot: null },
      errors: {},
      final: false,
      done: false,
      closed: false,
      fatal: "",
    };
  }

  /** After the final answer is acknowledged nothing personal is kept on the device. */
  function finish(s) {
    s.done = true;
    s.final = true;
    s.token = null;
    s.answers = {};
    s.about = {};
    s.instrument = null;
    s.server = { draft: true, snapshot: null };
    save(s);
  }

  async function loadCatalogue(s) {
    var wave = await api("GET", "waves/" + s.wave.id + "/", null, s.token);
    if (!wave.ok) {
      s.fatal = wave.status === 401 ? t("revoked") : wave.body.detail || String(wave.status);
      save(s);
      return;
    }
    s.wave.version = wave.body.version;
    s.closed = wave.body.status !== "open";
    var path = "instruments/" + encodeURIComponent(s.wave.instrument) + "/?version=" +
      encodeURIComponent(wave.body.version);
    var texts = await Promise.all([
      api("GET", path, null, s.token, "id"),
      api("GET", path, null, s.token, "en"),
    ]);
    if (!texts[0].ok || !texts[1].ok) {
      s.fatal = texts[0].body.detail || texts[1].body.detail || String(texts[0].status);
      save(s);
      return;
    }
    s.instrument = { id: texts[0].body, en: texts[1].body };
    save(s);
  }

  // ------------------------------------------------------------------ sync with the server

  async function call(s, method, path, body) {
    var r = await api(method, "waves/" + s.wave.id + "/responses/" + path, body, s.token);
    if (r.status === 401) {
      s.fatal = t("revoked");
      save(s);
    }
    return r;
  }

  function adopt(s, stored) {
    s.server = {
      draft: true,
      snapshot: {
        answers: stored.answers || {},
        sex: stored.sex,
        age_group: stored.age_group,
        region: stored.region,
        status: stored.status,
      },
    };
    save(s);
  }

  function draftBody(s) {
    var answers = {};
    Object.keys(s.answers).forEach(function (code) {
      if (s.answers[code] !== null && s.answers[code] !== undefined) answers[code] = s.answers[code];
    });
    return {
      submission_id: s.submissionId,
      respondent: s.key,
      region: s.about.region,
      sex: s.about.sex,
      age_group: s.about.age_group,
      answers: answers,
      status: "draft",
    };
  }

  /** What the stored draft lacks, as a PATCH body, or null when it has everything. */
  function changes(s) {
    var snap = s.server.snapshot;
    var body = { answers: {} };
    var any = false;
    itemCodes(s).forEach(function (code) {
      var local = fieldValue(s, code);
      var stored = snap && snap.answers[code] !== undefined ? snap.answers[code] : null;
      if (!snap || local !== stored) {
        if (snap || local !== null) {
          body.answers[code] = local;
          any = true;
        }
      }
    });
    ["sex", "age_group"].forEach(function (name) {
      if (!snap || snap[name] !== s.about[name]) {
        body[name] = s.about[name];
        any = true;
      }
    });
    return any ? body : null;
  }

  /** A 409: find out whether the wave closed, the response is already final, or the draft
   *  exists with other content (a reply that was lost on the way). */
  async function reconcile(s, refusal) {
    var stored = await call(s, "GET", s.submissionId + "/", undefined);
    if (stored.ok && stored.body.status === "submitted") {
      finish(s);
      return;
    }
    var wave = await api("GET", "waves/" + s.wave.id + "/", null, s.token);
    if (wave.ok && wave.body.status !== "open") {
      s.closed = true;
      save(s);
      return;
    }
    if (stored.ok) {
      adopt(s, stored.body);
      return;
    }
    s.fatal = refusal.body.detail || String(refusal.status);
    save(s);
  }

  /** A 4xx the respondent may be able to fix (400: per field, per item) or not. */
  function reject(s, r) {
    if (s.fatal) return;
    if (r.status === 400) {
      var errors = r.body.errors || {};
      var fieldErrors = {};
      var rest = [];
      Object.keys(errors).forEach(function (name) {
        if (name === "answers" && errors.answers && typeof errors.answers === "object" &&
            !Array.isArray(errors.answers)) {
          Object.keys(errors.answers).forEach(function (code) {
            fieldErrors[code] = [].concat(errors.answers[code]).join(" ");
          });
        } else if (name === "region" || name === "sex" || name === "age_group") {
          fieldErrors[name] = [].concat(errors[name]).join(" ");
        } else {
          rest.push([].concat(errors[name]).join(" "));
        }
      });
      if (Object.keys(fieldErrors).length) {
        s.errors = fieldErrors;
        var first = Object.keys(fieldErrors).map(function (f) { return pageOfField(s, f); });
        s.page = Math.min.apply(null, first);
        s.final = false;
      }
      if (rest.length || !Object.keys(fieldErrors).length) {
        s.fatal = [r.body.detail].concat(rest).filter(Boolean).join(" ");
      }
    } else {
      s.fatal = r.body.detail || String(r.status);
    }
    save(s);
    if (s === session) render(true);
  }

  function stopped(s) {
    return !s.instrument || s.done || s.closed || Boolean(s.fatal) || !s.token;
  }

  async function push(s) {
    for (var round = 0; round < 6 && !stopped(s); round++) {
      if (!aboutComplete(s)) return;
      var r;
      if (!s.server.draft) {
        r = await call(s, "POST", "", draftBody(s));
        if (r.ok) adopt(s, r.body);
        else if (r.status === 409) await reconcile(s, r);
        else return reject(s, r);
        continue;
      }
      var patch = changes(s);
      if (patch) {
        r = await call(s, "PATCH", s.submissionId + "/", patch);
        if (r.ok) adopt(s, r.body);
        else if (r.status === 409) await reconcile(s, r);
        else return reject(s, r);
        continue;
      }
      if (!s.final) return;
      r = await call(s, "POST", s.submissionId + "/submit/", undefined);
      if (r.ok && r.body.status === "submitted") finish(s);
      else if (r.ok) adopt(s, r.body);
      else if (r.status === 409) await reconcile(s, r);
      else return reject(s, r);
    }
  }

  var syncTimer = null;
  var syncing = false;
  var syncAgain = false;
  var retryDelay = RETRY_MIN;

  function scheduleSync(ms) {
    clearTimeout(syncTimer);
    syncTimer = setTimeout(runSync, ms);
  }

  async function runSync() {
    if (syncing) {
      syncAgain = true;
      return;
    }
    syncing = true;
    clearTimeout(syncTimer);
    try {
      if (navigator.onLine === false) throw new Retry("offline");
      // answers finished earlier under other invitations on this device go first
      var others = allSessions().filter(function (s) {
        return s.final && !s.done && s.token && (!session || s.id !== session.id);
      });
      for (var i = 0; i < others.length; i++) await push(others[i]);
      if (session) {
        if (!session.instrument && session.token && !session.fatal) await loadCatalogue(session);
        await push(session);
      }
      net = "online";
      retryDelay = RETRY_MIN;
    } catch (e) {
      if (!(e instanceof Retry)) throw e;
      net = "offline";
      scheduleSync(retryDelay);
      retryDelay = Math.min(retryDelay * 2, RETRY_MAX);
    } finally {
      syncing = false;
      refresh();
      if (syncAgain) {
        syncAgain = false;
        runSync();
      }
    }
  }

  // ------------------------------------------------------------------ views

  function viewKey(s) {
    if (!s) return "none";
    if (s.done) return "done";
    if (s.fatal) return "fatal";
    if (s.closed) return "closed";
    if (!s.instrument) return "notloaded:" + net;
    if (s.final) return "status:" + net;
    return "page:" + s.page;
  }

  function render(force) {
    var key = viewKey(session) + ":" + lang;
    if (!force && key === view) return;
    view = key;
    show("code-form", false);
    show("loading", false);
    show("refusal", false);
    show("resume", false);
    app.hidden = false;
    app.replaceChildren();
    var s = session;
    var heading;
    if (s.done) {
      heading = message("done", t("done_title"), t("done_body"));
      app.appendChild(el("p", {}, [
        el("button", { type: "button", class: "secondary", "data-action": "new-code",
          text: t("new_code") }),
      ]));
    } else if (s.fatal) {
      heading = message("fatal", t("error_title"), s.fatal);
    } else if (s.closed) {
      heading = message("closed", t("closed_title"),
        t("closed_body", { wave: s.wave.instrument + " " + s.wave.year }));
    } else if (!s.instrument) {
      heading = message("notloaded", t("loading"), net === "offline" ? t("not_loaded") : "");
    } else if (s.final) {
      if (net === "offline") {
        heading = message("pending", t("pending_title"), t("pending_body"));
      } else {
        heading = message("sending", t("sending"), "");
      }
      app.appendChild(el("p", {}, [
        el("button", { type: "button", class: "secondary", "data-action": "review",
          text: t("review") }),
      ]));
    } else {
      heading = renderPage(s);
    }
    if (heading) heading.focus();
    refreshStatusLine();
  }

  function message(kind, title, body) {
    var heading = el("h2", { id: "page-title", tabindex: "-1", text: title });
    app.appendChild(el("section", { class: "message " + kind, id: "message", "data-kind": kind },
      [heading, body ? el("p", { text: body }) : null]));
    return heading;
  }

  function progress(s) {
    var total = pageCount(s);
    var n = s.page + 1;
    return el("div", { class: "progress" }, [
      el("label", { for: "progress-bar", class: "visually-hidden", text: t("progress") }),
      el("progress", { id: "progress-bar", max: String(total), value: String(n) }),
      el("p", { id: "page-of", text: t("page_of", { n: n, total: total }) }),
    ]);
  }

  function errorNode(field) {
    return el("p", { class: "error", id: "err-" + field, hidden: true });
  }

  function radio(name, value, labelText, checked, extra) {
    var id = "f-" + name + "-" + value;
    var input = el("input", Object.assign({
      type: "radio", name: name, id: id, value: String(value), checked: checked,
    }, extra || {}));
    return el("label", { class: "point", for: id }, [input, el("span", { text: labelText })]);
  }

  function renderAbout(s, form) {
    var locked = s.server.draft;
    var select = el("select", {
      id: "f-region", name: "region", required: true, disabled: locked,
      "aria-describedby": "err-region" + (locked ? " region-locked" : ""),
    }, [el("option", { value: "", text: t("choose") })]);
    s.regions.forEach(function (region) {
      select.appendChild(el("option", {
        value: region.code, text: region.name, selected: region.code === s.about.region,
      }));
    });
    form.appendChild(el("div", { class: "field", id: "field-region" }, [
      el("label", { for: "f-region", text: t("region") }),
      select,
      locked ? el("p", { class: "hint", id: "region-locked", text: t("region_locked") }) : null,
      errorNode("region"),
    ]));
    form.appendChild(el("fieldset", {
      class: "field", id: "field-sex", "aria-describedby": "err-sex",
    }, [el("legend", { text: t("sex") })].concat(data.sexes.map(function (value) {
      return radio("sex", value, t("sex_" + value), s.about.sex === value);
    })).concat([errorNode("sex")])));
    form.appendChild(el("fieldset", {
      class: "field", id: "field-age_group", "aria-describedby": "err-age_group",
    }, [el("legend", { text: t("age_group") })].concat(data.age_groups.map(function (value) {
      return radio("age_group", value, value + t("age_suffix"), s.about.age_group === value);
    })).concat([errorNode("age_group")])));
  }

  function scalePoints(s) {
    var doc = instrument(s);
    var min = doc.scale.min;
    var max = doc.scale.max;
    var labels = doc.scale.labels || [];
    var points = [];
    for (var v = min; v <= max; v++) {
      var label = labels.length === max - min + 1 ? labels[v - min] : "";
      points.push({ value: v, label: label ? label : String(v) });
    }
    return points;
  }

  function renderItems(s, form) {
    var dims = dimensions(s);
    var number = 0;
    for (var i = 0; i < s.page - 1; i++) number += dims[i].items.length;
    var points = scalePoints(s);
    dims[s.page - 1].items.forEach(function (item) {
      number += 1;
      // the same markup for every item: nothing tells a reverse-keyed one apart
      var fieldset = el("fieldset", {
        class: "field item", id: "field-" + item.code, "aria-describedby": "err-" + item.code,
      }, [el("legend", {}, [el("span", { class: "num", text: number + ". " }), item.text])]);
      var scale = el("div", { class: "scale" });
      points.forEach(function (point) {
        scale.appendChild(radio("q-" + item.code, point.value, point.label,
          s.answers[item.code] === point.value, { "data-item": item.code }));
      });
      fieldset.appendChild(scale);
      fieldset.appendChild(errorNode(item.code));
      form.appendChild(fieldset);
    });
  }

  function renderPage(s) {
    var total = pageCount(s);
    if (s.page >= total) s.page = total - 1;
    var title = s.page === 0 ? t("about_title") : dimensions(s)[s.page - 1].name;
    var heading = el("h2", { id: "page-title", tabindex: "-1", text: title });
    var form = el("form", { id: "page-form", novalidate: true, "data-page": String(s.page) });
    form.appendChild(el("p", {
      class: "hint", text: s.page === 0 ? t("about_intro") : t("scale_hint"),
    }));
    form.appendChild(el("div", { id: "error-summary", class: "error-summary", role: "alert",
      hidden: true }));
    if (s.page === 0) renderAbout(s, form);
    else renderItems(s, form);
    var last = s.page === total - 1;
    form.appendChild(el("div", { class: "nav" }, [
      s.page > 0 ? el("button", { type: "button", class: "secondary", id: "back",
        "data-action": "back", text: t("back") }) : null,
      el("button", { type: "submit", class: "primary", id: last ? "submit" : "next",
        text: last ? t("submit") : t("next") }),
    ]));
    app.appendChild(el("section", { class: "page", "aria-labelledby": "page-title" },
      [progress(s), heading, form]));
    // what the server said earlier about these fields stays visible until they change
    var known = {};
    pageFields(s, s.page).forEach(function (field) {
      if (s.errors[field]) known[field] = s.errors[field];
    });
    showErrors(known, false);
    return heading;
  }

  function showErrors(errors, focus) {
    var fields = Object.keys(errors);
    fields.forEach(function (field) {
      var node = document.getElementById("err-" + field);
      if (!node) return;
      node.textContent = errors[field];
      node.hidden = false;
      var box = document.getElementById("field-" + field);
      if (box) box.classList.add("invalid");
      document.querySelectorAll("#field-" + CSS.escape(field) + " input, #f-" +
        CSS.escape(field)).forEach(function (input) {
        input.setAttribute("aria-invalid", "true");
      });
    });
    var summary = document.getElementById("error-summary");
    if (summary) {
      summary.textContent = fields.length ? t("fix", { n: fields.length }) : "";
      summary.hidden = !fields.length;
    }
    if (focus && fields.length) {
      var first = document.querySelector("#field-" + CSS.escape(fields[0]) +
        " input:checked, #field-" + CSS.escape(fields[0]) + " input, #f-" + CSS.escape(fields[0]));
      if (first) first.focus();
    }
  }

  function clearError(field) {
    delete session.errors[field];
    var node = document.getElementById("err-" + field);
    if (node) {
      node.hidden = true;
      node.textContent = "";
    }
    var box = document.getElementById("field-" + field);
    if (box) box.classList.remove("invalid");
    document.querySelectorAll("#field-" + CSS.escape(field) + " input, #f-" + CSS.escape(field))
      .forEach(function (input) { input.removeAttribute("aria-invalid"); });
  }

  function refreshStatusLine() {
    var s = session;
    var text = "";
    if (s && s.instrument && !s.done && !s.final && !s.closed && !s.fatal) {
      if (net === "offline") text = t("offline");
      else if (s.server.draft && !changes(s)) text = t("saved_server");
      else if (Object.keys(s.answers).length || s.about.region) text = t("saved_local");
    }
    if (statusLine.textContent !== text) statusLine.textContent = text;
  }

  function refresh() {
    if (!session) return;
    // the session may have been changed by a sync of another tab: this tab's copy is newest
    render(false);
    refreshStatusLine();
  }

  // ------------------------------------------------------------------ events

  function onChange(event) {
    var target = event.target;
    var s = session;
    if (!s || !target.name) return;
    var field;
    if (target.dataset.item) {
      field = target.dataset.item;
      s.answers[field] = Number(target.value);
    } else if (target.name === "region" || target.name === "sex" ||
               target.name === "age_group") {
      field = target.name;
      s.about[field] = target.value;
    } else {
      return;
    }
    clearError(field);
    save(s);
    refreshStatusLine();
    scheduleSync(600);
  }

  function goTo(page) {
    session.page = page;
    save(session);
    render(true);
  }

  function onSubmit(event) {
    event.preventDefault();
    var s = session;
    var errors = pageErrors(s, s.page);
    if (Object.keys(errors).length) {
      showErrors(errors, true);
      return;
    }
    if (s.page < pageCount(s) - 1) {
      goTo(s.page + 1);
      scheduleSync(0);
      return;
    }
    for (var page = 0; page < pageCount(s); page++) {
      if (Object.keys(pageErrors(s, page)).length) {
        goTo(page);
        showErrors(pageErrors(s, page), true);
        return;
      }
    }
    s.final = true;
    save(s);
    render(true);
    runSync();
  }

  function onClick(event) {
    var button = event.target.closest("[data-action]");
    if (!button) return;
    var action = button.dataset.action;
    if (action === "back") {
      goTo(Math.max(0, session.page - 1));
    } else if (action === "review") {
      session.final = false;
      save(session);
      render(true);
    } else if (action === "new-code") {
      localStorage.removeItem(PREFIX + "current");
      location.href = HOME + "?lang=" + lang;
    } else if (action === "retry-redeem") {
      location.reload();
    }
  }

  function onLanguage(event) {
    event.preventDefault();
    lang = other();
    storageSet("lang", lang);
    applyLanguage();
    if (session) render(true);
  }

  // ------------------------------------------------------------------ start

  async function redeem(code) {
    var r;
    try {
      r = await api("POST", "invitations/redeem/", { code: code }, null);
    } catch (e) {
      show("loading", false);
      app.hidden = false;
      message("offline", t("error_title"), t("offline_redeem")).focus();
      app.appendChild(el("p", {}, [el("button", {
        type: "button", class: "primary", "data-action": "retry-redeem", text: t("retry"),
      })]));
      return;
    }
    if (!r.ok) {
      show("loading", false);
      app.hidden = false;
      message("refused", t("error_title"), r.body.detail || String(r.status)).focus();
      return;
    }
    session = newSession(r.body);
    session.codeHash = await codeHash(code);
    save(session);
    storageSet("current", session.id);
    // the code is spent: a reload continues from this device, not from the code
    history.replaceState(null, "", HOME);
    try {
      await loadCatalogue(session);
    } catch (e) {
      if (!(e instanceof Retry)) throw e;
      net = "offline";
      scheduleSync(RETRY_MIN);
    }
    render(true);
  }

  function registerServiceWorker() {
    if (!("serviceWorker" in navigator) || !main.dataset.sw) return;
    navigator.serviceWorker.register(main.dataset.sw, { scope: HOME }).catch(function () {
      // without a service worker the form still works; it just cannot reopen offline
    });
  }

  function start() {
    applyLanguage();
    document.getElementById("lang-switch").addEventListener("click", onLanguage);
    app.addEventListener("change", onChange);
    app.addEventListener("submit", onSubmit);
    app.addEventListener("click", onClick);
    window.addEventListener("online", function () {
      net = "online";
      retryDelay = RETRY_MIN;
      runSync();
    });
    window.addEventListener("offline", function () {
      net = "offline";
      refresh();
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") runSync();
    });
    registerServiceWorker();

    var state = main.dataset.state;
    var current = currentSession();
    if (state === "redeem") {
      redeem(main.dataset.code);
      return;
    }
    if (current && state === "start") {
      session = current;
      render(true);
    } else if (current && !current.done) {
      show("resume", true);
    }
    var code = new URLSearchParams(location.search).get("kode");
    if (state === "used" && code) {
      // the link of a code this device redeemed: its answers, not a refusal
      codeHash(code).then(function (hash) {
        var mine = allSessions().filter(function (s) { return s.codeHash === hash; })[0];
        if (!mine) return;
        session = mine;
        storageSet("current", mine.id);
        history.replaceState(null, "", HOME);
        render(true);
        runSync();
      });
    }
    runSync();
  }

  start();
})();
