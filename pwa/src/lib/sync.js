// One flush of the outbox against the server, shared by the page and the service worker. The Web
// Locks API keeps the two from sending the same batch at once (harmless, but wasteful on 2G).
import { deviceId, getMeta } from './db.js';
import { createApi } from './api.js';
import { flush } from './outbox.js';

export const FLUSH_LOCK = 'grassroots-outbox';
export const SYNC_TAG = 'outbox-flush';

export function tokenGetter(db) {
  return async () => (await getMeta(db, 'session'))?.token || null;
}

export function flushOnce(db, api = createApi({ getToken: tokenGetter(db) })) {
  const run = async () =>
    flush(db, async (commands) => (await api.sync(await deviceId(db), commands)).results);
  const locks = globalThis.navigator?.locks;
  return locks ? locks.request(FLUSH_LOCK, run) : run();
}
