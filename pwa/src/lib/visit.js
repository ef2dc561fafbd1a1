// What a check-in is made of on the phone: its subject (a household of the township, or a contact target
// of the county's register: GET /targets, cached for offline use), the CheckIn payload, and the days a stay
// (蹲点) records. The screens (../screens/checkin.jsx, targets.jsx) only gather the fields.
export const MAX_STAY_DAYS = 92; // services/domain/commands.py MAX_STAY_DAYS: a longer stay is a posting

/** A cached household as a check-in subject. */
export const householdSubject = (h, erased) => ({
  kind: 'household',
  id: h.id,
  title: h.head_name ?? erased,
  village: h.village,
  villageName: h.village_name || h.village,
  householdId: h.id,
});

/** A register target as a check-in subject; `names` maps village codes to names (from the cached households). */
export const targetSubject = (target, names = {}) => ({
  kind: target.kind,
  id: target.target_id,
  title: target.name,
  village: target.village,
  villageName: target.village ? names[target.village] || target.village : '',
  householdId: null,
});

/** Whole days 1 to 92 from the form's text, or null when it is not one. */
export function stayDays(text) {
  const days = Number(String(text ?? '').trim());
  return Number.isInteger(days) && days >= 1 && days <= MAX_STAY_DAYS ? days : null;
}

/** The CheckIn payload: `days` only for a stay (the server refuses it on any other kind). */
export function checkInPayload(subject, { kind, days = null, occurred_at, position = null, topics = [], note = '' }) {
  const payload = {
    target_kind: subject.kind,
    target_id: subject.id,
    kind,
    occurred_at,
    position,
    topics,
    note: String(note).trim(),
    companions: [],
  };
  if (kind === 'stay') payload.days = days;
  return payload;
}

/** Village code → name (the code when the county's map names none) of the cached households' villages: the
 * register names villages by code only, and a reception picks its village from these. */
export const villageNames = (households) =>
  Object.fromEntries(households.map((h) => [h.village, h.village_name || h.village]));

/** The targets whose name, kind label or village matches `query` (all when it is empty). */
export function searchTargets(targets, query, kindLabel = (k) => k, names = {}) {
  const q = query.trim().toLowerCase();
  if (!q) return targets;
  return targets.filter((t) =>
    [t.name, kindLabel(t.kind), t.village && names[t.village]].filter(Boolean).some((f) => String(f).toLowerCase().includes(q)),
  );
}
