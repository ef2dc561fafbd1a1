// Reception days: the schedule body the admin's form makes, how a schedule's day reads, and the
// RecordReception payload the admin page posts and the phone queues.
import { describe, expect, it } from 'vitest';
import { receiverOf, reviseBody, scheduleBody, scheduleWhen } from '../src/admin/receptions.js';
import { receptionPayload } from '../src/lib/reception.js';

const words = { schedule_monthly: 'monthly on the {day}', schedule_weekly: 'every {weekday}', weekday_0: 'Monday', weekday_6: 'Sunday' };
const at = (key, params = {}) => (words[key] ?? key).replace(/\{(\w+)\}/g, (_, name) => String(params[name]));

describe('reception schedules', () => {
  it('name a cadre or a whole rank, never both', () => {
    const fields = { place: ' 县委组织部接访室 ', village: '', cadence: 'monthly', day: '10', starts_on: '2026-01-01' };
    expect(scheduleBody({ ...fields, receiver: 'cadre:0f4c' })).toEqual({
      cadre_id: '0f4c', place: '县委组织部接访室', village: null, cadence: 'monthly', day: 10, starts_on: '2026-01-01',
    });
    const byRank = scheduleBody({ ...fields, receiver: 'rank:village_cadre', cadence: 'weekly', day: '1' });
    expect(byRank).toMatchObject({ rank: 'village_cadre', cadence: 'weekly', day: 1 });
    expect(byRank).not.toHaveProperty('cadre_id');
  });

  it('are revised in full from a day, against the version seen, the form starting from the schedule', () => {
    const schedule = { rank: 'section_chief', cadre_id: null, place: '联系点', cadence: 'monthly', day: 20 };
    expect(receiverOf(schedule)).toBe('rank:section_chief');
    expect(receiverOf({ ...schedule, rank: null, cadre_id: 'c9' })).toBe('cadre:c9');
    const fields = { receiver: receiverOf(schedule), place: ' 新联系点 ', cadence: 'weekly', day: '3', from_on: '2026-12-07' };
    expect(reviseBody(fields, 2)).toEqual({
      rank: 'section_chief', place: '新联系点', village: null, cadence: 'weekly', day: 3, from_on: '2026-12-07',
      expected_version: 2,
    });
  });

  it('read as a day of the month or an ISO weekday', () => {
    expect(scheduleWhen({ cadence: 'monthly', day: 20 }, at)).toBe('monthly on the 20');
    expect(scheduleWhen({ cadence: 'weekly', day: 1 }, at)).toBe('every Monday');
    expect(scheduleWhen({ cadence: 'weekly', day: 7 }, at)).toBe('every Sunday');
  });
});

describe('a reception recorded', () => {
  const when = '2026-11-20T01:00:00.000Z';

  it('raises the issue given, in the reception’s village', () => {
    const fields = { place: '什聘村联系点', village: '469029100201', residents: '12', category: 'road', summary: ' 村道破损 ' };
    expect(receptionPayload(fields, when)).toEqual({
      occurred_at: when, place: '什聘村联系点', village: '469029100201', residents: 12,
      issues: [{ category: 'road', summary: '村道破损' }],
    });
  });

  it('raises none without a summary, and names the receiver only when the admin picked one', () => {
    const phone = receptionPayload({ place: '接访室', residents: '', summary: '  ' }, when);
    expect(phone).toEqual({ occurred_at: when, place: '接访室', village: null, residents: 0, issues: [] });
    expect(receptionPayload({ place: '接访室', residents: '3', receiver_id: 'c1' }, when).receiver_id).toBe('c1');
  });
});
