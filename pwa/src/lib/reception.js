// A reception held (接访), as the RecordReception payload the phone queues and the admin page posts: who
// received (left out on the phone: the sender), when (device time), where, how many residents came and
// the issue raised, if any (it enters the issue ledger like a field issue, in the reception's village).
export const MAX_RESIDENTS = 1000;

const text = (value) => String(value ?? '').trim();

/** `fields`: the form's values; `occurred_at` an ISO instant. An empty summary raises no issue. */
export function receptionPayload(fields, occurred_at) {
  const summary = text(fields.summary);
  const payload = {
    occurred_at,
    place: text(fields.place),
    village: fields.village || null,
    residents: parseInt(fields.residents, 10) || 0,
    issues: summary ? [{ category: fields.category, summary }] : [],
  };
  if (fields.receiver_id) payload.receiver_id = fields.receiver_id;
  return payload;
}
