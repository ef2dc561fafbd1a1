// Our own service worker (vite-plugin-pwa injectManifest fills self.__WB_MANIFEST at build time).
// - Precaches the field app shell only: the admin chunk (assets/admin/) is left out on purpose.
// - Navigations get the cached index.html, so the app opens offline at any path.
// - API requests are never cached here: the app keeps its data in IndexedDB and purges it itself.
// - Background Sync flushes the outbox with the same code as the page.
import { openStore } from './lib/db.js';
import { flushOnce, SYNC_TAG } from './lib/sync.js';

const PRECACHE = self.__WB_MANIFEST;
const SHELL = `shell-${hash(JSON.stringify(PRECACHE))}`;
const urlOf = (entry) => new URL(entry.url, self.registration.scope).href;
const PRECACHED = new Set(PRECACHE.map(urlOf));
const INDEX = new URL('index.html', self.registration.scope).href;

function hash(text) {
  let h = 2166136261;
  for (let i = 0; i < text.length; i += 1) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0).toString(36);
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(SHELL)
      .then((cache) => cache.addAll([...PRECACHED].map((url) => new Request(url, { cache: 'reload' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('shell-') && k !== SHELL).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith('/api/')) return;
  if (request.mode === 'navigate') {
    event.respondWith(
      caches.open(SHELL).then(async (cache) => (await cache.match(INDEX)) || fetch(request)),
    );
    return;
  }
  url.search = '';
  if (PRECACHED.has(url.href)) {
    event.respondWith(caches.open(SHELL).then(async (cache) => (await cache.match(url.href)) || fetch(request)));
  }
});

self.addEventListener('sync', (event) => {
  if (event.tag !== SYNC_TAG) return;
  event.waitUntil(
    (async () => {
      const db = await openStore();
      if (!(await db.get('meta', 'session'))?.token) return;
      const result = await flushOnce(db);
      const clients = await self.clients.matchAll({ type: 'window' });
      for (const client of clients) client.postMessage({ type: 'outbox-flushed' });
      // Throwing tells the browser the sync failed, so it retries later with its own backoff.
      if (result.error) throw result.error;
    })(),
  );
});
