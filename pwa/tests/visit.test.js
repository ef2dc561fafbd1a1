// A check-in's subject (a household or a contact target of the register), its payload with a stay's days,
// the register cached for offline use, and searching it.
import { describe, expect, it, vi } from 'vitest';
import {
  checkInPayload, householdSubject, MAX_STAY_DAYS, searchTargets, stayDays, targetSubject, villageNames,
} from '../src/lib/visit.js';
import { MAX_TARGETS, refreshTargets } from '../src/lib/data.js';

const branch = { target_id: 't1', kind: 'party_branch', name: '什聘村党支部', village: '469029100201', weak: true };
const households = [
  { id: 'h1', head_name: '王大', village: '469029100201', village_name: '什聘村' },
  { id: 'h2', head_name: null, village: '469029100202', village_name: null },
];
const when = '2026-11-20T01:00:00.000Z';

describe('a check-in', () => {
  it('names a register target by its kind and id, and has no household', () => {
    const subject = targetSubject(branch, villageNames(households));
    expect(subject).toMatchObject({ kind: 'party_branch', id: 't1', title: '什聘村党支部', villageName: '什聘村', householdId: null });
    const payload = checkInPayload(subject, { kind: 'forum', occurred_at: when, note: ' 座谈 ' });
    expect(payload).toEqual({
      target_kind: 'party_branch', target_id: 't1', kind: 'forum', occurred_at: when, position: null, topics: [],
      note: '座谈', companions: [],
    });
  });

  it('records days only for a stay', () => {
    const subject = householdSubject(households[1], '（已删除）');
    expect(subject).toMatchObject({ kind: 'household', id: 'h2', title: '（已删除）', villageName: '469029100202', householdId: 'h2' });
    expect(checkInPayload(subject, { kind: 'stay', days: 3, occurred_at: when }).days).toBe(3);
    expect(checkInPayload(subject, { kind: 'home', days: 3, occurred_at: when })).not.toHaveProperty('days');
  });

  it('takes whole days from 1 to 92 for a stay', () => {
    expect(stayDays('3')).toBe(3);
    expect(stayDays(` ${MAX_STAY_DAYS} `)).toBe(92);
    for (const bad of ['', '0', '93', '2.5', 'abc', null]) expect(stayDays(bad)).toBeNull();
  });
});

describe('the register on the phone', () => {
  it('is fetched page by page and cached whole', async () => {
    const pages = { '': { items: [branch], next: 't1' }, t1: { items: [{ ...branch, target_id: 't2' }], next: null } };
    const api = { targets: vi.fn(async (after) => pages[after ?? '']) };
    const db = { put: vi.fn(async () => {}) };
    await refreshTargets(db, api);
    expect(api.targets.mock.calls).toEqual([[null], ['t1']]);
    expect(db.put).toHaveBeenCalledWith('meta', [branch, { ...branch, target_id: 't2' }], 'targets');
    expect(MAX_TARGETS).toBeGreaterThan(500);
  });

  it('names villages after the cached households, by code when the map names none', () => {
    expect(villageNames(households)).toEqual({ 469029100201: '什聘村', 469029100202: '469029100202' });
  });

  it('is searched by name, kind label and village name', () => {
    const targets = [branch, { target_id: 't3', kind: 'enterprise', name: '椰子加工厂', village: null }];
    const kindLabel = (kind) => ({ party_branch: '党支部', enterprise: '企业' })[kind];
    const names = villageNames(households);
    expect(searchTargets(targets, '企业', kindLabel, names).map((t) => t.target_id)).toEqual(['t3']);
    expect(searchTargets(targets, '什聘村', kindLabel, names).map((t) => t.target_id)).toEqual(['t1']);
    expect(searchTargets(targets, '  ', kindLabel, names)).toHaveLength(2);
  });
});
