// The due list on the phone: fetched page by page, the cached copy replaced only when every page came.
import { describe, expect, it, vi } from 'vitest';
import { refreshDue } from '../src/lib/data.js';

const item = (id) => ({ household_id: id, status: 'due', due_date: '2026-12-31' });

describe('the due list on the phone', () => {
  it('walks every page and caches the whole list once', async () => {
    const pages = { '': { items: [item('h1'), item('h2')], next: 'due|2026-12-31|h2' }, 'due|2026-12-31|h2': { items: [item('h3')], next: null } };
    const api = { due: vi.fn(async (after) => pages[after ?? '']) };
    const db = { put: vi.fn(async () => {}) };
    await refreshDue(db, api);
    expect(api.due.mock.calls).toEqual([[null], ['due|2026-12-31|h2']]);
    expect(db.put.mock.calls).toEqual([['meta', [item('h1'), item('h2'), item('h3')], 'due']]);
  });

  it('keeps the cached list when a page fails', async () => {
    const api = { due: vi.fn(async (after) => { if (after) throw new Error('offline'); return { items: [item('h1')], next: 'x' }; }) };
    const db = { put: vi.fn(async () => {}) };
    await expect(refreshDue(db, api)).rejects.toThrow('offline');
    expect(db.put).not.toHaveBeenCalled();
  });
});
