// Pure data shaping behind the views (tested in pwa/tests/admin.test.js).

export const ROUTES = ['on_the_spot', 'monthly_review', 'department', 'leadership'];
export const COLUMNS = ['none', ...ROUTES];

/** Issues into board columns by their current route ("none" when not routed yet). */
export function byRoute(items) {
  const columns = Object.fromEntries(COLUMNS.map((c) => [c, []]));
  for (const item of items) columns[item.route || 'none'].push(item);
  return columns;
}

const URGENCY = { overdue: 0, open: 1, resolved: 2 };
/** Board order: overdue first, then open, then resolved; newest first within each. */
export const byUrgency = (a, b) =>
  URGENCY[a.status] - URGENCY[b.status] || (a.occurred_at < b.occurred_at ? 1 : a.occurred_at > b.occurred_at ? -1 : 0);

/** The latest month (`YYYY-MM`) any county has figures for, or null: counties as /province/counties gives them. */
export const latestMonth = (counties) =>
  counties
    .flatMap((county) => county.months.map((row) => String(row.month).slice(0, 7)))
    .reduce((latest, month) => (latest && latest > month ? latest : month), null);

/** Twelve values for a year (January first) of one figure from a county's monthly rows. */
export function monthSeries(months, field, year) {
  const values = Array(12).fill(null);
  for (const row of months) {
    const [y, m] = String(row.month).split('-').map(Number);
    if (y === year) values[m - 1] = row[field];
  }
  return values;
}

/** Points of a polyline for `values` (nulls skipped) in a width × height box, min 0, max ≥ 1. */
export function sparkPoints(values, width, height, max = null) {
  const top = max ?? Math.max(1, ...values.filter((v) => v !== null && v !== undefined));
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  return values
    .map((value, i) => (value === null || value === undefined ? null : [i * step, height - (value / top) * height]))
    .filter(Boolean)
    .map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`)
    .join(' ');
}
