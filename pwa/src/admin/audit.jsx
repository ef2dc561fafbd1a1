// The county's audit log (who logged in, changed the rules or an account), newest first, a page at a
// time: what an organisation department is asked to show when something went wrong.
import { useState } from 'preact/hooks';
import { at } from './i18n.js';
import { label } from './vocab.js';
import { localTime, problem, useAdmin, useLive } from './context.js';

const PAGE = 50;

export function AuditLog({ refresh = 0 }) {
  const { api } = useAdmin();
  const [entries, setEntries] = useState(null);
  const [next, setNext] = useState(null);
  const [error, setError] = useState(null);
  const load = async (before = null) => {
    try {
      const answer = await api.get('/audit', { limit: PAGE, before });
      setEntries((now) => (before ? [...(now || []), ...answer.items] : answer.items));
      setNext(answer.next);
    } catch (e) {
      setError(problem(e));
    }
  };
  useLive([], () => load(), [refresh]);
  return (
    <section class="card" data-testid="audit">
      <h2>{at('audit_title')}</h2>
      {error && <p class="error">{error}</p>}
      {entries && (
        <table class="grid">
          <thead>
            <tr>
              <th>{at('audit_at')}</th>
              <th>{at('audit_action')}</th>
              <th>{at('username')}</th>
              <th>{at('audit_by')}</th>
              <th>{at('audit_address')}</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr>
                <td>{localTime(e.at)}</td>
                <td>{label('audit_action', e.action)}</td>
                <td>{e.username || '—'}</td>
                <td>{e.detail.by || '—'}</td>
                <td>{e.address || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && (
        <button type="button" onClick={() => load(next)}>
          {at('audit_more')}
        </button>
      )}
    </section>
  );
}
