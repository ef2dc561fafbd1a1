// A household's personal data from the admin's household view: erase it (PIPL art. 47) after a
// confirmation with a reason, or download all of it decoded (art. 45). The server does the work and
// writes both to the audit log; the reason goes there too, so it should name no one.

export const erasurePath = (householdId) => `/households/${householdId}/personal-data`;
export const exportPath = (householdId) => `/households/${householdId}/export`;

/** The reason as sent: trimmed, or null when blank (the server refuses a blank reason with 422 too). */
export function erasureReason(text) {
  const reason = String(text ?? '').trim();
  return reason || null;
}

/**
 * Erases a household's personal data once the admin confirmed with a reason; answers the server's
 * `{household_id, erased, already_erased}`. A blank reason never reaches the server.
 */
export async function eraseHousehold(api, householdId, text) {
  const reason = erasureReason(text);
  if (!reason) throw new Error('a reason is required');
  return api.del(erasurePath(householdId), { reason });
}

/** The i18n key of the note shown after an erasure: a repeat says it was erased already. */
export const erasedNoteKey = (answer) => (answer?.already_erased ? 'already_erased_note' : 'erased_note');

/** Downloads the household's data as an XLSX workbook (the server names the file). */
export const downloadHousehold = (api, householdId) =>
  api.download(exportPath(householdId), { format: 'xlsx' }, `household-${householdId}.xlsx`);
