// The phone's household download: page after page (a township can hold 30,000), each page stored as it comes,
// the cursor kept only once every page has come, and it is the first page's.
import { describe, expect, it, vi } from 'vitest';
import { createApi } from '../src/lib/api.js';
import { refreshHouseholds } from '../src/lib/data.js';

const household = (id, more = {}) => ({ id, head_name: `户主${id}`, archived: false, erased: false, ...more });

async function freshStore() {
  await import('fake-indexeddb/auto');
  const { IDBFactory } = await import('fake-indexeddb');
  const { openStore } = await import('../src/lib/db.js');
  globalThis.indexedDB = new IDBFactory();
  return openStore();
}

describe('the household download', () => {
  it('asks for pages by id and passes the cursor it holds', async () => {
    const fetchImpl = vi.fn(async () => new Response(JSON.stringify({ households: [], cursor: 'c', next: null })));
    const api = createApi({ getToken: () => 't', fetchImpl });
    await api.households(null, null);
    await api.households('c1', 'h2');
    expect(fetchImpl.mock.calls.map(([url]) => url)).toEqual([
      '/api/v1/me/households?limit=1000', '/api/v1/me/households?limit=1000&since=c1&after=h2']);
  });

  it('walks every page, keeps the first page\'s cursor and drops the archived', async () => {
    const db = await freshStore();
    await db.put('households', household('h3'));
    await db.put('meta', 'c0', 'households_cursor');
    const pages = {
      '': { households: [household('h1'), household('h2')], cursor: 'c1', next: 'h2' },
      h2: { households: [household('h3', { archived: true }), household('h4')], cursor: 'c2', next: null },
    };
    const api = { households: vi.fn(async (since, after) => pages[after ?? '']) };
    expect(await refreshHouseholds(db, api, { now: () => new Date('2026-12-07T02:00:00Z') })).toBe(4);
    expect(api.households.mock.calls).toEqual([['c0', null], ['c0', 'h2']]);
    expect((await db.getAll('households')).map((h) => h.id)).toEqual(['h1', 'h2', 'h4']);
    expect(await db.get('meta', 'households_cursor')).toBe('c1');
    expect(await db.get('meta', 'last_download_at')).toBe('2026-12-07T02:00:00.000Z');
    db.close();
  });

  it('keeps the pages that came and the old cursor when a page fails', async () => {
    const db = await freshStore();
    await db.put('meta', 'c0', 'households_cursor');
    const api = {
      households: vi.fn(async (since, after) => {
        if (after) throw new Error('offline');
        return { households: [household('h1')], cursor: 'c1', next: 'h1' };
      }),
    };
    await expect(refreshHouseholds(db, api)).rejects.toThrow('offline');
    expect((await db.getAll('households')).map((h) => h.id)).toEqual(['h1']);
    expect(await db.get('meta', 'households_cursor')).toBe('c0');
    expect(await db.get('meta', 'last_download_at')).toBeUndefined();
    db.close();
  });
});
