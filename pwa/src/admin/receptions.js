// The reception days page's logic (接访日): the SetReceptionSchedule and ReviseReceptionSchedule bodies its
// forms make (one cadre or every cadre of a rank receives), and how a schedule's day reads.

/** A schedule's terms from its form: `receiver` is `cadre:<id>` or `rank:<code>`; `day` the day of the
 * month (monthly) or ISO weekday (weekly). */
function scheduleTerms(fields) {
  const [who, value] = String(fields.receiver || '').split(':');
  return {
    ...(who === 'rank' ? { rank: value } : { cadre_id: value || null }),
    place: String(fields.place ?? '').trim(),
    village: fields.village || null,
    cadence: fields.cadence,
    day: parseInt(fields.day, 10),
  };
}

/** A new schedule from `starts_on`. */
export const scheduleBody = (fields) => ({ ...scheduleTerms(fields), starts_on: fields.starts_on });

/** A schedule's new terms (in full) from `from_on` on, against the version the admin saw. */
export const reviseBody = (fields, version) => ({
  ...scheduleTerms(fields), from_on: fields.from_on, expected_version: version,
});

/** The receiver select's value for a schedule: `rank:<code>` or `cadre:<id>`. */
export const receiverOf = (schedule) => (schedule.rank ? `rank:${schedule.rank}` : `cadre:${schedule.cadre_id}`);

/** When a schedule receives, in the page's words (`at`, ./i18n.js): "每月10日", "每周周三". */
export function scheduleWhen({ cadence, day }, at) {
  // The rules page's weekday_0 is Monday; a schedule's weekday is ISO, 1 (Monday) to 7.
  return cadence === 'weekly' ? at('schedule_weekly', { weekday: at(`weekday_${day - 1}`) }) : at('schedule_monthly', { day });
}
