// The phone's local store (IndexedDB). Everything in it except the device id is personal or
// session data, so `purgePersonalData` clears it all on logout.
import { openDB } from 'idb';

export const DB_NAME = 'grassroots';

export function openStore(name = DB_NAME) {
  return openDB(name, 1, {
    upgrade(db) {
      // Auto-increment key = enqueue order, so getAll() yields commands in the order they were made.
      const outbox = db.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true });
      outbox.createIndex('id', 'id', { unique: true });
      db.createObjectStore('answered', { keyPath: 'id' }); // rejected / conflict answers kept for the Sync screen
      db.createObjectStore('households', { keyPath: 'id' });
      db.createObjectStore('details', { keyPath: 'id' }); // household detail (visits, issues) seen online
      db.createObjectStore('meta'); // session, device_id, cursor, due list, stats, last_sync_at
    },
  });
}

export const getMeta = (db, key) => db.get('meta', key);
export const setMeta = (db, key, value) => db.put('meta', value, key);

const PERSONAL_STORES = ['outbox', 'answered', 'households', 'details'];

export async function purgePersonalData(db) {
  const tx = db.transaction([...PERSONAL_STORES, 'meta'], 'readwrite');
  const deviceId = await tx.objectStore('meta').get('device_id');
  await Promise.all([...PERSONAL_STORES, 'meta'].map((store) => tx.objectStore(store).clear()));
  if (deviceId) await tx.objectStore('meta').put(deviceId, 'device_id');
  await tx.done;
}

export async function deviceId(db) {
  let id = await getMeta(db, 'device_id');
  if (!id) {
    id = uuid();
    await setMeta(db, 'device_id', id);
  }
  return id;
}

// crypto.randomUUID exists only in secure contexts; a county intranet may serve plain http.
export function uuid() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
