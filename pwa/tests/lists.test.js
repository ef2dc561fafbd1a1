import { describe, expect, it } from 'vitest';
import { chinaDay, distanceMetres, inCampaign, orderDue, searchHouseholds } from '../src/lib/geo.js';
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

  it('puts the households a festival campaign still has to visit first, during its window only', () => {
    const festival = { campaign_id: 'c1', festival: 'mid_autumn', starts_on: '2026-09-20', ends_on: '2026-10-08' };
    const items = [
      due('near-overdue', 'overdue', 18.641, 109.7),
      { ...due('far-campaign', 'due', 18.8, 109.7), campaign: festival },
      { ...due('near-campaign', 'due', 18.6401, 109.7), campaign: festival },
      due('near-due', 'due', 18.6402, 109.7),
    ];
    expect(orderDue(items, here, '2026-09-25').map((i) => i.household_id)).toEqual(
      ['near-campaign', 'far-campaign', 'near-overdue', 'near-due']);
    // A list cached before the window opened, or kept after it closed, orders as usual.
    for (const day of ['2026-09-19', '2026-10-09']) {
      expect(orderDue(items, here, day).map((i) => i.household_id)).toEqual(
        ['near-overdue', 'near-campaign', 'near-due', 'far-campaign']);
    }
    expect(inCampaign(items[1], '2026-10-08')).toBe(true);
    expect(inCampaign(items[0], '2026-10-08')).toBe(false);
  });

  it("knows the day in China's calendar", () => {
    expect(chinaDay(new Date('2026-09-30T16:30:00Z'))).toBe('2026-10-01');
    expect(chinaDay(new Date('2026-09-30T15:59:00Z'))).toBe('2026-09-30');
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
