// The visit audit's, work log's and quota shortfall table's pure logic (src/admin/visits.js).
import { describe, expect, it } from 'vitest';
import { auditQuery, quotaCells, reasonKeys, REASON_MAX, voidBody } from '../src/admin/visits.js';

describe('audit filters', () => {
  it('asks only the filters that are set', () => {
    expect(auditQuery({ cadre_id: '', village: '469029101201', verdict: 'unverified', kind: null })).toEqual({
      params: { village: '469029101201', verdict: 'unverified' },
    });
    expect(auditQuery({})).toEqual({ params: {} });
  });

  it('refuses a last day before the first, and a day that is no day', () => {
    expect(auditQuery({ occurred_from: '2026-03-02', occurred_to: '2026-03-01' })).toEqual({ error: 'audit_days_reversed' });
    expect(auditQuery({ occurred_from: '2026-3-2' })).toEqual({ error: 'audit_bad_day' });
    expect(auditQuery({ occurred_from: '2026-03-01', occurred_to: '2026-03-01' }).params).toEqual({
      occurred_from: '2026-03-01',
      occurred_to: '2026-03-01',
    });
  });
});

describe('voiding', () => {
  it('needs a reason, trimmed, within the server’s limit', () => {
    expect(voidBody('  ')).toEqual({ error: 'void_reason_required' });
    expect(voidBody(undefined)).toEqual({ error: 'void_reason_required' });
    expect(voidBody('x'.repeat(REASON_MAX + 1))).toEqual({ error: 'void_reason_too_long' });
    expect(voidBody(' 实为电话联系 ')).toEqual({ body: { reason: '实为电话联系', expected_version: 1 } });
  });
});

describe('reasons', () => {
  it('carries each reason’s figure', () => {
    const row = { reasons: ['too_far', 'poor_accuracy', 'impossible_travel'], distance_m: 812.4, accuracy_m: 150.2, travel_kmh: 431.5 };
    expect(reasonKeys(row)).toEqual([
      ['reason_too_far', { m: 812 }],
      ['reason_poor_accuracy', { m: 150 }],
      ['reason_impossible_travel', { kmh: 431.5 }],
    ]);
    expect(reasonKeys({ reasons: ['voided'], void_reason: '重复' })).toEqual([['reason_voided', { reason: '重复' }]]);
    expect(reasonKeys({ reasons: [] })).toEqual([]);
  });
});

describe('quota cells', () => {
  it('gives short/required per rule, nothing for a rule the county does not keep', () => {
    const row = {
      shortfall: 4,
      quotas: [
        { rule: 'hardship_households', required: 5, actual: 1, short_by: 4, met: false },
        { rule: 'five_contacts', required: 5, actual: 3, short_by: 2, met: false, missing: ['talent', 'enterprise'] },
      ],
    };
    expect(quotaCells(row)).toEqual({
      hardship: { short: 4, required: 5, actual: 1, met: false },
      byRank: null,
      missing: ['talent', 'enterprise'],
      shortfall: 4,
    });
  });
});
