// The contact targets page's logic (联系对象 / 五个一): the register's kinds, the list query its filters
// make, the RegisterTarget and ReviseTarget bodies its form makes, and a 五个一 row's cells.
import { codes } from './vocab.js';

/** Every target kind but households: the kinds of the county's register (RegisterKind). */
export const REGISTER_KINDS = codes('target_kind').filter((kind) => kind !== 'household');

// The 五个一 in the order the API counts them (projections/targets.py FIVE_ONES).
export const FIVE_ONES = ['weak_branch', 'enterprise', 'talent', 'project', 'village'];

/** GET /targets parameters from the page's filters: `weak` only when asked for (false would list none). */
export function targetsQuery({ kind = '', township = '', weak = false, archived = false } = {}) {
  return { kind, township, weak: weak ? 'true' : '', state: archived ? 'archived' : '' };
}

const number = (text) => {
  const trimmed = String(text ?? '').trim();
  return trimmed === '' ? null : Number(trimmed);
};

/** A RegisterTarget body from the form's fields: an empty village and empty coordinates are null, and
 * only a Party branch carries the weak flag. */
export function targetBody(fields) {
  const kind = fields.kind;
  return {
    kind,
    name: String(fields.name ?? '').trim(),
    township: fields.township,
    village: fields.village || null,
    lat: number(fields.lat),
    lon: number(fields.lon),
    weak: kind === 'party_branch' && Boolean(fields.weak),
  };
}

/** A ReviseTarget body: the form's fields in full as for registering, without the kind (it stays; it
 * decides whether the weak flag may be set), at the version the list showed. */
export function reviseBody(target, fields) {
  const body = { ...targetBody({ ...fields, kind: target.kind }), expected_version: target.version };
  delete body.kind;
  return body;
}

/** A 五个一 row as its five counts (`null` when none: the cell is marked missing) and `covered` of 5. */
export function fiveOnesCells(row) {
  return { cells: FIVE_ONES.map((name) => (row[name] ? row[name] : null)), covered: row.covered };
}
