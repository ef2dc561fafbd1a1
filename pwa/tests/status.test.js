import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it, vi } from 'vitest';
import { getMeta, openStore } from '../src/lib/db.js';
import { refreshHouseholds } from '../src/lib/data.js';
import { lastSynced, recordsAtRisk, requestPersistence, syncButton } from '../src/lib/status.js';
import { t } from '../src/i18n/index.js';

const storage = ({ persisted = false, persist = false } = {}) => ({
  persisted: vi.fn(async () => persisted),
  persist: vi.fn(async () => persist),
});

describe('persistent storage', () => {
  it('does not ask again when the storage is already persisted', async () => {
    const s = storage({ persisted: true });
    expect(await requestPersistence(s)).toBe('persisted');
    expect(s.persist).not.toHaveBeenCalled();
  });

  it('asks, and reports the grant', async () => {
    const s = storage({ persist: true });
    expect(await requestPersistence(s)).toBe('persisted');
    expect(s.persist).toHaveBeenCalledOnce();
  });

  it('reports a refusal', async () => {
    expect(await requestPersistence(storage({ persist: false }))).toBe('refused');
  });

  it('counts a failing request as refused', async () => {
    const s = { persisted: async () => false, persist: async () => Promise.reject(new Error('not allowed')) };
    expect(await requestPersistence(s)).toBe('refused');
  });

  it('says when the browser has no StorageManager (plain http is not a secure context)', async () => {
    expect(await requestPersistence(undefined)).toBe('unsupported');
    expect(await requestPersistence({})).toBe('unsupported');
  });

  it.each([
    [null, 5, 0], // not answered yet: no warning flashes at start-up
    ['persisted', 5, 0],
    ['refused', 5, 5],
    ['unsupported', 3, 3],
    ['refused', 0, 0],
  ])('puts at risk, with storage %s and %i queued, %i records', (persistence, queued, risk) => {
    expect(recordsAtRisk(persistence, queued)).toBe(risk);
  });

  it('states how many records are at risk', () => {
    expect(t('storage_at_risk', { n: 7 })).toContain('7 条未同步记录会丢失');
  });
});

describe('last sync', () => {
  it('is never only when nothing was ever sent nor downloaded', () => {
    expect(lastSynced(undefined, undefined)).toBeNull();
  });

  it('is the download when nothing was sent yet', () => {
    expect(lastSynced(undefined, '2026-12-05T08:00:00.000Z')).toBe('2026-12-05T08:00:00.000Z');
  });

  it('is the later of the last delivery and the last download', () => {
    const sent = '2026-12-05T09:00:00.000Z';
    const downloaded = '2026-12-05T08:00:00.000Z';
    expect(lastSynced(sent, downloaded)).toBe(sent);
    expect(lastSynced(downloaded, sent)).toBe(sent);
  });

  it('is recorded when the households are downloaded', async () => {
    globalThis.indexedDB = new IDBFactory();
    const db = await openStore();
    const api = { households: async () => ({ households: [{ id: 'h1', head_name: '张三' }], cursor: 'c1' }) };
    expect(await getMeta(db, 'last_download_at')).toBeUndefined();
    await refreshHouseholds(db, api, { now: () => new Date('2026-12-05T08:00:00Z') });
    expect(await getMeta(db, 'last_download_at')).toBe('2026-12-05T08:00:00.000Z');
    expect(lastSynced(await getMeta(db, 'last_sync_at'), await getMeta(db, 'last_download_at'))).toBe(
      '2026-12-05T08:00:00.000Z',
    );
    db.close();
  });
});

describe('sync button', () => {
  it('sends now when online', () => {
    expect(syncButton({ online: true, running: false, queued: 3 })).toEqual({ key: 'sync_now', params: {}, disabled: false });
  });

  it('offline, says the queued records will be sent when the connection returns', () => {
    const button = syncButton({ online: false, running: false, queued: 3 });
    expect(button.disabled).toBe(true);
    expect(t(button.key, button.params)).toBe('离线：联网后自动发送 3 条');
  });

  it('offline with nothing queued, says there is nothing to send', () => {
    const button = syncButton({ online: false, running: false, queued: 0 });
    expect(t(button.key, button.params)).toBe('离线：没有待发送的记录');
  });

  it('cannot be pressed while a sync runs', () => {
    expect(syncButton({ online: true, running: true, queued: 3 })).toMatchObject({ key: 'sync_running', disabled: true });
  });
});
