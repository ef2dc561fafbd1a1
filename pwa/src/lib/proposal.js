// A household missing from the records, proposed from the phone (新增农户申报): the form's fields as the
// outbox item POST /sync takes (`propose_household`), checked here first so that a cadre in a village
// without signal hears about a missing name now, not when the phone next syncs. The server checks again.
import { uuid } from './db.js';

export const MAX_SIZE = 30;

/** The villages the phone knows (from its cached households), by name, for the form's list. */
export function knownVillages(households) {
  const byCode = new Map();
  for (const h of households) {
    if (h.village && !byCode.has(h.village)) byCode.set(h.village, h.village_name || h.village);
  }
  return [...byCode].map(([code, name]) => ({ code, name })).sort((a, b) => a.name.localeCompare(b.name, 'zh'));
}

/**
 * The outbox item for a proposal, or `{ problems }` naming each missing or wrong field (i18n keys).
 * `fields`: head_name, phone, village, address, size, tags, notes; `fix`: the GPS position ({lat, lon}).
 */
export function proposalCommand(fields, fix, { id = uuid(), now = () => new Date(), villageName = '' } = {}) {
  const text = (name) => String(fields[name] ?? '').trim();
  const problems = [];
  const head_name = text('head_name');
  if (!head_name) problems.push('propose_need_name');
  const village = text('village');
  if (!/^\d{12}$/.test(village)) problems.push('propose_need_village');
  const address = text('address');
  if (!address) problems.push('propose_need_address');
  const size = Number(text('size'));
  if (!Number.isInteger(size) || size < 1 || size > MAX_SIZE) problems.push('propose_need_size');
  const phone = text('phone').replace(/[\s-]/g, '');
  if (phone && !/^\+?\d{5,20}$/.test(phone)) problems.push('propose_bad_phone');
  if (!fix) problems.push('propose_need_position');
  if (problems.length) return { problems };
  return {
    id,
    type: 'propose_household',
    label: `${head_name} · ${villageName || village}`,
    payload: {
      village,
      township: village.slice(0, 9), // a village's 12 digits begin with its township's 9
      address,
      lat: fix.lat,
      lon: fix.lon,
      size,
      tags: [...new Set(fields.tags || [])].sort(),
      head_name,
      phone: phone || null,
      notes: text('notes'),
      occurred_at: now().toISOString(),
    },
  };
}
