// Pure logic behind the visit audit, the work log and the quota shortfall table (tested in
// pwa/tests/visits.test.js): the query a set of filters asks, the void a reason sends, and the cells
// a cadre's quota figures fill.

export const VERDICTS = ['verified', 'unverified', 'voided'];
// The reasons stored with a verdict, that GET /visits/audit filters by (projections/verdicts.py STORED_REASONS).
export const REASONS = ['no_position', 'mocked', 'poor_accuracy', 'too_far', 'no_household_location', 'backdated', 'future'];
// A visit not yet voided has only its check-in: voiding is the one change it takes.
export const UNVOIDED_VISIT_VERSION = 1;
export const REASON_MAX = 200; // the server's limit on a void's reason (services/domain/commands.py `Reason`)
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The audit list's query parameters from its filters (only those set), or `{ error }` with an i18n key
 * when the days cannot be asked: a malformed day, or a last day before the first. */
export function auditQuery(filters) {
  const params = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== '' && v != null));
  for (const name of ['occurred_from', 'occurred_to']) {
    if (params[name] && !DAY.test(params[name])) return { error: 'audit_bad_day' };
  }
  if (params.occurred_from && params.occurred_to && params.occurred_to < params.occurred_from) {
    return { error: 'audit_days_reversed' };
  }
  return { params };
}

/** The body that voids a visit, or `{ error }` (an i18n key) when the reason is blank or too long. */
export function voidBody(reason) {
  const text = (reason || '').trim();
  if (!text) return { error: 'void_reason_required' };
  if (text.length > REASON_MAX) return { error: 'void_reason_too_long' };
  return { body: { reason: text, expected_version: UNVOIDED_VISIT_VERSION } };
}

/** What a row's reasons say, as i18n keys with their figures (distance, accuracy, speed). */
export function reasonKeys(row) {
  const figures = {
    too_far: { m: Math.round(row.distance_m ?? 0) },
    poor_accuracy: { m: Math.round(row.accuracy_m ?? 0) },
    impossible_travel: { kmh: row.travel_kmh ?? '∞' },
    voided: { reason: row.void_reason || '' },
  };
  return (row.reasons || []).map((reason) => [`reason_${reason}`, figures[reason] || {}]);
}

/** One cadre's quota figures as table cells: `short/required` per rule (null where the county has no
 * such rule) and the 五个一 kinds still missing. */
export function quotaCells(row) {
  const rules = Object.fromEntries((row.quotas || []).map((q) => [q.rule, q]));
  const cell = (q) => (q ? { short: q.short_by, required: q.required, actual: q.actual, met: q.met } : null);
  return {
    hardship: cell(rules.hardship_households),
    byRank: cell(rules.households_by_rank),
    missing: rules.five_contacts?.missing ?? [],
    shortfall: row.shortfall,
  };
}
