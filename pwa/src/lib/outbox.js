// The outbox: every command is stored here first, with its client UUID, and leaves only on a
// definite answer from POST /sync (DESIGN §7). Unlike Workbox's queue, an HTTP error status is not a
// delivery: the item stays. Removing an answered item is also the purge of its personal data.
import { uuid } from './db.js';

export const DEFINITE = new Set(['applied', 'duplicate', 'conflict', 'rejected']);
// Small batches: on a village signal a short request is more likely to make it through.
export const BATCH_SIZE = 25;

/** Queue commands atomically (a check-in and the issue raised with it go together). */
export async function enqueue(db, commands) {
  const tx = db.transaction('outbox', 'readwrite');
  const ids = [];
  for (const { type, payload, label = '', id = uuid() } of commands) {
    ids.push(id);
    tx.store.add({ id, type, payload, label, queued_at: new Date().toISOString() });
  }
  await tx.done;
  return ids;
}

export const queued = (db) => db.getAll('outbox');
export const queuedCount = (db) => db.count('outbox');
export const answered = (db) => db.getAll('answered');
export const dismiss = (db, id) => db.delete('answered', id);

/**
 * Send everything queued, oldest first, in batches. `send(commands)` returns the `results` of
 * POST /sync or throws (NetworkError / HttpError). Stops at the first failure and reports it.
 */
export async function flush(db, send, { now = () => new Date() } = {}) {
  const items = await queued(db);
  const counts = { applied: 0, duplicate: 0, conflict: 0, rejected: 0, unanswered: 0 };
  for (let start = 0; start < items.length; start += BATCH_SIZE) {
    const batch = items.slice(start, start + BATCH_SIZE);
    let results;
    try {
      results = await send(batch.map(({ id, type, payload }) => ({ id, type, payload })));
    } catch (error) {
      return { ...counts, error, remaining: await queuedCount(db) };
    }
    const byId = new Map((Array.isArray(results) ? results : []).map((r) => [r.id, r]));
    const at = now().toISOString();
    const tx = db.transaction(['outbox', 'answered', 'meta'], 'readwrite');
    for (const item of batch) {
      const result = byId.get(item.id);
      if (!result || !DEFINITE.has(result.status)) {
        counts.unanswered += 1; // no definite word on this one: keep it for the next flush
        continue;
      }
      counts[result.status] += 1;
      tx.objectStore('outbox').delete(item.seq);
      if (result.status === 'rejected' || result.status === 'conflict') {
        tx.objectStore('answered').put({
          id: item.id,
          type: item.type,
          label: item.label,
          status: result.status,
          reason: result.reason || null,
          queued_at: item.queued_at,
          answered_at: at,
        });
      }
    }
    tx.objectStore('meta').put(at, 'last_sync_at');
    await tx.done;
  }
  return { ...counts, error: null, remaining: await queuedCount(db) };
}
