/* Service worker of the respondent form (/isi/): keeps the form's page and static files so the
 * form reopens without signal. Served by surveys.collect.web.service_worker, which fills in
 * the asset list and a version (a hash of the cached files) below.
 *
 * Only GET requests for the form's own page and files are answered here. API calls are not
 * intercepted: the page itself keeps answers in localStorage and retries them.
 */
"use strict";

var ASSETS = "__ASSETS__";
var SHELL = ASSETS[0];
var CACHE = "nilai-isi-__VERSION__";

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) { return cache.addAll(ASSETS); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("nilai-isi-") === 0 && name !== CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;

  if (request.mode === "navigate" && url.pathname === SHELL) {
    // network first (the page carries the current region list), the cached page without signal
    event.respondWith(
      fetch(request).then(function (response) {
        if (response.ok && !url.search) {
          var copy = response.clone();
          caches.open(CACHE).then(function (cache) { return cache.put(SHELL, copy); });
        }
        return response;
      }).catch(function () {
        return caches.match(SHELL).then(function (hit) {
          return hit || Response.error();
        });
      })
    );
    return;
  }

  if (ASSETS.indexOf(url.pathname) > 0) {
    event.respondWith(
      caches.match(request, { ignoreSearch: true }).then(function (hit) {
        return hit || fetch(request);
      })
    );
  }
});
