// The monthly review page's own logic: which months a pack is asked for, the decision check before
// sending, department names from the county's list, and the order the meeting takes its items in.
import { describe, expect, it } from 'vitest';
import { setLanguage } from '../src/i18n/language.js';

globalThis.localStorage ??= { getItem: () => null, setItem: () => {} };
globalThis.document ??= { documentElement: {} };
const { decisionProblem, departmentName, meetingOrder, previousMonth, recentMonths } = await import(
  '../src/admin/reviewing.js'
);

describe('monthly review page', () => {
  it('counts months back across a new year', () => {
    expect(previousMonth('2026-03')).toBe('2026-02');
    expect(previousMonth('2026-01')).toBe('2025-12');
    expect(recentMonths('2026-02-14', 4)).toEqual(['2026-02', '2026-01', '2025-12', '2025-11']);
  });

  it('refuses a decision without who, what or by when, or due before today', () => {
    setLanguage('zh-CN');
    const decision = { department: 'zhujian', decision: '两周内修缮', deadline: '2026-03-20' };
    expect(decisionProblem(decision, '2026-03-06')).toBeNull();
    expect(decisionProblem({ ...decision, department: '' }, '2026-03-06')).toBe('请选择责任部门。');
    expect(decisionProblem({ ...decision, decision: '   ' }, '2026-03-06')).toBe('请填写议定事项。');
    expect(decisionProblem({ ...decision, deadline: '2026-03-05' }, '2026-03-06')).toBe('办结期限不能早于今天（2026-03-06）。');
    setLanguage('en');
    expect(decisionProblem({ ...decision, deadline: '' }, '2026-03-06')).toBe('Give a deadline.');
  });

  it('names a department by its code and shows free text as it was recorded', () => {
    const departments = [{ code: 'zhujian', name: '县住建局' }];
    expect(departmentName(departments, 'zhujian')).toBe('县住建局');
    expect(departmentName(departments, '县民政局')).toBe('县民政局');
    expect(departmentName(departments, null)).toBe('');
  });

  it('takes the items waiting for a decision first, overdue before open, oldest first', () => {
    const items = [
      { issue_id: 'a', status: 'open', occurred_at: '2026-02-01', decisions: [] },
      { issue_id: 'b', status: 'overdue', occurred_at: '2026-02-10', decisions: [] },
      { issue_id: 'c', status: 'overdue', occurred_at: '2026-01-10', decisions: [{ decision: '已议定' }] },
      { issue_id: 'd', status: 'open', occurred_at: '2026-01-05', decisions: [] },
    ];
    expect(meetingOrder(items).map((i) => i.issue_id)).toEqual(['b', 'd', 'a', 'c']);
    expect(items[0].issue_id).toBe('a'); // the pack as given is left alone
  });
});
