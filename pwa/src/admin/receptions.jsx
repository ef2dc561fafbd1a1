// Reception days (接访日): the county's recurring reception schedules (set one for a cadre or a rank,
// change one from a day on, end one), the receptions held in a period (record one: its issue enters the issue ledger), the report
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
import { receiverOf, reviseBody, scheduleBody, scheduleWhen } from './receptions.js';
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

/** One card of the page: a title, an optional hint, an error, and what it holds. */
function Card({ testid, title, hint, error, errorTestid, children }) {
  return (
    <section class="card" data-testid={testid}>
      <h2>{title}</h2>
      {hint && <p class="hint">{hint}</p>}
      {error && <p class="error" data-testid={errorTestid}>{error}</p>}
      {children}
    </section>
  );
}

/** A form behind a button: the button (`opener`) opens it, its cancel or a successful `submit` (which
 * answers true) closes it. Test ids: `${testid}-form`, `${testid}-submit`. */
function Opened({ opener, openerTestid, testid, submitLabel, submit, children, inline = false }) {
  const [open, setOpen] = useState(false);
  const send = async (event) => {
    event.preventDefault();
    if (await submit(Object.fromEntries(new FormData(event.currentTarget)))) setOpen(false);
  };
  if (!open) {
    return (
      <button type="button" class={inline ? 'link' : ''} onClick={() => setOpen(true)} data-testid={openerTestid}>
        {opener}
      </button>
    );
  }
  return (
    <form class="filters" onSubmit={send} data-testid={`${testid}-form`}>
      {children}
      <button class="primary-inline" data-testid={`${testid}-submit`}>{submitLabel}</button>
      <button type="button" class="link" onClick={() => setOpen(false)}>{at('cancel')}</button>
    </form>
  );
}

/** Who, where and when: the fields a schedule is set or revised with (`schedule`: its current terms). */
function ScheduleFields({ cadres, schedule }) {
  const [cadence, setCadence] = useState(schedule?.cadence || 'monthly');
  // (options marked `selected`: a select's defaultValue is not applied to options rendered after it)
  const receiver = schedule ? receiverOf(schedule) : '';
  const weekday = schedule?.cadence === 'weekly' ? schedule.day : 1;
  return (
    <>
      <label>
        {at('schedule_receiver')}
        <select name="receiver" required>
          <option value="">—</option>
          <optgroup label={at('schedule_by_rank')}>
            {RANKS.map((r) => <option value={`rank:${r}`} selected={receiver === `rank:${r}`}>{label('rank', r)}</option>)}
          </optgroup>
          <optgroup label={at('cadre')}>
            {cadres.map((c) => <option value={`cadre:${c.id}`} selected={receiver === `cadre:${c.id}`}>{c.name}</option>)}
          </optgroup>
        </select>
      </label>
      <label>
        {at('reception_place')}
        <input name="place" required maxLength={200} defaultValue={schedule?.place} />
      </label>
      {schedule?.village && <input type="hidden" name="village" value={schedule.village} />}
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
            {[1, 2, 3, 4, 5, 6, 7].map((d) => <option value={d} selected={d === weekday}>{at(`weekday_${d - 1}`)}</option>)}
          </select>
        ) : (
          <input name="day" type="number" min="1" max="31" required
            defaultValue={schedule?.cadence === 'monthly' ? schedule.day : undefined} />
        )}
      </label>
    </>
  );
}

function Schedules({ cadres, done }) {
  const { api } = useAdmin();
  const [items, setItems] = useState(null);
  const [error, setError] = useState(null);
  useLive(['receptions'], async () => {
    try {
      setItems((await api.get('/reception-schedules')).items);
      ready('admin-receptions');
    } catch (e) {
      setError(problem(e));
    }
  }, []);
  // Each action posts its body and says so; a refusal stays on the form with its reason.
  const post = (path, message) => async (body) => {
    try {
      await api.post(path, body);
      setError(null);
      done(message(body));
      return true;
    } catch (e) {
      setError(problem(e));
      return false;
    }
  };
  return (
    <Card testid="schedules" title={at('schedules_title')} hint={at('schedules_hint')} error={error}
      errorTestid="schedules-error">
      <Opened opener={at('schedule_new')} openerTestid="schedule-new" testid="schedule" submitLabel={at('schedule_submit')}
        submit={(fields) => post('/reception-schedules', () => at('schedule_set'))(scheduleBody(fields))}>
        <ScheduleFields cadres={cadres} />
        <label>
          {at('schedule_starts_on')}
          <input name="starts_on" type="date" required defaultValue={today()} />
        </label>
      </Opened>
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
              <tr data-schedule={s.schedule_id} data-place={s.place}>
                <td>{s.rank ? at('schedule_every_rank', { rank: label('rank', s.rank) }) : s.name || s.cadre_id}</td>
                <td>{s.place}</td>
                <td>
                  {scheduleWhen(s, at)}
                  {s.effective_on && <span class="hint">{at('schedule_effective', { day: s.effective_on })}</span>}
                </td>
                <td>{s.starts_on}</td>
                <td>{s.ends_on || '—'}</td>
                <td>
                  {!s.ends_on && (
                    <>
                      <Opened inline opener={at('schedule_revise')} openerTestid="schedule-revise"
                        testid="schedule-revision" submitLabel={at('schedule_submit')}
                        submit={(fields) => post(`/reception-schedules/${s.schedule_id}/revise`,
                          (body) => at('schedule_revised', { day: body.from_on }))(reviseBody(fields, s.version))}>
                        <ScheduleFields cadres={cadres} schedule={s} />
                        <label>
                          {at('schedule_from_on')}
                          <input name="from_on" type="date" required min={today()} defaultValue={today()} />
                        </label>
                      </Opened>
                      <Opened inline opener={at('schedule_end')} openerTestid="schedule-end" testid="schedule-ending"
                        submitLabel={at('schedule_end')}
                        submit={(fields) => post(`/reception-schedules/${s.schedule_id}/end`, () => at('schedule_ended'))(
                          { ends_on: fields.ends_on, expected_version: s.version })}>
                        <label>
                          {at('schedule_ends_on')}
                          <input name="ends_on" type="date" required defaultValue={today()} />
                        </label>
                      </Opened>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
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
    <Card testid="reception-report" title={at('reception_report_title')} error={error}>
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
    </Card>
  );
}

function Held({ period, cadres, done }) {
  const { api } = useAdmin();
  const places = usePlaces();
  const [state, setState] = useState({ items: null, next: null });
  const [error, setError] = useState(null);
  const load = async (after) => {
    try {
      const page = await api.get('/receptions', { period, limit: 100, after });
      setState((now) => ({ items: after ? [...(now.items || []), ...page.items] : page.items, next: page.next }));
    } catch (e) {
      setError(problem(e));
    }
  };
  useLive(['receptions'], () => load(null), [period]);
  const record = async (fields) => {
    try {
      await api.post('/receptions', receptionPayload(fields, new Date(fields.occurred_at).toISOString()));
      setError(null);
      done(at('reception_recorded'));
      return true;
    } catch (e) {
      setError(problem(e));
      return false;
    }
  };
  const villages = Object.keys(places.names).filter((code) => code.length === 12).sort();
  return (
    <Card testid="receptions-held" title={at('receptions_held_title')} error={error} errorTestid="reception-error">
      <Opened opener={at('reception_new')} openerTestid="reception-new" testid="reception" submitLabel={at('reception_record')}
        submit={record}>
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
      </Opened>
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
    </Card>
  );
}
