// What the phone tells the cadre about its own state, decided here so that it can be tested without a
// browser: whether queued records can be lost, when it last synced, what the sync button will do.

/**
 * Ask the browser to keep our storage (IndexedDB) until the user removes it. Without that grant the
 * storage is "best effort": the browser may evict it under storage pressure, and nothing marks the
 * outbox as precious. Answers 'persisted', 'refused' or 'unsupported' (no StorageManager: old
 * browsers, and plain http outside localhost, which is not a secure context).
 */
export async function requestPersistence(storage = globalThis.navigator?.storage) {
  if (typeof storage?.persist !== 'function' || typeof storage?.persisted !== 'function') return 'unsupported';
  try {
    if (await storage.persisted()) return 'persisted';
    return (await storage.persist()) ? 'persisted' : 'refused';
  } catch {
    return 'refused';
  }
}

/**
 * How many queued records the browser may throw away without asking: all of them unless storage is
 * persisted, none while the answer is not known yet (null) so that no warning flashes at start-up.
 */
export function recordsAtRisk(persistence, queued) {
  if (persistence === null || persistence === 'persisted') return 0;
  return Math.max(0, queued);
}

/**
 * The last successful sync is the later of the last delivered batch (last_sync_at, set by the
 * outbox) and the last download of the households (last_download_at): a phone that has downloaded
 * its households has synced, even before it had anything to send.
 */
export function lastSynced(sentAt, downloadedAt) {
  const times = [sentAt, downloadedAt].filter(Boolean);
  if (times.length === 0) return null;
  return times.reduce((a, b) => (Date.parse(a) >= Date.parse(b) ? a : b));
}

/**
 * The sync button: it sends now when online; offline it cannot, and says that the queued records
 * go out by themselves when the connection returns (the `online` event flushes the outbox).
 * Returns the i18n key, its parameters and whether the button can be pressed.
 */
export function syncButton({ online, running, queued }) {
  if (running) return { key: 'sync_running', params: {}, disabled: true };
  if (!online) {
    return queued > 0
      ? { key: 'sync_when_online', params: { n: queued }, disabled: true }
      : { key: 'sync_offline_nothing', params: {}, disabled: true };
  }
  return { key: 'sync_now', params: {}, disabled: false };
}
