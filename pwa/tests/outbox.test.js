import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deviceId, getMeta, openStore, purgePersonalData, setMeta } from '../src/lib/db.js';
import { HttpError, NetworkError } from '../src/lib/api.js';
import { BATCH_SIZE, answered, enqueue, flush, queued, queuedCount } from '../src/lib/outbox.js';
import { backoffDelay, createFlusher } from '../src/lib/flusher.js';

let db;
beforeEach(async () => {
  globalThis.indexedDB = new IDBFactory(); // a fresh phone per test
  db = await openStore();
});
afterEach(() => db.close());

const checkIn = (n) => ({ type: 'check_in', payload: { note: `visit ${n}` }, label: `household ${n}` });
const answerAll = (status, extra = {}) => async (commands) => commands.map(({ id }) => ({ id, status, ...extra }));

describe('outbox', () => {
  it('sends commands oldest first in batches of the batch size', async () => {
    await enqueue(db, Array.from({ length: BATCH_SIZE + 3 }, (_, i) => checkIn(i)));
    const batches = [];
    const result = await flush(db, async (commands) => {
      batches.push(commands.map((c) => c.payload.note));
      return commands.map(({ id }) => ({ id, status: 'applied' }));
    });
    expect(batches.map((b) => b.length)).toEqual([BATCH_SIZE, 3]);
    expect(batches.flat()).toEqual(Array.from({ length: BATCH_SIZE + 3 }, (_, i) => `visit ${i}`));
    expect(result.applied).toBe(BATCH_SIZE + 3);
    expect(await queuedCount(db)).toBe(0);
  });

  it('keeps the client id of each command as the id sent to the server', async () => {
    const [id] = await enqueue(db, [checkIn(1)]);
    let sent;
    await flush(db, async (commands) => ((sent = commands), []));
    expect(sent).toEqual([{ id, type: 'check_in', payload: { note: 'visit 1' } }]);
  });

  it.each(['applied', 'duplicate'])('removes an item answered %s and records the sync time', async (status) => {
    await enqueue(db, [checkIn(1)]);
    const result = await flush(db, answerAll(status), { now: () => new Date('2026-11-22T01:00:00Z') });
    expect(result[status]).toBe(1);
    expect(await queuedCount(db)).toBe(0);
    expect(await answered(db)).toEqual([]);
    expect(await getMeta(db, 'last_sync_at')).toBe('2026-11-22T01:00:00.000Z');
  });

  it.each(['rejected', 'conflict'])('removes an item answered %s and keeps its reason to show', async (status) => {
    const [id] = await enqueue(db, [checkIn(1)]);
    const reason = { zh: '备注过长', en: 'note too long' };
    await flush(db, answerAll(status, { reason }));
    expect(await queuedCount(db)).toBe(0);
    const [kept] = await answered(db);
    expect(kept).toMatchObject({ id, status, reason, label: 'household 1', type: 'check_in' });
    expect(kept.payload).toBeUndefined(); // the note itself is purged with the item
  });

  it('keeps every item when the network fails', async () => {
    await enqueue(db, [checkIn(1), checkIn(2)]);
    const result = await flush(db, async () => {
      throw new NetworkError('offline');
    });
    expect(result.error).toBeInstanceOf(NetworkError);
    expect(await queuedCount(db)).toBe(2);
    expect(await getMeta(db, 'last_sync_at')).toBeUndefined();
  });

  it.each([500, 502, 401, 413])('keeps every item when the server answers HTTP %i', async (status) => {
    await enqueue(db, [checkIn(1)]);
    const result = await flush(db, async () => {
      throw new HttpError(status, { detail: 'boom' });
    });
    expect(result.error.status).toBe(status);
    expect(await queuedCount(db)).toBe(1);
  });

  it('keeps items the answer does not mention or answers without a definite status', async () => {
    const ids = await enqueue(db, [checkIn(1), checkIn(2), checkIn(3)]);
    await flush(db, async () => [
      { id: ids[0], status: 'applied' },
      { id: ids[1], status: 'pending' },
    ]);
    expect((await queued(db)).map((i) => i.id)).toEqual([ids[1], ids[2]]);
  });

  it('stops at a failed batch but keeps what earlier batches delivered', async () => {
    await enqueue(db, Array.from({ length: BATCH_SIZE * 2 }, (_, i) => checkIn(i)));
    let calls = 0;
    const result = await flush(db, async (commands) => {
      calls += 1;
      if (calls === 2) throw new NetworkError('signal lost');
      return commands.map(({ id }) => ({ id, status: 'applied' }));
    });
    expect(result.applied).toBe(BATCH_SIZE);
    expect(result.remaining).toBe(BATCH_SIZE);
    expect((await queued(db))[0].payload.note).toBe(`visit ${BATCH_SIZE}`);
  });

  it('resending after a lost answer changes nothing for the server and empties the outbox', async () => {
    await enqueue(db, [checkIn(1), checkIn(2)]);
    const seen = new Set();
    const server = async (commands) =>
      commands.map(({ id }) => ({ id, status: seen.has(id) ? 'duplicate' : (seen.add(id), 'applied') }));
    await flush(db, async (commands) => {
      await server(commands);
      throw new NetworkError('answer lost on the way back');
    });
    const second = await flush(db, server);
    expect(second).toMatchObject({ duplicate: 2, applied: 0, remaining: 0 });
    expect(seen.size).toBe(2);
  });
});

describe('purge on logout', () => {
  it('clears the outbox, answers, households, details and session but keeps the device id', async () => {
    const device = await deviceId(db);
    await enqueue(db, [checkIn(1)]);
    await db.put('answered', { id: 'x', status: 'rejected' });
    await db.put('households', { id: 'h1', head_name: '王' });
    await db.put('details', { id: 'h1', visits: [] });
    await setMeta(db, 'session', { token: 't' });
    await setMeta(db, 'due', [{ household_id: 'h1' }]);
    await purgePersonalData(db);
    for (const store of ['outbox', 'answered', 'households', 'details']) expect(await db.count(store)).toBe(0);
    expect(await getMeta(db, 'session')).toBeUndefined();
    expect(await getMeta(db, 'due')).toBeUndefined();
    expect(await deviceId(db)).toBe(device);
  });
});

describe('flusher backoff', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('doubles the delay after each failure up to the ceiling, with jitter in the upper half', () => {
    const opts = { base: 1000, max: 8000 };
    expect(backoffDelay(1, { ...opts, random: () => 0 })).toBe(500);
    expect(backoffDelay(1, { ...opts, random: () => 1 })).toBe(1000);
    expect(backoffDelay(3, { ...opts, random: () => 1 })).toBe(4000);
    expect(backoffDelay(10, { ...opts, random: () => 1 })).toBe(8000);
  });

  it('retries after failures with growing delays and resets once a flush succeeds', async () => {
    const outcomes = [{ error: new NetworkError() }, { error: new NetworkError() }, { error: null }];
    const times = [];
    const run = vi.fn(async () => (times.push(Date.now()), outcomes.shift()));
    const flusher = createFlusher(run, { base: 1000, max: 60000, random: () => 1 });
    const start = Date.now();
    await flusher.flushNow();
    expect(flusher.failures).toBe(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(run).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(run).toHaveBeenCalledTimes(2);
    expect(flusher.failures).toBe(2);
    await vi.advanceTimersByTimeAsync(2000);
    expect(run).toHaveBeenCalledTimes(3);
    expect(times.map((t) => t - start)).toEqual([0, 1000, 3000]);
    expect(flusher.failures).toBe(0);
    expect(flusher.pending).toBe(false);
  });

  it('an explicit flush (online, user) cancels the pending backoff and runs at once', async () => {
    const run = vi.fn(async () => ({ error: run.mock.calls.length === 1 ? new NetworkError() : null }));
    const flusher = createFlusher(run, { base: 60000, random: () => 1 });
    await flusher.flushNow();
    expect(flusher.pending).toBe(true);
    await flusher.flushNow();
    expect(run).toHaveBeenCalledTimes(2);
    expect(flusher.pending).toBe(false);
    await vi.advanceTimersByTimeAsync(120000);
    expect(run).toHaveBeenCalledTimes(2);
  });

  it('after a reset the next failure waits the shortest delay again', async () => {
    const run = vi.fn(async () => ({ error: new NetworkError() }));
    const flusher = createFlusher(run, { base: 1000, max: 60000, random: () => 1 });
    for (let i = 0; i < 4; i += 1) await flusher.flushNow();
    expect(flusher.failures).toBe(4);
    flusher.reset();
    const result = await flusher.flushNow();
    expect(result.retryIn).toBe(1000);
  });

  it('a flush asked for during a flush runs once more right after it, never two at once', async () => {
    let active = 0;
    let maxActive = 0;
    const run = vi.fn(async () => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      await new Promise((resolve) => setTimeout(resolve, 100));
      active -= 1;
      return { error: null };
    });
    const flusher = createFlusher(run);
    const first = flusher.flushNow();
    flusher.flushNow();
    flusher.flushNow();
    await vi.advanceTimersByTimeAsync(300);
    await first;
    expect(run).toHaveBeenCalledTimes(2);
    expect(maxActive).toBe(1);
  });

  it('the connection returning during a failing flush runs it again at once, not after the backoff', async () => {
    let flusher;
    const outcomes = [
      async () => {
        await Promise.resolve(); // the request is on its way
        flusher.flushNow(); // the `online` event, while the request that died with the signal still fails
        return { error: new Error('network') };
      },
      async () => ({ error: null }),
    ];
    const run = vi.fn(() => outcomes.shift()());
    flusher = createFlusher(run, { base: 60000, random: () => 1 });
    const result = await flusher.flushNow();
    expect(run).toHaveBeenCalledTimes(2);
    expect(result.error).toBeNull();
    expect(flusher.pending).toBe(false);
    expect(flusher.failures).toBe(0);
  });

  it('still backs off when the flush asked for during a failing one fails too', async () => {
    let flusher;
    const run = vi.fn(async () => {
      await Promise.resolve();
      if (run.mock.calls.length === 1) flusher.flushNow();
      return { error: new Error('server down') };
    });
    flusher = createFlusher(run, { base: 60000, random: () => 1 });
    const result = await flusher.flushNow();
    expect(run).toHaveBeenCalledTimes(2); // once more, not in a loop
    expect(result.retryIn).toBe(60000);
    await vi.advanceTimersByTimeAsync(59999);
    expect(run).toHaveBeenCalledTimes(2);
  });
});
