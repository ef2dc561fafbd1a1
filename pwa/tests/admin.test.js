// The admin views' pure logic: periods and the as-of slider, colours, HTTP helpers, the SSE parser,
// board columns, province series, sparkline points and the string tables.
import { describe, expect, it, vi } from 'vitest';
import { coverageColour, householdState, periodOptions, periodRange, RAMP, sliderDays } from '../src/admin/periods.js';
import { createAdminApi, dispositionName, everyPage, followChanges, queryString, sseParser } from '../src/admin/api.js';
import { byRoute, byUrgency, latestMonth, monthSeries, sparkPoints } from '../src/admin/shaping.js';
import { KEYS } from '../src/admin/i18n.js';

describe('periods', () => {
  it('offers the year, its quarters and its months in the API’s spelling', () => {
    const values = periodOptions(2026).map((o) => o.value);
    expect(values.slice(0, 6)).toEqual(['2026', '2026-Q1', '2026-Q2', '2026-Q3', '2026-Q4', '2026-01']);
    expect(values).toHaveLength(17);
  });

  it('knows the first and last day of each period, leap years included', () => {
    expect(periodRange('2028-02')).toEqual(['2028-02-01', '2028-02-29']);
    expect(periodRange('2026-Q4')).toEqual(['2026-10-01', '2026-12-31']);
    expect(periodRange('2026')).toEqual(['2026-01-01', '2026-12-31']);
    expect(() => periodRange('2026-13-01')).toThrow();
  });

  it('steps the slider through the period but never past today', () => {
    const days = sliderDays('2026', '2026-03-02');
    expect(days[0]).toBe('2026-01-01');
    expect(days.at(-1)).toBe('2026-03-02');
    expect(days).toHaveLength(31 + 28 + 2);
    expect(sliderDays('2025-12', '2026-03-02')).toHaveLength(31);
    expect(sliderDays('2027', '2026-03-02')).toEqual(['2027-01-01']); // a future period: its first day only
  });
});

describe('colours', () => {
  it('runs the coverage ramp from the lightest to the darkest and greys out a missing figure', () => {
    expect(coverageColour(0)).toBe(RAMP[0]);
    expect(coverageColour(100)).toBe(RAMP.at(-1));
    expect(coverageColour(50)).toBe(RAMP[3]);
    expect(coverageColour(20)).toBe(RAMP[1]);
    expect(coverageColour(0.1)).toBe(RAMP[1]);
    expect(coverageColour(null)).toBe('#c9c4c1');
  });

  it('shows a household visited this year unless it is due or overdue', () => {
    expect(householdState({ status: 'ok', visits_this_year: 1 })).toBe('visited');
    expect(householdState({ status: 'ok', visits_this_year: 0 })).toBe('not_yet');
    expect(householdState({ status: 'overdue', visits_this_year: 0 })).toBe('overdue');
    expect(householdState({ status: 'due', visits_this_year: 1 })).toBe('due');
  });
});

describe('http helpers', () => {
  it('builds query strings without empty values and repeats list keys', () => {
    expect(queryString({ a: 1, b: '', c: null, d: undefined, e: ['x', 'y'] })).toBe('?a=1&e=x&e=y');
    expect(queryString({})).toBe('');
    expect(queryString({ village: '930001002001', as_of: '2026-03-01' })).toBe('?village=930001002001&as_of=2026-03-01');
  });

  it('reads the RFC 5987 file name first', () => {
    const header = `attachment; filename="ledger.xlsx"; filename*=UTF-8''${encodeURIComponent('问题台账-测试县.xlsx')}`;
    expect(dispositionName(header, 'x')).toBe('问题台账-测试县.xlsx');
    expect(dispositionName('attachment; filename="a.csv"', 'x')).toBe('a.csv');
    expect(dispositionName(null, 'fallback.xlsx')).toBe('fallback.xlsx');
  });

  it('sends the bearer token and turns a problem+json answer into an error with its detail', async () => {
    const fetchImpl = vi.fn(async () => new Response(JSON.stringify({ detail: 'no', detail_zh: '不行' }), { status: 403 }));
    const onUnauthorized = vi.fn();
    const api = createAdminApi({ getToken: () => 'tok', fetchImpl, onUnauthorized });
    await expect(api.get('/coverage', { level: 'county' })).rejects.toMatchObject({ status: 403, problem: { detail_zh: '不行' } });
    expect(fetchImpl.mock.calls[0][0]).toBe('/api/v1/coverage?level=county');
    expect(fetchImpl.mock.calls[0][1].headers.Authorization).toBe('Bearer tok');
    expect(onUnauthorized).not.toHaveBeenCalled();
  });

  it('forgets the session on a 401', async () => {
    const onUnauthorized = vi.fn();
    const api = createAdminApi({ getToken: () => 'old', fetchImpl: async () => new Response('{}', { status: 401 }), onUnauthorized });
    await expect(api.get('/me')).rejects.toMatchObject({ status: 401 });
    expect(onUnauthorized).toHaveBeenCalledOnce();
  });

  it('follows a keyset list page by page until it has no next, or up to the cap', async () => {
    const pages = { '': { items: [1, 2], next: 'b' }, b: { items: [3, 4], next: 'd' }, d: { items: [5], next: null } };
    const fetchImpl = vi.fn(async (url) => {
      const after = new URL(url, 'http://x').searchParams.get('after') ?? '';
      return new Response(JSON.stringify(pages[after]), { status: 200, headers: { 'Content-Type': 'application/json' } });
    });
    const api = createAdminApi({ getToken: () => 'tok', fetchImpl });
    expect(await everyPage(api, '/province/counties', { year: 2026 }, Infinity)).toEqual([1, 2, 3, 4, 5]);
    expect(fetchImpl.mock.calls.map(([url]) => url)).toEqual([
      '/api/v1/province/counties?year=2026&limit=500',
      '/api/v1/province/counties?year=2026&after=b&limit=500',
      '/api/v1/province/counties?year=2026&after=d&limit=500',
    ]);
    expect(await everyPage(api, '/issues', {}, 3)).toEqual([1, 2, 3, 4]); // stops once it holds the cap
  });
});

describe('server-sent events', () => {
  it('parses events split anywhere across chunks and skips comments and retry lines', () => {
    const seen = [];
    const feed = sseParser((event) => seen.push(event));
    const text = 'retry: 3000\nevent: ready\nid: 4\ndata: {"position": 4}\n\n: heartbeat\n\nevent: changed\r\nid: 9\r\ndata: {"projections": ["coverage"]}\r\n\r\n';
    for (let i = 0; i < text.length; i += 7) feed(text.slice(i, i + 7));
    expect(seen).toEqual([
      { event: 'ready', id: '4', data: '{"position": 4}' },
      { event: 'changed', id: '9', data: '{"projections": ["coverage"]}' },
    ]);
  });

  it('joins multi-line data and waits for the blank line that ends an event', () => {
    const seen = [];
    const feed = sseParser((event) => seen.push(event));
    feed('data: a\ndata: b\n');
    expect(seen).toEqual([]);
    feed('\n');
    expect(seen).toEqual([{ event: 'message', id: null, data: 'a\nb' }]);
  });
});

describe('following changes', () => {
  it('reports changed projections from a stream it reads with the bearer token, then reconnects with the last id', async () => {
    const bodies = ['event: ready\nid: 3\ndata: {"position": 3}\n\nevent: changed\nid: 5\ndata: {"projections": ["coverage", "issues"], "position": 5}\n\n'];
    const calls = [];
    const fetchImpl = async (url, init) => {
      calls.push([url, { ...init.headers }]);
      const text = bodies.shift();
      if (text === undefined) return new Promise(() => {}); // the second connection stays open
      return new Response(new Blob([text]).stream(), { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
    };
    const api = createAdminApi({ getToken: () => 'tok', fetchImpl });
    const changed = [];
    const states = [];
    const stop = followChanges(api, (projections) => changed.push(projections), { retryMs: 5, onState: (s) => states.push(s) });
    await vi.waitFor(() => expect(calls).toHaveLength(2));
    stop();
    expect(changed).toEqual([['coverage', 'issues']]);
    expect(states.slice(0, 2)).toEqual([true, false]);
    expect(calls[0][0]).toBe('/api/v1/events/stream');
    expect(calls[0][1].Authorization).toBe('Bearer tok');
    expect(calls[1][1]['Last-Event-ID']).toBe('5');
  });
});

describe('shaping', () => {
  it('puts issues in the column of their current route, unrouted ones first', () => {
    const columns = byRoute([{ route: null, id: 1 }, { route: 'department', id: 2 }, { route: 'department', id: 3 }]);
    expect(Object.keys(columns)).toEqual(['none', 'on_the_spot', 'monthly_review', 'department', 'leadership']);
    expect(columns.none.map((i) => i.id)).toEqual([1]);
    expect(columns.department.map((i) => i.id)).toEqual([2, 3]);
    expect(columns.leadership).toEqual([]);
  });

  it('orders cards overdue first, then open, then resolved, newest first within each', () => {
    const items = [
      { id: 'r', status: 'resolved', occurred_at: '2026-11-20T00:00:00Z' },
      { id: 'o1', status: 'open', occurred_at: '2026-10-01T00:00:00Z' },
      { id: 'late', status: 'overdue', occurred_at: '2026-01-01T00:00:00Z' },
      { id: 'o2', status: 'open', occurred_at: '2026-11-01T00:00:00Z' },
    ];
    expect(items.toSorted(byUrgency).map((i) => i.id)).toEqual(['late', 'o2', 'o1', 'r']);
  });

  it('lays a county’s monthly rows on twelve months, gaps as null', () => {
    const months = [{ month: '2026-02-01', coverage_pct: 25 }, { month: '2026-11-01', coverage_pct: 65 }, { month: '2025-11-01', coverage_pct: 1 }];
    const values = monthSeries(months, 'coverage_pct', 2026);
    expect(values[1]).toBe(25);
    expect(values[10]).toBe(65);
    expect(values.filter((v) => v !== null)).toHaveLength(2);
  });

  it('finds the latest month any county has figures for', () => {
    const counties = [
      { adcode: '930001', months: [{ month: '2026-10-01' }, { month: '2026-11-01' }] },
      { adcode: '930009', months: [{ month: '2025-12-01' }] },
      { adcode: '930010', months: [] },
    ];
    expect(latestMonth(counties)).toBe('2026-11');
    expect(latestMonth([{ adcode: '930010', months: [] }])).toBeNull();
    expect(latestMonth([])).toBeNull();
  });

  it('scales sparkline points to the box and skips missing values', () => {
    expect(sparkPoints([0, null, 100], 100, 20, 100)).toBe('0.0,20.0 100.0,0.0');
    expect(sparkPoints([2, 4], 10, 10)).toBe('0.0,5.0 10.0,0.0');
    expect(sparkPoints([null, null], 10, 10)).toBe('');
  });
});

it('has every admin string in Chinese and English', () => {
  expect(KEYS.en.toSorted()).toEqual(KEYS.zh.toSorted());
});
