import { describe, expect, it } from 'vitest';
import { distanceMetres, orderDue, searchHouseholds } from '../src/lib/geo.js';
import zh from '../src/i18n/zh-CN.js';
import en from '../src/i18n/en.js';

const due = (id, status, lat, lon, due_date = '2026-12-31') => ({ household_id: id, status, lat, lon, due_date });

describe('Today ordering', () => {
  const here = { lat: 18.64, lon: 109.7 };
  it('puts overdue households first, then due ones, each nearest first', () => {
    const items = [
      due('far-due', 'due', 18.7, 109.7),
      due('near-overdue', 'overdue', 18.641, 109.7),
      due('near-due', 'due', 18.6401, 109.7),
      due('far-overdue', 'overdue', 18.8, 109.7),
    ];
    expect(orderDue(items, here).map((i) => i.household_id)).toEqual(['near-overdue', 'far-overdue', 'near-due', 'far-due']);
  });

  it('orders by due date when the phone does not know where it is', () => {
    const items = [due('late', 'due', 1, 1, '2026-12-31'), due('soon', 'due', 1, 1, '2026-12-01')];
    expect(orderDue(items, null).map((i) => i.household_id)).toEqual(['soon', 'late']);
  });

  it('measures about 111 km per degree of latitude', () => {
    expect(distanceMetres({ lat: 18, lon: 109 }, { lat: 19, lon: 109 })).toBeCloseTo(111_195, -2);
  });
});

describe('household search', () => {
  const households = [
    { id: 1, head_name: '王大山', village_name: '什玲村', tags: ['left_behind_child'] },
    { id: 2, head_name: '李小花', village_name: '加茂村', tags: [] },
    { id: 3, head_name: '王小河', village_name: '加茂村', tags: [], archived: true },
  ];
  const label = (tag) => ({ left_behind_child: '留守儿童' })[tag] || tag;
  it.each([
    ['王', [1]],
    ['加茂', [2]],
    ['留守', [1]],
    ['left_behind', [1]],
    ['', [1, 2]],
  ])('finds %j by name, village or tag and never an archived household', (query, ids) => {
    expect(searchHouseholds(households, query, label).map((h) => h.id)).toEqual(ids);
  });
});

describe('languages', () => {
  it('Chinese and English have the same keys and the same parameters', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(zh).sort());
    const params = (text) => (text.match(/\{\w+\}/g) || []).sort();
    for (const key of Object.keys(zh)) expect([key, params(en[key])]).toEqual([key, params(zh[key])]);
  });
});
