// The visit audit (走访核查): every check-in newest first with its verdict and the reasons behind it,
// filtered by cadre, village, verdict, kind and days; voiding a false one (a reason is required, and
// the admin confirms); and a cadre's work log (民情日记) with their notes, opened from the list.
import { useState } from 'preact/hooks';
import { at } from './i18n.js';
import { codes, label } from './vocab.js';
import { localTime, problem, ready, useAdmin, useLive } from './context.js';
import { placeName, usePlaces, villageLabel } from './places.js';
import { auditQuery, reasonKeys, REASON_MAX, REASONS, VERDICTS, voidBody } from './visits.js';

const PAGE = 50;
const KINDS = codes('visit_kind');
const EMPTY = { cadre_id: '', village: '', verdict: '', reason: '', kind: '', occurred_from: '', occurred_to: '' };

/** A keyset list (`next` → `after`) a page at a time: `{ items, next, error, more }`, reloaded when `deps`
 * or the verdicts read model change; `view` marks the page ready (tests wait for it) once loaded. */
function usePaged(path, params, deps, view = null) {
  const { api } = useAdmin();
  const [state, setState] = useState({ items: null, next: null, error: null });
  const load = async (after) => {
    if (!path) return;
    try {
      const page = await api.get(path, { ...params, limit: PAGE, after });
      setState((now) => ({ items: after ? [...(now.items || []), ...page.items] : page.items, next: page.next, error: null }));
      if (view) ready(view);
    } catch (e) {
      setState((now) => ({ ...now, error: problem(e) }));
    }
  };
  useLive(['verdicts'], () => load(null), deps);
  return { ...state, more: () => load(state.next) };
}

const Verdict = ({ value }) => (
  <span class={`pill ${value === 'verified' ? 'ok' : value === 'voided' ? 'due' : 'overdue'}`}>{at(`verdict_${value}`)}</span>
);
const Reasons = ({ row }) => reasonKeys(row).map(([key, figures]) => at(key, figures)).join('；') || '—';

export function VisitAudit() {
  const { api } = useAdmin();
  const places = usePlaces();
  const [cadres, setCadres] = useState([]);
  const [filters, setFilters] = useState(EMPTY);
  const [log, setLog] = useState(null); // the cadre whose work log is open
  const [note, setNote] = useState(null);
  useLive([], async () => setCadres((await api.get('/cadres').catch(() => ({ cadres: [] }))).cadres), []);
  const asked = auditQuery(filters);
  const list = usePaged(asked.error ? null : '/visits/audit', asked.params, Object.values(filters), 'admin-visits');
  const names = Object.fromEntries(cadres.map((c) => [c.id, c.name]));
  const villages = Object.keys(places.names).filter((code) => code.length === 12).sort();
  const set = (name) => (e) => setFilters({ ...filters, [name]: e.currentTarget.value });
  return (
    <div>
      <section class="card">
        <h2>{at('visit_audit_title')}</h2>
        <div class="filters">
          <label>
            {at('filter_cadre')}
            <select value={filters.cadre_id} onChange={set('cadre_id')} data-testid="audit-filter-cadre">
              <option value="">{at('all')}</option>
              {cadres.map((c) => (
                <option value={c.id}>{c.township ? `${c.name}（${placeName(places, c.township)}）` : c.name}</option>
              ))}
            </select>
          </label>
          <label>
            {at('filter_village')}
            <select value={filters.village} onChange={set('village')} data-testid="audit-filter-village">
              <option value="">{at('all')}</option>
              {villages.map((code) => (
                <option value={code}>{villageLabel(places, code)}</option>
              ))}
            </select>
          </label>
          <label>
            {at('filter_verdict')}
            <select value={filters.verdict} onChange={set('verdict')} data-testid="audit-filter-verdict">
              <option value="">{at('all')}</option>
              {VERDICTS.map((v) => (
                <option value={v}>{at(`verdict_${v}`)}</option>
              ))}
            </select>
          </label>
          <label>
            {at('filter_reason')}
            <select value={filters.reason} onChange={set('reason')} data-testid="audit-filter-reason">
              <option value="">{at('all')}</option>
              {REASONS.map((r) => (
                <option value={r}>{at(`reason_${r}`, { m: '…', kmh: '…', reason: '' })}</option>
              ))}
            </select>
          </label>
          <label>
            {at('filter_kind')}
            <select value={filters.kind} onChange={set('kind')} data-testid="audit-filter-kind">
              <option value="">{at('all')}</option>
              {KINDS.map((k) => (
                <option value={k}>{label('visit_kind', k)}</option>
              ))}
            </select>
          </label>
          <label>
            {at('occurred_from')}
            <input type="date" value={filters.occurred_from} onInput={set('occurred_from')} data-testid="audit-from" />
          </label>
          <label>
            {at('occurred_to')}
            <input type="date" value={filters.occurred_to} onInput={set('occurred_to')} data-testid="audit-to" />
          </label>
        </div>
        {asked.error && <p class="error">{at(asked.error)}</p>}
        {list.error && <p class="error">{at('error', { detail: list.error })}</p>}
        {note && <p class="hint ok" data-testid="void-note">{note}</p>}
        {list.items && !list.items.length && <p class="empty">{at('no_visits')}</p>}
        {list.items && list.items.length > 0 && (
          <table class="grid" data-testid="audit-table">
            <thead>
              <tr>
                <th>{at('visit_time')}</th>
                <th>{at('cadre')}</th>
                <th>{at('household')}</th>
                <th>{at('village')}</th>
                <th>{at('visit_kind')}</th>
                <th>{at('verdict')}</th>
                <th>{at('reasons')}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.items.map((row) => (
                <tr data-visit={row.visit_id}>
                  <td>{localTime(row.occurred_at)}</td>
                  <td>
                    <button type="button" class="link" onClick={() => setLog(row.cadre_id)}>
                      {names[row.cadre_id] || row.cadre_id.slice(0, 8)}
                    </button>
                  </td>
                  <td>{row.head_name || (row.household_id ? row.household_id.slice(0, 8) : row.target_id)}</td>
                  <td>{placeName(places, row.village)}</td>
                  <td>{label('visit_kind', row.kind)}</td>
                  <td>
                    <Verdict value={row.verdict} />
                  </td>
                  <td>
                    <Reasons row={row} />
                  </td>
                  <td class="actions">{row.verdict !== 'voided' && <VoidVisit visit={row} done={setNote} />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {list.next && (
          <button type="button" onClick={list.more}>
            {at('load_more')}
          </button>
        )}
      </section>
      {log && (
        <Worklog
          path={`/cadres/${log}/worklog`}
          title={at('worklog_of', { name: names[log] || log })}
          close={() => setLog(null)}
        />
      )}
    </div>
  );
}

/** Voiding one visit: a reason is required, and the admin confirms before it is sent. */
function VoidVisit({ visit, done }) {
  const { api } = useAdmin();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState(null);
  if (!open) {
    return (
      <button type="button" class="link" onClick={() => setOpen(true)} data-testid="void-open">
        {at('void_visit')}
      </button>
    );
  }
  const submit = async (event) => {
    event.preventDefault();
    const asked = voidBody(new FormData(event.currentTarget).get('reason'));
    if (asked.error) return setError(at(asked.error));
    if (!window.confirm(at('void_confirm'))) return undefined;
    try {
      await api.post(`/visits/${visit.visit_id}/void`, asked.body);
      setOpen(false);
      done(at('voided_note'));
    } catch (e) {
      setError(problem(e));
    }
    return undefined;
  };
  return (
    <form class="inline" onSubmit={submit} data-testid="void-form">
      <input name="reason" required maxLength={REASON_MAX} aria-label={at('void_reason')} placeholder={at('void_reason')} />
      <button>{at('void_visit')}</button>
      <button type="button" class="link" onClick={() => setOpen(false)}>
        {at('cancel')}
      </button>
      {error && <span class="error">{error}</span>}
    </form>
  );
}

/** A work log (民情日记), a cadre's or a household's (`path`): visits newest first with topics and notes. */
export function Worklog({ path, title, close = null }) {
  const places = usePlaces();
  const log = usePaged(path, {}, [path]);
  return (
    <section class="card" data-testid="worklog">
      <h2>
        {title}{' '}
        {close && (
          <button type="button" class="link" onClick={close}>
            {at('close')}
          </button>
        )}
      </h2>
      {log.error && <p class="error">{at('error', { detail: log.error })}</p>}
      {log.items && !log.items.length && <p class="empty">{at('no_visits')}</p>}
      {(log.items || []).map((entry) => (
        <article class={`worklog-entry ${entry.verdict}`}>
          <p>
            <b>{localTime(entry.occurred_at)}</b> · {label('visit_kind', entry.kind)} · {entry.head_name || '—'} ·{' '}
            {placeName(places, entry.village)} · <Verdict value={entry.verdict} />
          </p>
          {entry.topics.length > 0 && (
            <p class="hint">
              {at('topics')}：{entry.topics.map((t) => label('visit_topic', t)).join('、')}
            </p>
          )}
          <p>{entry.note_erased ? at('note_erased') : entry.note || '—'}</p>
        </article>
      ))}
      {log.next && (
        <button type="button" onClick={log.more}>
          {at('load_more')}
        </button>
      )}
    </section>
  );
}
