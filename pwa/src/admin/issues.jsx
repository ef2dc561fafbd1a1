// The issue board: issues in columns by route (not yet routed, on the spot, monthly review,
// department, leadership), overdue ones highlighted; the monthly review agenda; the ledger by route.
// An issue's panel routes it (a department route needs a department and a deadline), resolves,
// replies, rates and reopens it. A department account sees only the issues routed to it (the API
// scopes every answer; the board just shows what it gets).
import { useEffect, useState } from 'preact/hooks';
import { everyPage } from './api.js';
import { at, pct } from './i18n.js';
import { codes, label } from './vocab.js';
import { localDay, localTime, problem, ready, today, useAdmin, useLive } from './context.js';
import { ExportButtons } from './compliance.jsx';
import { placeName, usePlaces } from './places.js';
import { COLUMNS, ROUTES, byRoute, byUrgency } from './shaping.js';
import { useDepartments } from './review.jsx';
import { departmentName } from './reviewing.js';

/** A route's label; an issue not routed yet sits in the column "none" (待分办). */
const routeLabel = (route) => (route && route !== 'none' ? label('issue_route', route) : at('route_none'));

const SATISFACTION = codes('satisfaction');

export function IssueBoard() {
  const { api, user } = useAdmin();
  const admin = user.roles.includes('county_admin');
  const [tab, setTab] = useState('board');
  const [items, setItems] = useState(null);
  const [selected, setSelected] = useState(null);
  const [error, setError] = useState(null);
  const load = async () => {
    try {
      setItems(await everyPage(api, '/issues', {}, 5000));
      ready('admin-issues');
    } catch (e) {
      setError(problem(e));
    }
  };
  useLive(['issues'], load, []);
  return (
    <div class={selected ? 'issues-view with-panel' : 'issues-view'}>
      <div class="tabs">
        <button class={tab === 'board' ? 'active' : ''} onClick={() => setTab('board')}>
          {at('issues_board')}
        </button>
        {admin && (
          <button class={tab === 'agenda' ? 'active' : ''} onClick={() => setTab('agenda')} data-testid="tab-agenda">
            {at('issues_agenda')}
          </button>
        )}
        <button class={tab === 'ledger' ? 'active' : ''} onClick={() => setTab('ledger')} data-testid="tab-ledger">
          {at('issues_ledger')}
        </button>
        <span class="spacer" />
        {!admin && user.department && (
          <b class="queue">{at('my_queue', { department: user.department_name || user.department })}</b>
        )}
        <ExportButtons path="/exports/issues" />
      </div>
      {error && <p class="error">{at('error', { detail: error })}</p>}
      <div class="issues-body">
        <div class="issues-main">
          {tab === 'board' && items && <Board items={items} onOpen={setSelected} admin={admin} />}
          {tab === 'agenda' && <Agenda onOpen={setSelected} />}
          {tab === 'ledger' && <Ledger />}
        </div>
        {selected && <IssuePanel id={selected} admin={admin} onClose={() => setSelected(null)} onChanged={load} />}
      </div>
    </div>
  );
}

function Board({ items, onOpen, admin }) {
  const places = usePlaces();
  const departments = useDepartments(); // names for codes (a department account gets none: codes stay)
  const columns = byRoute([...items].sort(byUrgency));
  const shown = admin ? COLUMNS : COLUMNS.filter((c) => columns[c].length || c === 'department');
  return (
    <div class="board" data-testid="board">
      {shown.map((column) => (
        <section class="column" data-testid={`column-${column}`}>
          <h2>
            {routeLabel(column)} <small>{columns[column].length}</small>
          </h2>
          {columns[column].length === 0 && <p class="hint">{at('board_empty')}</p>}
          {columns[column].map((issue) => (
            <button
              class={`issue-card ${issue.status}`}
              data-testid="issue-card"
              data-issue={issue.issue_id}
              onClick={() => onOpen(issue.issue_id)}
            >
              <span class={`pill ${issue.status === 'resolved' ? 'ok' : issue.status}`}>{label('issue_status', issue.status)}</span>
              <b>{issue.category}</b>
              <small>
                {placeName(places, issue.village)} · {localDay(issue.occurred_at)}
              </small>
              {issue.department && <small>{departmentName(departments, issue.department)}</small>}
              {issue.due_on && issue.status !== 'resolved' && (
                <small class={issue.status === 'overdue' ? 'error' : ''}>
                  {at('due_on')} {issue.due_on}
                </small>
              )}
              <small>{label('issue_state', issue.state)}</small>
            </button>
          ))}
        </section>
      ))}
    </div>
  );
}

function Agenda({ onOpen }) {
  const { api } = useAdmin();
  const places = usePlaces();
  const [agenda, setAgenda] = useState(null);
  const [error, setError] = useState(null);
  useLive(['issues'], () => api.get('/issues/agenda').then(setAgenda, (e) => setError(problem(e))), []);
  if (error) return <p class="error">{error}</p>;
  if (!agenda) return <p class="hint">{at('loading')}</p>;
  return (
    <section class="card" data-testid="agenda">
      <h2>{at('meeting_on', { date: agenda.meeting_on, last: agenda.last_meeting })}</h2>
      {agenda.items.length === 0 ? (
        <p class="hint">{at('agenda_empty')}</p>
      ) : (
        <ol class="agenda">
          {agenda.items.map((issue) => (
            <li>
              <button class="link" onClick={() => onOpen(issue.issue_id)}>
                {issue.category} · {placeName(places, issue.village)} · {localDay(issue.occurred_at)}
              </button>{' '}
              <span class={`pill ${issue.status === 'resolved' ? 'ok' : issue.status}`}>{label('issue_status', issue.status)}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function Ledger() {
  const { api } = useAdmin();
  const [rows, setRows] = useState(null);
  useLive(['issues'], () => api.get('/issues/ledger', { by: 'route' }).then((page) => setRows(page.items)), []);
  if (!rows) return <p class="hint">{at('loading')}</p>;
  return (
    <table class="grid card" data-testid="ledger">
      <thead>
        <tr>
          <th>{label('issue_route', 'department')}</th>
          <th>{at('total')}</th>
          <th>{at('open')}</th>
          <th>{at('overdue')}</th>
          <th>{at('resolved')}</th>
          <th>{at('mean_hours')}</th>
          <th>{at('satisfaction_pct')}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr class={row.overdue ? 'overdue' : ''}>
            <td>{routeLabel(row.key)}</td>
            <td>{row.total}</td>
            <td>{row.open}</td>
            <td>{row.overdue}</td>
            <td>{row.resolved}</td>
            <td>{row.mean_resolution_hours ?? '—'}</td>
            <td>{pct(row.satisfaction_pct)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function IssuePanel({ id, admin, onClose, onChanged }) {
  const { api } = useAdmin();
  const places = usePlaces();
  const departments = useDepartments();
  const [issue, setIssue] = useState(null);
  const [error, setError] = useState(null);
  const [note, setNote] = useState(null);
  const load = () => api.get(`/issues/${id}`).then(setIssue, (e) => setError(problem(e)));
  useEffect(() => {
    setIssue(null);
    setNote(null);
  }, [id]);
  useLive(['issues'], load, [id]); // someone else (a department) may act on it meanwhile

  const command = async (action, body) => {
    setError(null);
    try {
      await api.post(`/issues/${id}/${action}`, { ...body, expected_version: issue.version });
      setNote(at('done'));
      await load();
      onChanged();
    } catch (e) {
      setError(problem(e));
    }
  };
  const submit = (action, read) => (event) => {
    event.preventDefault();
    command(action, read(new FormData(event.currentTarget)));
  };

  if (!issue) return <aside class="issue-panel card">{error ? <p class="error">{error}</p> : at('loading')}</aside>;
  const closed = ['resolved', 'replied', 'rated'].includes(issue.state);
  return (
    <aside class="issue-panel card" data-testid="issue-panel">
      <h2>
        {issue.category} <button class="link" onClick={onClose}>{at('close')}</button>
      </h2>
      <dl>
        <dt>{at('summary')}</dt>
        <dd>{issue.erased ? at('household_erased') : issue.summary}</dd>
        <dt>{at('village')}</dt>
        <dd>{placeName(places, issue.village)}</dd>
        <dt>{at('raised_at')}</dt>
        <dd>{localTime(issue.occurred_at)}</dd>
        <dt>{at('status')}</dt>
        <dd data-testid="issue-state">{label('issue_state', issue.state)}</dd>
        <dt>{label('issue_route', 'department')}</dt>
        <dd>
          {routeLabel(issue.route)}
          {issue.department ? ` · ${departmentName(departments, issue.department)}` : ''}
          {issue.deadline ? ` · ${at('deadline')} ${issue.deadline}` : ''}
        </dd>
        {issue.resolution && (
          <>
            <dt>{at('resolution')}</dt>
            <dd>{issue.resolution}</dd>
          </>
        )}
        {issue.reply && (
          <>
            <dt>{at('reply')}</dt>
            <dd>{issue.reply}</dd>
          </>
        )}
        {issue.satisfaction && (
          <>
            <dt>{at('satisfaction')}</dt>
            <dd>{label('satisfaction', issue.satisfaction)}</dd>
          </>
        )}
      </dl>
      {error && <p class="error" data-testid="issue-error">{error}</p>}
      {note && <p class="hint ok">{note}</p>}
      {admin && !closed && <RouteForm onSubmit={submit} />}
      {!closed && (
        <form class="action" onSubmit={submit('resolve', (f) => ({ resolution: f.get('resolution') }))}>
          <label>
            {at('resolution')}
            <textarea name="resolution" required rows="2" />
          </label>
          <button data-testid="resolve">{at('action_resolve')}</button>
        </form>
      )}
      {closed && (
        <form class="action" onSubmit={submit('reply', (f) => ({ reply: f.get('reply') }))}>
          <label>
            {at('reply')}
            <textarea name="reply" required rows="2" />
          </label>
          <button data-testid="reply">{at('action_reply')}</button>
        </form>
      )}
      {admin && closed && (
        <form class="action" onSubmit={submit('rate', (f) => ({ satisfaction: f.get('satisfaction') }))}>
          <label>
            {at('satisfaction')}
            <select name="satisfaction">
              {SATISFACTION.map((s) => (
                <option value={s}>{label('satisfaction', s)}</option>
              ))}
            </select>
          </label>
          <button data-testid="rate">{at('action_rate')}</button>
        </form>
      )}
      {admin && closed && (
        <form class="action" onSubmit={submit('reopen', (f) => ({ reason: f.get('reason') }))}>
          <label>
            {at('reopen_reason')}
            <input name="reason" required />
          </label>
          <button data-testid="reopen">{at('action_reopen')}</button>
        </form>
      )}
    </aside>
  );
}

// Once the county lists its departments a route picks one (by code); before, the name is typed.
function RouteForm({ onSubmit }) {
  const [route, setRoute] = useState('department');
  const departments = useDepartments();
  const inTwoWeeks = new Date(Date.now() + 14 * 86400e3).toISOString().slice(0, 10);
  return (
    <form
      class="action"
      data-testid="route-form"
      onSubmit={onSubmit('route', (f) => ({
        route: f.get('route'),
        department: route === 'department' ? f.get('department') : null,
        deadline: route === 'department' ? f.get('deadline') : null,
      }))}
    >
      <label>
        {at('action_route')}
        <select name="route" value={route} onChange={(e) => setRoute(e.currentTarget.value)} data-testid="route-select">
          {ROUTES.map((r) => (
            <option value={r}>{label('issue_route', r)}</option>
          ))}
        </select>
      </label>
      {route === 'department' && (
        <>
          <label>
            {at('department')}
            {departments.length ? (
              <select name="department" required data-testid="route-department">
                {departments.map((d) => (
                  <option value={d.code}>{d.name}</option>
                ))}
              </select>
            ) : (
              <input name="department" required data-testid="route-department" />
            )}
          </label>
          <label>
            {at('deadline')}
            <input name="deadline" type="date" required min={today()} defaultValue={inTwoWeeks} data-testid="route-deadline" />
          </label>
        </>
      )}
      <button data-testid="route-submit">{at('action_route')}</button>
    </form>
  );
}
