// The import page's kinds of file (民情档案, 干部名册, 结对名单, and the contact targets page's 联系对象名录): where each is uploaded, its template,
// and the sentence its answer is summed up in. All or nothing on the server; here only the wording.
export const IMPORT_KINDS = {
  households: { upload: '/households/import', template: '/households/import/template', title: 'import_households' },
  cadres: { upload: '/cadres/import', template: '/cadres/import/template', title: 'import_cadres' },
  pairings: { upload: '/pairings/import', template: '/pairings/import/template', title: 'import_pairings' },
  targets: { upload: '/targets/import', template: '/targets/import/template', title: 'import_targets' },
};
// The people page imports these; the contact targets page imports its register.
export const PEOPLE_IMPORTS = ['households', 'cadres', 'pairings'];

export function importKind(kind) {
  const found = IMPORT_KINDS[kind];
  if (!found) throw new Error(`unknown import kind: ${kind}`);
  return found;
}

// The string key and its values for an accepted file: the household answer counts `households`, the
// cadre, pairing and target answers count `rows`.
export function importSummary(kind, result) {
  const rows = kind === 'households' ? result.households : result.rows;
  return [`import_done_${kind}`, { rows, applied: result.applied, duplicate: result.duplicate }];
}

// Uploads the chosen file to the kind's endpoint; a rejection (422) keeps its row report.
export async function uploadImport(api, kind, file) {
  try {
    return { result: await api.upload(importKind(kind).upload, file) };
  } catch (e) {
    if (!e.problem) throw e;
    return { rejected: { errors: e.problem.errors || [], error: e } };
  }
}
