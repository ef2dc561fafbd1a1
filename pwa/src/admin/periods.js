// Periods and the as-of slider: pure date arithmetic on ISO day strings (China time is the server's
// business; the slider only names days).
const pad = (n) => String(n).padStart(2, '0');
export const isoDay = (date) => `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
const parseDay = (day) => new Date(`${day}T00:00:00Z`);

/** The periods the API understands (`2026`, `2026-Q2`, `2026-05`) for one year, year first. */
export function periodOptions(year) {
  return [
    { value: String(year), kind: 'year', year },
    ...[1, 2, 3, 4].map((q) => ({ value: `${year}-Q${q}`, kind: 'quarter', year, q })),
    ...Array.from({ length: 12 }, (_, i) => ({ value: `${year}-${pad(i + 1)}`, kind: 'month', year, m: i + 1 })),
  ];
}

/** First and last day of a period value. */
export function periodRange(value) {
  let found = /^(\d{4})$/.exec(value);
  if (found) return [`${found[1]}-01-01`, `${found[1]}-12-31`];
  found = /^(\d{4})-Q([1-4])$/.exec(value);
  if (found) {
    const year = Number(found[1]);
    const first = (Number(found[2]) - 1) * 3;
    return [isoDay(new Date(Date.UTC(year, first, 1))), isoDay(new Date(Date.UTC(year, first + 3, 0)))];
  }
  found = /^(\d{4})-(\d{2})$/.exec(value);
  if (found) {
    const year = Number(found[1]);
    const month = Number(found[2]) - 1;
    return [isoDay(new Date(Date.UTC(year, month, 1))), isoDay(new Date(Date.UTC(year, month + 1, 0)))];
  }
  throw new Error(`not a period: ${value}`);
}

/**
 * The days the as-of slider steps through for a period: its first day to its last, but never past
 * `today` (the future has no answer yet). The last step of a current period is today itself.
 */
export function sliderDays(period, today) {
  const [first, last] = periodRange(period);
  const end = last < today ? last : today;
  const days = [];
  for (let day = parseDay(first); isoDay(day) <= end; day.setUTCDate(day.getUTCDate() + 1)) days.push(isoDay(day));
  return days.length ? days : [first];
}

// Coverage colours: pink for none visited, then five steps of 20 points up to dark green; no figure is grey.
export const RAMP = ['#f4d6d2', '#f6e3b4', '#d9ecb0', '#9fd49a', '#4fa865', '#1b7f3b'];
export function coverageColour(pct) {
  if (pct === null || pct === undefined) return '#c9c4c1';
  if (pct <= 0) return RAMP[0];
  return RAMP[Math.min(RAMP.length - 1, 1 + Math.floor((pct - 1e-9) / 20))];
}

// A household's point: visited this year, else its completeness status.
export const STATUS_COLOURS = { visited: '#1b7f3b', not_yet: '#8d8582', due: '#e0a100', overdue: '#c62828' };
export function householdState(household) {
  if (household.status === 'overdue') return 'overdue';
  if (household.status === 'due') return 'due';
  return household.visits_this_year > 0 ? 'visited' : 'not_yet';
}
