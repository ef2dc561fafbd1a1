// The household view's erase action and export: a DELETE with the confirmed reason (never a blank one),
// the note for a first and a repeated erasure, and the export's download; the strings in both languages.
import { describe, expect, it, vi } from 'vitest';
import { createAdminApi } from '../src/admin/api.js';
import { downloadHousehold, eraseHousehold, erasedNoteKey, erasureReason } from '../src/admin/erasure.js';
import en from '../src/admin/i18n/en.js';
import zh from '../src/admin/i18n/zh-CN.js';

const ID = '6f1c2f4e-8a7b-4c1d-9e2f-0a1b2c3d4e5f';

function apiAnswering(status, body) {
  const fetchImpl = vi.fn(async () => new Response(JSON.stringify(body), { status }));
  return { fetchImpl, api: createAdminApi({ getToken: () => 'tok', fetchImpl }) };
}

describe('erasing a household', () => {
  it('sends DELETE /households/{id}/personal-data with the trimmed reason and the bearer token', async () => {
    const { fetchImpl, api } = apiAnswering(200, { household_id: ID, erased: true, already_erased: false });
    const answer = await eraseHousehold(api, ID, '  本人申请删除 ');
    expect(answer.already_erased).toBe(false);
    const [url, init] = fetchImpl.mock.calls[0];
    expect(init.method).toBe('DELETE');
    expect(url).toBe(`/api/v1/households/${ID}/personal-data?reason=${encodeURIComponent('本人申请删除')}`);
    expect(init.headers.Authorization).toBe('Bearer tok');
    expect(init.body).toBeUndefined();
  });

  it('never sends a blank reason', async () => {
    const { fetchImpl, api } = apiAnswering(200, {});
    for (const blank of ['', '   ', null, undefined]) {
      expect(erasureReason(blank)).toBeNull();
      await expect(eraseHousehold(api, ID, blank)).rejects.toThrow(/reason/);
    }
    expect(fetchImpl).not.toHaveBeenCalled();
  });

  it('passes the server’s refusal on with its reason', async () => {
    const { api } = apiAnswering(403, { detail: 'Your role may not do this.', detail_zh: '无权操作' });
    await expect(eraseHousehold(api, ID, '申请')).rejects.toMatchObject({ status: 403, problem: { detail_zh: '无权操作' } });
  });

  it('says whether it erased now or had erased before', () => {
    expect(erasedNoteKey({ already_erased: false })).toBe('erased_note');
    expect(erasedNoteKey({ already_erased: true })).toBe('already_erased_note');
    for (const key of ['erased_note', 'already_erased_note', 'erase_household', 'erase_warning', 'erase_reason',
      'erase_confirm', 'household_erased', 'export_household']) {
      expect(zh[key], key).toBeTruthy();
      expect(en[key], key).toBeTruthy();
    }
    expect(zh.erase_warning).toContain('{name}');
  });
});

describe('exporting a household', () => {
  it('asks for the XLSX workbook of the household', async () => {
    const api = { download: vi.fn(async () => 'x.xlsx') };
    await downloadHousehold(api, ID);
    expect(api.download).toHaveBeenCalledWith(`/households/${ID}/export`, { format: 'xlsx' }, `household-${ID}.xlsx`);
  });
});

describe('the phone after an erasure', () => {
  it('replaces the cached household and drops its cached detail', async () => {
    await import('fake-indexeddb/auto');
    const { IDBFactory } = await import('fake-indexeddb');
    const { openStore } = await import('../src/lib/db.js');
    const { refreshHouseholds } = await import('../src/lib/data.js');
    globalThis.indexedDB = new IDBFactory();
    const db = await openStore();
    const kept = 'a1b2c3d4-0000-4000-8000-000000000001';
    await db.put('households', { id: ID, head_name: '林阿婆', phone: '13900000000', erased: false });
    await db.put('details', { id: ID, issues: [{ summary: '林阿婆看病难' }] });
    await db.put('details', { id: kept, issues: [{ summary: '村道塌方' }] });
    const api = {
      households: vi.fn(async () => ({
        households: [
          { id: ID, head_name: null, phone: null, address: null, erased: true, archived: false },
          { id: kept, head_name: '王某', erased: false, archived: false },
        ],
        cursor: 'c2',
      })),
    };
    expect(await refreshHouseholds(db, api)).toBe(2);
    expect(await db.get('households', ID)).toMatchObject({ head_name: null, phone: null, erased: true });
    expect(await db.get('details', ID)).toBeUndefined();
    expect(await db.get('details', kept)).toBeTruthy(); // only the erased one's detail goes
    db.close();
  });
});
