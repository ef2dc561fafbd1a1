// Geodesic helpers for sorting by distance (the server judges verification with geopy; this is only
// for ordering a list, so a haversine is plenty).
export function distanceMetres(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(h));
}

/** A day as YYYY-MM-DD in China's calendar (every window and due date the server sends is one). */
export function chinaDay(moment = new Date()) {
  return new Date(moment.getTime() + 8 * 3600 * 1000).toISOString().slice(0, 10);
}

/** Whether a festival campaign that still has to visit the household runs on `day` (the phone may have
 * cached the list before the window opened or keep it after it closed). */
export function inCampaign(item, day = chinaDay()) {
  const c = item.campaign;
  return Boolean(c) && c.starts_on <= day && day <= c.ends_on;
}

/** During a festival campaign its households first; then overdue, then due; within each, nearest first
 * when we know where we stand, else by due date. */
export function orderDue(items, here, day = chinaDay()) {
  const rank = (item) => (inCampaign(item, day) ? 0 : item.status === 'overdue' ? 1 : 2);
  const dist = (item) =>
    here && item.lat != null && item.lon != null ? distanceMetres(here, item) : Number.POSITIVE_INFINITY;
  return [...items].sort(
    (a, b) => rank(a) - rank(b) || dist(a) - dist(b) || String(a.due_date).localeCompare(String(b.due_date)),
  );
}

export function formatDistance(m) {
  if (!Number.isFinite(m)) return '';
  return m < 1000 ? `${Math.round(m)} m` : `${(m / 1000).toFixed(1)} km`;
}

/** Search cached households by head name, village name, address or tag label. */
export function searchHouseholds(households, query, tagLabel = (t) => t) {
  const q = query.trim().toLowerCase();
  const live = households.filter((h) => !h.archived);
  if (!q) return live;
  return live.filter((h) =>
    [h.head_name, h.village_name, h.address, ...(h.tags || []), ...(h.tags || []).map(tagLabel)]
      .filter(Boolean)
      .some((field) => String(field).toLowerCase().includes(q)),
  );
}
