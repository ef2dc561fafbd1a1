// Reception days (接访日): the county's recurring reception schedules (set one for a cadre or a rank,
// end one), the receptions held in a period (record one: its issue enters the issue ledger), the report
// of held against scheduled by cadre and month with the missed days flagged, and the reception ledger.
import { useState } from 'preact/hooks';
import { at } from './i18n.js';
import { codes, label } from './vocab.js';
import { codes as fieldCodes, label as fieldLabel } from '../i18n/vocab.js';
import { localTime, problem, ready, today, useAdmin, useLive } from './context.js';
import { placeName, usePlaces } from './places.js';
import { periodOptions } from './periods.js';
import { periodLabel } from './leaderboards.jsx';
import { ExportButtons } from './compliance.jsx';
import { scheduleBody, scheduleWhen } from './receptions.js';
import { MAX_RESIDENTS, receptionPayload } from '../lib/reception.js';

const RANKS = codes('rank');

export function Receptions() {
  const { api } = useAdmin();
  const year = new Date().getFullYear();
  const [period, setPeriod] = useState(String(year));
  const [cadres, setCadres] = useState([]);
  const [note, setNote] = useState(null);
  useLive([], () => api.get('/cadres').then((answer) => setCadres(answer.cadres), () => {}), []);
  return (
    <div class="receptions">
      <Schedules cadres={cadres} done={setNote} />
      {note && <p class="hint ok card" data-testid="receptions-note">{note}</p>}
      <section class="card filters">
        <label>
          {at('period')}
          <select value={period} onChange={(e) => setPeriod(e.currentTarget.value)} data-testid="receptions-period">
            {[year - 1, year].flatMap(periodOptions).map((o) => <option value={o.value}>{periodLabel(o)}</option>)}
          </select>
        </label>
        <ExportButtons path="/exports/receptions" params={{ period }} />
      </section>
      <Report period={period} />
      <Held period={period} cadres={cadres} done={setNote} />
    </div>
  );
}

function Schedules({ cadres, done }) {
  const { api } = useAdmin();
  const [items, setItems] = useState(null);
  const [error, setError] = useState(null);
  const [adding, setAdding] = useState(false);
  const [cadence, setCadence] = useState('monthly');
  useLive(['receptions'], async () => {
    try {
      setItems((await api.get('/reception-schedules')).items);
      ready('admin-receptions');
    } catch (e) {
      setError(problem(e));
    }
  }, []);
  const set = async (event) => {
    event.preventDefault();
    try {
      await api.post('/reception-schedules', scheduleBody(Object.fromEntries(new FormData(event.currentTarget))));
      setError(null);
      setAdding(false);
      done(at('schedule_set'));
    } catch (e) {
      setError(problem(e));
    }
  };
  const end = (schedule) => async (event) => {
    event.preventDefault();
    try {
      await api.post(`/reception-schedules/${schedule.schedule_id}/end`, {
        ends_on: new FormData(event.currentTarget).get('ends_on'),
        expected_version: schedule.version,
      });
      done(at('schedule_ended'));
    } catch (e) {
      setError(problem(e));
    }
  };
  return (
    <section class="card" data-testid="schedules">
      <h2>{at('schedules_title')}</h2>
      <p class="hint">{at('schedules_hint')}</p>
      {adding ? (
        <form class="filters" onSubmit={set} data-testid="schedule-form">
          <label>
            {at('schedule_receiver')}
            <select name="receiver" required>
              <option value="">—</option>
              <optgroup label={at('schedule_by_rank')}>
                {RANKS.map((r) => <option value={`rank:${r}`}>{label('rank', r)}</option>)}
              </optgroup>
              <optgroup label={at('cadre')}>
                {cadres.map((c) => <option value={`cadre:${c.id}`}>{c.name}</option>)}
              </optgroup>
            </select>
          </label>
          <label>
            {at('reception_place')}
            <input name="place" required maxLength={200} />
          </label>
          <label>
            {at('schedule_cadence')}
            <select name="cadence" value={cadence} onChange={(e) => setCadence(e.currentTarget.value)}>
              <option value="monthly">{at('schedule_cadence_monthly')}</option>
              <option value="weekly">{at('schedule_cadence_weekly')}</option>
            </select>
          </label>
          <label>
            {at('schedule_day')}
            {cadence === 'weekly' ? (
              <select name="day">
                {[1, 2, 3, 4, 5, 6, 7].map((d) => <option value={d}>{at(`weekday_${d - 1}`)}</option>)}
              </select>
            ) : (
              <input name="day" type="number" min="1" max="31" required />
            )}
          </label>
          <label>
            {at('schedule_starts_on')}
            <input name="starts_on" type="date" required defaultValue={today()} />
          </label>
          <button class="primary-inline" data-testid="schedule-submit">{at('schedule_submit')}</button>
          <button type="button" class="link" onClick={() => setAdding(false)}>{at('cancel')}</button>
        </form>
      ) : (
        <button type="button" onClick={() => setAdding(true)} data-testid="schedule-new">{at('schedule_new')}</button>
      )}
      {error && <p class="error" data-testid="schedules-error">{error}</p>}
      {items && (
        <table class="grid compact">
          <thead>
            <tr>
              <th>{at('schedule_receiver')}</th><th>{at('reception_place')}</th><th>{at('schedule_when')}</th>
              <th>{at('schedule_starts_on')}</th><th>{at('schedule_ends_on')}</th><th />
            </tr>
          </thead>
          <tbody>
            {items.map((s) => (
              <tr data-schedule={s.place}>
                <td>{s.rank ? at('schedule_every_rank', { rank: label('rank', s.rank) }) : s.name || s.cadre_id}</td>
                <td>{s.place}</td>
                <td>{scheduleWhen(s, at)}</td>
                <td>{s.starts_on}</td>
                <td>{s.ends_on || '—'}</td>
                <td>
                  {!s.ends_on && (
                    <form class="inline" onSubmit={end(s)}>
                      <input name="ends_on" type="date" required defaultValue={today()} aria-label={at('schedule_ends_on')} />
                      <button>{at('schedule_end')}</button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Report({ period }) {
  const { api } = useAdmin();
  const [rows, setRows] = useState(null);
  const [error, setError] = useState(null);
  useLive(['receptions'], async () => {
    try {
      setRows((await api.get('/receptions/report', { period })).items);
      setError(null);
    } catch (e) {
      setError(problem(e));
    }
  }, [period]);
  return (
    <section class="card" data-testid="reception-report">
      <h2>{at('reception_report_title')}</h2>
      {error && <p class="error">{error}</p>}
      {rows && !rows.length && <p class="empty">{at('reception_report_empty')}</p>}
      {rows && rows.length > 0 && (
        <table class="grid compact">
          <thead>
            <tr>
              <th>{at('reception_month')}</th><th>{at('cadre')}</th><th>{at('reception_scheduled')}</th>
              <th>{at('reception_held')}</th><th>{at('reception_on_schedule')}</th><th>{at('reception_missed')}</th>
              <th>{at('reception_upcoming')}</th><th>{at('reception_residents')}</th><th>{at('reception_issues')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr data-row={`${r.month} ${r.name}`} class={r.missed ? 'missed' : ''}>
                <td>{r.month}</td>
                <td>{r.name || r.cadre_id.slice(0, 8)}</td>
                <td>{r.scheduled}</td>
                <td>{r.held}</td>
                <td>{r.on_schedule}</td>
                <td data-testid="missed">
                  {r.missed > 0 ? (
                    <span class="pill overdue" title={r.missed_days.map((m) => `${m.day} ${m.place}`).join('\n')}>
                      {at('reception_missed_days', { n: r.missed, days: r.missed_days.map((m) => m.day.slice(5)).join('、') })}
                    </span>
                  ) : '0'}
                </td>
                <td>{r.upcoming}</td>
                <td>{r.residents}</td>
                <td>{r.issues}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Held({ period, cadres, done }) {
  const { api } = useAdmin();
  const places = usePlaces();
  const [state, setState] = useState({ items: null, next: null });
  const [error, setError] = useState(null);
  const [recording, setRecording] = useState(false);
  const load = async (after) => {
    try {
      const page = await api.get('/receptions', { period, limit: 100, after });
      setState((now) => ({ items: after ? [...(now.items || []), ...page.items] : page.items, next: page.next }));
    } catch (e) {
      setError(problem(e));
    }
  };
  useLive(['receptions'], () => load(null), [period]);
  const record = async (event) => {
    event.preventDefault();
    const fields = Object.fromEntries(new FormData(event.currentTarget));
    try {
      await api.post('/receptions', receptionPayload(fields, new Date(fields.occurred_at).toISOString()));
      setError(null);
      setRecording(false);
      done(at('reception_recorded'));
    } catch (e) {
      setError(problem(e));
    }
  };
  const villages = Object.keys(places.names).filter((code) => code.length === 12).sort();
  return (
    <section class="card" data-testid="receptions-held">
      <h2>{at('receptions_held_title')}</h2>
      {recording ? (
        <form class="filters" onSubmit={record} data-testid="reception-form">
          <label>
            {at('reception_receiver')}
            <select name="receiver_id" required>
              <option value="">—</option>
              {cadres.map((c) => <option value={c.id}>{c.name}</option>)}
            </select>
          </label>
          <label>
            {at('reception_time')}
            <input name="occurred_at" type="datetime-local" required defaultValue={`${today()}T09:00`} />
          </label>
          <label>
            {at('reception_place')}
            <input name="place" required maxLength={200} />
          </label>
          <label>
            {at('village')}
            {villages.length ? (
              <select name="village">
                <option value="">—</option>
                {villages.map((code) => <option value={code}>{placeName(places, code)}</option>)}
              </select>
            ) : (
              <input name="village" pattern="\d{12}" />
            )}
          </label>
          <label>
            {at('reception_residents')}
            <input name="residents" type="number" min="0" max={MAX_RESIDENTS} required defaultValue="0" />
          </label>
          <label>
            {at('reception_issue_category')}
            <select name="category">
              {fieldCodes('issue_category').map((code) => <option value={code}>{fieldLabel('issue_category', code)}</option>)}
            </select>
          </label>
          <label>
            {at('reception_issue_summary')}
            <input name="summary" maxLength={200} placeholder={at('reception_issue_none')} />
          </label>
          <button class="primary-inline" data-testid="reception-submit">{at('reception_record')}</button>
          <button type="button" class="link" onClick={() => setRecording(false)}>{at('cancel')}</button>
        </form>
      ) : (
        <button type="button" onClick={() => setRecording(true)} data-testid="reception-new">{at('reception_new')}</button>
      )}
      {error && <p class="error" data-testid="reception-error">{error}</p>}
      {state.items && (
        <table class="grid compact">
          <thead>
            <tr>
              <th>{at('reception_time')}</th><th>{at('reception_receiver')}</th><th>{at('reception_place')}</th>
              <th>{at('reception_residents')}</th><th>{at('reception_issues')}</th>
            </tr>
          </thead>
          <tbody>
            {state.items.map((r) => (
              <tr data-reception={r.place}>
                <td>{localTime(r.occurred_at)}</td>
                <td>{r.name || r.receiver_id.slice(0, 8)}</td>
                <td>{r.village ? `${r.place}（${placeName(places, r.village)}）` : r.place}</td>
                <td>{r.residents}</td>
                <td>{r.issue_ids.length}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {state.items && !state.items.length && <p class="empty">{at('receptions_none')}</p>}
      {state.next && <button onClick={() => load(state.next)}>{at('more')}</button>}
    </section>
  );
}
