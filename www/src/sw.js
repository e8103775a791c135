// The service worker: precaches the app shell and the wasm at install (the build fills in the
// file list), then serves them from the cache, so the app opens with the network off. The sync
// API (/v1/*) is never cached: it must fail when offline so the client keeps events pending.
const PRECACHE = self.__PRECACHE__;
const CACHE = `eventfold-demo-${self.__VERSION__}`;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || url.pathname.startsWith("/v1/")) return;
  if (event.request.mode === "navigate") {
    // The shell: fresh from the network when it answers, else the cached copy.
    event.respondWith(fetch(event.request).catch(() => caches.match("/", { cacheName: CACHE })));
    return;
  }
  // Built files have content hashes in their names: the cached copy is always right.
  event.respondWith(caches.match(event.request, { cacheName: CACHE }).then((hit) => hit ?? fetch(event.request)));
});
