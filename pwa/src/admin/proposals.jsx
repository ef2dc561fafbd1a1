// Households proposed by cadres from the phone, pending the office's decision: confirm, merge into a
// household on record, or refuse with a reason (services/api/proposals.py).
import { useState } from 'preact/hooks';
import { at } from './i18n.js';
import { label } from './vocab.js';
import { localTime, problem, useAdmin, useLive } from './context.js';
import { usePlaces, villageLabel } from './places.js';
import { decide } from './proposals.js';

export function Proposals() {
  const { api } = useAdmin();
  const places = usePlaces();
  const [items, setItems] = useState(null);
  const [error, setError] = useState(null);
  const [note, setNote] = useState(null);
  const load = () => api.get('/proposals', { state: 'pending', limit: 100 }).then((page) => setItems(page.items),
    (e) => setError(problem(e)));
  useLive(['proposals'], load, []);
  const act = async (proposal, decision, form) => {
    const f = form ? new FormData(form) : new FormData();
    try {
      await decide(api, proposal, decision, { household_id: f.get('household_id') || '', reason: f.get('reason') || '' });
      setNote(at(`proposal_${decision}_done`));
      setError(null);
      load();
    } catch (e) {
      setError(e.status ? problem(e) : at(`proposal_${decision}_needs`));
    }
  };
  return (
    <section class="card" data-testid="proposals">
      <h2>{at('proposals')}</h2>
      <p class="hint">{at('proposals_hint')}</p>
      {error && <p class="error">{error}</p>}
      {note && <p class="hint ok">{note}</p>}
      {items && items.length === 0 && <p class="hint">{at('proposals_none')}</p>}
      {items && items.length > 0 && (
        <table class="grid">
          <thead>
            <tr>
              <th>{at('head_name')}</th>
              <th>{at('phone')}</th>
              <th>{at('village')}</th>
              <th>{at('address')}</th>
              <th>{at('household_size')}</th>
              <th>{at('tags')}</th>
              <th>{at('proposed_at')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((p) => (
              <tr data-testid="proposal-row">
                <td>{p.head_name ?? '—'}</td>
                <td>{p.phone ?? '—'}</td>
                <td>{villageLabel(places, p.village)}</td>
                <td>{p.address ?? '—'}</td>
                <td>{p.size}</td>
                <td>{p.tags.map((tag) => label('household_tag', tag)).join('、')}</td>
                <td>{localTime(p.proposed_at)}</td>
                <td>
                  <button type="button" onClick={() => act(p, 'confirm')}>{at('proposal_confirm')}</button>
                  <form class="inline" onSubmit={(e) => (e.preventDefault(), act(p, 'merge', e.currentTarget))}>
                    <input name="household_id" placeholder={at('proposal_household_number')} />
                    <button>{at('proposal_merge')}</button>
                  </form>
                  <form class="inline" onSubmit={(e) => (e.preventDefault(), act(p, 'refuse', e.currentTarget))}>
                    <input name="reason" placeholder={at('proposal_reason')} maxLength={200} />
                    <button>{at('proposal_refuse')}</button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
