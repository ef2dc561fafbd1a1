// The monthly review page's pure logic (./review.jsx) and the departments the routing forms pick from,
// apart so that Vitest reads it without JSX.
import { at } from './i18n.js';

/** `2026-03` → `2026-02` (and January → the December before). */
export function previousMonth(month) {
  const [year, m] = month.split('-').map(Number);
  return m === 1 ? `${year - 1}-12` : `${year}-${String(m - 1).padStart(2, '0')}`;
}

/** The months a pack can be asked for, newest first: this one and the `count - 1` before it. */
export function recentMonths(day, count = 12) {
  const months = [day.slice(0, 7)];
  while (months.length < count) months.push(previousMonth(months[months.length - 1]));
  return months;
}

/** What is wrong with a decision the form is about to send (the server says the same), or null. */
export function decisionProblem({ department, decision, deadline }, today) {
  if (!department) return at('decision_department_missing');
  if (!decision || !decision.trim()) return at('decision_text_missing');
  if (!deadline) return at('decision_deadline_missing');
  return deadline < today ? at('decision_deadline_past', { today }) : null;
}

/** A department's name from the county's list (`GET /departments`); free text or an unknown code as is. */
export const departmentName = (departments, key) => departments.find((d) => d.code === key)?.name ?? key ?? '';

/** The pack's agenda for the meeting: items still open first (overdue before open), then by when they
 * were raised; items with a decision after those waiting for one. */
export function meetingOrder(items) {
  const rank = { overdue: 0, open: 1, resolved: 2 };
  return [...items].sort(
    (a, b) =>
      (a.decisions?.length ? 1 : 0) - (b.decisions?.length ? 1 : 0) ||
      rank[a.status] - rank[b.status] ||
      String(a.occurred_at).localeCompare(String(b.occurred_at)),
  );
}
