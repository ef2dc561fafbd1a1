// Research topics (调研课题): assign one to a cadre or a team with a due date, follow every topic's state
// (open, overdue, reported) with its reports, and export the research ledger (调研台账).
import { useState } from 'preact/hooks';
import { at } from './i18n.js';
import { problem, ready, today, useAdmin, useLive } from './context.js';
import { ExportButtons } from './compliance.jsx';

const STATES = ['open', 'overdue', 'reported'];

export function Research() {
  const { api } = useAdmin();
  const [state, setState] = useState('');
  const [page, setPage] = useState(null);
  const [note, setNote] = useState(null);
  const [error, setError] = useState(null);
  useLive(
    ['research'],
    async () => {
      try {
        setPage(await api.get('/research-topics', { limit: 100, ...(state ? { state } : {}) }));
        setError(null);
        ready('admin-research');
      } catch (e) {
        setError(problem(e));
      }
    },
    [state],
  );
  const more = async () => {
    try {
      const next = await api.get('/research-topics', { limit: 100, after: page.next, ...(state ? { state } : {}) });
      setPage({ ...next, items: [...page.items, ...next.items] });
    } catch (e) {
      setError(problem(e));
    }
  };
  if (error) return <p class="error">{at('error', { detail: error })}</p>;
  if (!page) return <p>{at('loading')}</p>;
  return (
    <section class="card">
      <NewTopic done={setNote} />
      {note && <p class="hint ok">{note}</p>}
      <div class="filters">
        <label>
          {at('research_state')}
          <select value={state} onChange={(e) => setState(e.currentTarget.value)} data-testid="research-state">
            <option value="">{at('research_state_all')}</option>
            {STATES.map((s) => <option value={s}>{at(`research_state_${s}`)}</option>)}
          </select>
        </label>
        <ExportButtons path="/exports/research" />
      </div>
      {page.items.length === 0 ? (
        <p class="empty">{at('research_none')}</p>
      ) : (
        <table class="grid" data-testid="research-topics">
          <thead>
            <tr>
              <th>{at('research_title')}</th><th>{at('research_assignees')}</th><th>{at('research_due')}</th>
              <th>{at('research_state')}</th><th>{at('research_reports')}</th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((t) => (
              <tr data-testid={`research-${t.topic_id}`} class={t.state === 'overdue' ? 'overdue' : ''}>
                <td>{t.title}</td>
                <td>{t.assignees.map((a) => a.name || a.cadre_id.slice(0, 8)).join('、')}</td>
                <td>{t.due_on}</td>
                <td>{at(`research_state_${t.state}`)}</td>
                <td>{t.reports}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page.next && <button onClick={more}>{at('more')}</button>}
    </section>
  );
}

function NewTopic({ done }) {
  const { api } = useAdmin();
  const [open, setOpen] = useState(false);
  const [cadres, setCadres] = useState([]);
  const [error, setError] = useState(null);
  useLive([], async () => {
    if (open) setCadres((await api.get('/cadres').catch(() => ({ cadres: [] }))).cadres);
  }, [open]);
  if (!open) {
    return <button type="button" onClick={() => setOpen(true)} data-testid="new-topic">{at('new_topic')}</button>;
  }
  const submit = async (event) => {
    event.preventDefault();
    const f = new FormData(event.currentTarget);
    try {
      await api.post('/research-topics', {
        title: f.get('title'), description: f.get('description'), assignee_ids: f.getAll('assignee_ids'),
        due_on: f.get('due_on'),
      });
      setError(null);
      setOpen(false);
      done(at('topic_assigned'));
    } catch (e) {
      setError(problem(e));
    }
  };
  return (
    <form class="filters" onSubmit={submit} data-testid="topic-form">
      <label>{at('research_title')}<input name="title" required maxLength={100} /></label>
      <label>{at('research_description')}<input name="description" maxLength={500} /></label>
      <label>{at('research_due')}<input name="due_on" type="date" required defaultValue={today()} /></label>
      <label>
        {at('research_assignees')}
        <select name="assignee_ids" multiple required size={Math.min(6, Math.max(2, cadres.length))}
          data-testid="topic-assignees">
          {cadres.map((c) => <option value={c.id}>{c.name}（{c.unit}）</option>)}
        </select>
      </label>
      <button class="primary-inline">{at('assign_topic')}</button>
      <button type="button" class="link" onClick={() => setOpen(false)}>{at('cancel')}</button>
      {error && <p class="error" data-testid="topic-error">{error}</p>}
    </form>
  );
}
