// The contact targets page: the register's kinds, the list query its filters make, the body its form
// sends, and a 五个一 row's cells.
import { describe, expect, it } from 'vitest';
import { fiveOnesCells, REGISTER_KINDS, reviseBody, targetBody, targetsQuery } from '../src/admin/targets.js';

describe('contact targets', () => {
  it('lists every target kind but households', () => {
    expect(REGISTER_KINDS).toContain('party_branch');
    expect(REGISTER_KINDS).toContain('contact_point');
    expect(REGISTER_KINDS).not.toContain('household');
  });

  it('asks for weak branches only when the filter is on, and for archived ones by state', () => {
    expect(targetsQuery({ kind: 'party_branch', weak: true })).toEqual({ kind: 'party_branch', township: '', weak: 'true', state: '' });
    expect(targetsQuery({ township: '469029100' })).toEqual({ kind: '', township: '469029100', weak: '', state: '' });
    expect(targetsQuery({ archived: true }).state).toBe('archived');
  });

  it('sends empty places and coordinates as null and the weak flag for a Party branch only', () => {
    const fields = { kind: 'party_branch', name: ' 什聘村党支部 ', township: '469029100', village: '', lat: '', lon: '', weak: '1' };
    expect(targetBody(fields)).toEqual({
      kind: 'party_branch', name: '什聘村党支部', township: '469029100', village: null, lat: null, lon: null, weak: true,
    });
    const enterprise = targetBody({ ...fields, kind: 'enterprise', village: '469029100201', lat: '18.64', lon: '109.7' });
    expect(enterprise).toMatchObject({ kind: 'enterprise', village: '469029100201', lat: 18.64, lon: 109.7, weak: false });
  });

  it('revises every field but the kind, at the version shown, the weak flag as the kind allows', () => {
    const fields = { name: '什聘村党总支', township: '469029100', village: '469029100201', lat: '', lon: '', weak: '1' };
    expect(reviseBody({ kind: 'party_branch', version: 3 }, fields)).toEqual({
      name: '什聘村党总支', township: '469029100', village: '469029100201', lat: null, lon: null, weak: true, expected_version: 3,
    });
    expect(reviseBody({ kind: 'talent', version: 1 }, fields).weak).toBe(false);
  });

  it('marks the 五个一 a cadre has not covered', () => {
    const row = { weak_branch: 1, enterprise: 0, talent: 2, project: 0, village: 3, covered: 3 };
    expect(fiveOnesCells(row)).toEqual({ cells: [1, null, 2, null, 3], covered: 3 });
  });
});
