// The import page's kinds of file: each uploads to its own endpoint, keeps a rejection's row report,
// and sums an accepted file up in both languages.
import { describe, expect, it, vi } from 'vitest';
import { createAdminApi } from '../src/admin/api.js';
import { IMPORT_KINDS, importKind, importSummary, uploadImport } from '../src/admin/imports.js';
import en from '../src/admin/i18n/en.js';
import zh from '../src/admin/i18n/zh-CN.js';

function apiAnswering(status, body) {
  const fetchImpl = vi.fn(async () => new Response(JSON.stringify(body), { status }));
  return { fetchImpl, api: createAdminApi({ getToken: () => 'tok', fetchImpl }) };
}

const file = () => new File(['姓名,职级,单位,联系电话\n'], '干部名册.csv', { type: 'text/csv' });

describe('the import kinds', () => {
  it('uploads households, cadres and pairings to their own endpoints as multipart', async () => {
    for (const [kind, path] of [['households', '/api/v1/households/import'], ['cadres', '/api/v1/cadres/import'],
      ['pairings', '/api/v1/pairings/import']]) {
      const { fetchImpl, api } = apiAnswering(200, { rows: 2, applied: 2, duplicate: 0, ignored_columns: [], items: [] });
      const answer = await uploadImport(api, kind, file());
      expect(answer.result.applied).toBe(2);
      const [url, init] = fetchImpl.mock.calls[0];
      expect(url).toBe(path);
      expect(init.method).toBe('POST');
      expect(init.body).toBeInstanceOf(FormData);
      expect(init.body.get('file').name).toBe('干部名册.csv');
    }
  });

  it('keeps a rejected file’s row report', async () => {
    const errors = [{ row: 3, column: '联系电话', message: 'not a phone number', message_zh: '电话号码格式不正确' }];
    const { api } = apiAnswering(422, { detail: 'The file was not imported', errors });
    const answer = await uploadImport(api, 'cadres', file());
    expect(answer.result).toBeUndefined();
    expect(answer.rejected.errors).toEqual(errors);
    expect(answer.rejected.error.status).toBe(422);
  });

  it('has a template for every kind and refuses an unknown one', () => {
    expect(importKind('pairings').template).toBe('/pairings/import/template');
    expect(() => importKind('visits')).toThrow(/unknown import kind/);
  });

  it('sums up an accepted file by what it counts, with every string in both languages', () => {
    expect(importSummary('households', { households: 5, applied: 4, duplicate: 1 }))
      .toEqual(['import_done_households', { rows: 5, applied: 4, duplicate: 1 }]);
    expect(importSummary('pairings', { rows: 3, applied: 0, duplicate: 3 }))
      .toEqual(['import_done_pairings', { rows: 3, applied: 0, duplicate: 3 }]);
    for (const kind of Object.keys(IMPORT_KINDS)) {
      for (const strings of [en, zh]) {
        expect(strings[IMPORT_KINDS[kind].title]).toBeTruthy();
        expect(strings[`import_done_${kind}`]).toMatch(/\{rows\}.*\{applied\}.*\{duplicate\}/);
      }
    }
  });
});
