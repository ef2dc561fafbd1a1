// The office's decision on a household a cadre proposed from the phone: confirm (register it), merge
// (into a household on record, by its number) or refuse (with a reason). Checked here so that a blank
// reason or a malformed number never leaves the page; the server checks again and audits each.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const DECISIONS = ['confirm', 'merge', 'refuse'];

/** The POST for a decision: `[path, body]`, or throws naming what is missing. */
export function decisionRequest(proposal, decision, { household_id = '', reason = '' } = {}) {
  const body = { expected_version: proposal.version };
  if (decision === 'merge') {
    const id = household_id.trim();
    if (!UUID.test(id)) throw new Error('merge needs the number of a household on record');
    body.household_id = id;
  } else if (decision === 'refuse') {
    if (!reason.trim()) throw new Error('refusing needs a reason');
    body.reason = reason.trim();
  } else if (decision !== 'confirm') {
    throw new Error(`unknown decision: ${decision}`);
  }
  return [`/proposals/${proposal.proposal_id}/${decision}`, body];
}

export function decide(api, proposal, decision, details) {
  const [path, body] = decisionRequest(proposal, decision, details);
  return api.post(path, body);
}
