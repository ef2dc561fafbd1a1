// The festival campaign page's own logic: the window check before sending, and where to send people first.
import { describe, expect, it } from 'vitest';
import { setLanguage } from '../src/i18n/language.js';

globalThis.localStorage ??= { getItem: () => null, setItem: () => {} };
globalThis.document ??= { documentElement: {} };
const { byRemaining, windowProblem } = await import('../src/admin/festivals.js');

describe('campaign page', () => {
  it('refuses a window that ends before it starts, naming the first day, and accepts one day', () => {
    setLanguage('zh-CN');
    expect(windowProblem('2027-02-10', '2027-02-01')).toBe('结束日期不能早于开始日期 2027-02-10。');
    expect(windowProblem('2027-02-10', '')).toBe('请填写开始和结束日期。');
    expect(windowProblem('2027-02-10', '2027-02-10')).toBeNull();
    setLanguage('en');
    expect(windowProblem('2027-02-10', '2027-02-09')).toContain('(2027-02-10)');
  });

  it('lists the places with the most households still to visit first', () => {
    const rows = [
      { village: '469029100002', remaining: 1 },
      { village: '469029100003', remaining: 4 },
      { village: '469029100001', remaining: 1 },
    ];
    expect(byRemaining(rows).map((r) => r.village)).toEqual(['469029100003', '469029100001', '469029100002']);
    expect(rows[0].village).toBe('469029100002'); // the rows as given are left alone
  });
});
