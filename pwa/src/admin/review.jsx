// The monthly review meeting (一月一议) on one page: last month's figures, the agenda (every issue still
// open, carried over until resolved) with a decision form per item (who: a department, what, by when;
// a decision routes the issue to the department with the deadline), the follow-up of earlier decisions,
// and the minutes. Printable (admin.css @media print) and downloadable as XLSX (GET /reviews/pack.xlsx).
import { useState } from 'preact/hooks';
import { at, pct } from './i18n.js';
import { label } from './vocab.js';
import { localDay, localTime, problem, ready, today, useAdmin, useLive } from './context.js';
import { placeName, usePlaces } from './places.js';
import { decisionProblem, departmentName, meetingOrder, recentMonths } from './reviewing.js';

/** The county's departments (county admins only: a department account keeps the codes it is shown). */
export function useDepartments() {
  const { api, user } = useAdmin();
  const [departments, setDepartments] = useState([]);
  const admin = Boolean(user?.roles.includes('county_admin'));
  useLive(
    [],
    () => admin && api.get('/departments').then((a) => setDepartments(a.departments), () => setDepartments([])),
    [admin],
  );
  return departments;
}

export function MonthlyReview() {
  const { api } = useAdmin();
  const months = recentMonths(today());
  const [month, setMonth] = useState(months[0]);
  const [pack, setPack] = useState(null);
  const [error, setError] = useState(null);
  const departments = useDepartments();
  const load = async () => {
    try {
      setPack(await api.get('/reviews/pack', { month }));
      ready('admin-review');
    } catch (e) {
      setError(problem(e));
    }
  };
  useLive(['issues', 'reviews'], load, [month]);
  const download = async () => {
    try {
      await api.download('/reviews/pack.xlsx', { month }, `review-${month}.xlsx`);
    } catch (e) {
      setError(problem(e));
    }
  };
  return (
    <div class="review-pack" data-testid="review-pack">
      <div class="tabs no-print">
        <label>
          {at('review_month')}
          <select value={month} onChange={(e) => setMonth(e.currentTarget.value)} data-testid="review-month">
            {months.map((m) => (
              <option value={m}>{m}</option>
            ))}
          </select>
        </label>
        <span class="spacer" />
        <button onClick={() => window.print()} data-testid="review-print">{at('review_print')}</button>
        <button onClick={download} data-testid="review-xlsx">{at('export_xlsx')}</button>
      </div>
      {error && <p class="error">{at('error', { detail: error })}</p>}
      {!pack ? (
        <p class="hint">{at('loading')}</p>
      ) : (
        <>
          <h1 class="print-title">{at('review_title', { month: pack.month, date: pack.meeting_on })}</h1>
          <Figures figures={pack.last_month} />
          <Agenda pack={pack} departments={departments} onChanged={load} />
          <FollowUp items={pack.follow_up} departments={departments} />
          <Minutes pack={pack} onChanged={load} />
        </>
      )}
    </div>
  );
}

function Figures({ figures }) {
  const rows = [
    ['review_households', figures.households], ['review_visited', figures.visited],
    ['review_coverage', pct(figures.coverage_pct)], ['review_visits', figures.visits],
    ['review_verified_visits', figures.verified_visits], ['review_raised', figures.issues_raised],
    ['review_resolved', figures.issues_resolved], ['review_overdue', figures.issues_overdue],
    ['review_satisfaction', pct(figures.satisfaction_pct)],
  ];
  return (
    <section class="card" data-testid="review-figures">
      <h2>{at('review_last_month', { month: figures.month })}</h2>
      <dl class="figures">
        {rows.map(([key, value]) => (
          <>
            <dt>{at(key)}</dt>
            <dd data-testid={key}>{value}</dd>
          </>
        ))}
      </dl>
    </section>
  );
}

function Agenda({ pack, departments, onChanged }) {
  const places = usePlaces();
  const items = meetingOrder(pack.agenda);
  return (
    <section class="card" data-testid="review-agenda">
      <h2>{at('review_agenda', { count: items.length })}</h2>
      {items.length === 0 ? (
        <p class="hint">{at('agenda_empty')}</p>
      ) : (
        <ol class="agenda">
          {items.map((issue) => (
            <li data-testid="review-item" data-issue={issue.issue_id}>
              <b>{issue.category}</b> · {placeName(places, issue.village)} · {localDay(issue.occurred_at)}{' '}
              <span class={`pill ${issue.status === 'resolved' ? 'ok' : issue.status}`}>{label('issue_status', issue.status)}</span>
              {issue.carried_over && <small> {at('review_carried_over')}</small>}
              <p>{issue.summary}</p>
              {issue.decisions.map((d) => (
                <p class="decision" data-testid="review-decision">
                  {at('review_decision_line', {
                    department: d.department_name, decision: d.decision, deadline: d.deadline,
                  })}
                </p>
              ))}
              {issue.decisions.length === 0 && issue.status !== 'resolved' && (
                <DecisionForm issue={issue} month={pack.month} departments={departments} onChanged={onChanged} />
              )}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function DecisionForm({ issue, month, departments, onChanged }) {
  const { api } = useAdmin();
  const [error, setError] = useState(null);
  const inTwoWeeks = new Date(Date.now() + 14 * 86400e3).toISOString().slice(0, 10);
  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const body = { department: form.get('department'), decision: form.get('decision'), deadline: form.get('deadline') };
    const wrong = decisionProblem(body, today());
    if (wrong) return setError(wrong);
    try {
      const current = await api.get(`/issues/${issue.issue_id}`);
      await api.post(`/issues/${issue.issue_id}/decide`, { ...body, month, expected_version: current.version });
      setError(null);
      onChanged();
    } catch (e) {
      setError(problem(e));
    }
  };
  return (
    <form class="action no-print" onSubmit={submit} data-testid="decision-form">
      {departments.length ? (
        <select name="department" data-testid="decision-department">
          <option value="">{at('department')}</option>
          {departments.map((d) => (
            <option value={d.code}>{d.name}</option>
          ))}
        </select>
      ) : (
        <input name="department" placeholder={at('department')} data-testid="decision-department" />
      )}
      <input name="decision" placeholder={at('review_decision')} data-testid="decision-text" />
      <input name="deadline" type="date" min={today()} defaultValue={inTwoWeeks} data-testid="decision-deadline" />
      <button data-testid="decision-submit">{at('review_decide')}</button>
      {error && <small class="error">{error}</small>}
    </form>
  );
}

function FollowUp({ items, departments }) {
  const places = usePlaces();
  if (!items.length) return null;
  return (
    <section class="card" data-testid="review-follow-up">
      <h2>{at('review_follow_up')}</h2>
      <table class="grid compact">
        <thead>
          <tr>
            <th>{at('review_decided_in')}</th><th>{at('village')}</th><th>{at('department')}</th>
            <th>{at('due_on')}</th><th>{at('status')}</th>
          </tr>
        </thead>
        <tbody>
          {items.map((issue) => (
            <tr class={issue.status === 'overdue' ? 'overdue' : ''}>
              <td>{issue.decided_in}</td>
              <td>{placeName(places, issue.village)}</td>
              <td>{departmentName(departments, issue.department)}</td>
              <td>{issue.due_on}</td>
              <td>{label('issue_status', issue.status)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Minutes({ pack, onChanged }) {
  const { api } = useAdmin();
  const [error, setError] = useState(null);
  const saved = pack.minutes;
  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const attendees = String(form.get('attendees') || '').split(/[,，、\s]+/).filter(Boolean);
    try {
      await api.post('/reviews/minutes', { month: pack.month, minutes: form.get('minutes'), attendees });
      setError(null);
      onChanged();
    } catch (e) {
      setError(problem(e));
    }
  };
  return (
    <section class="card" data-testid="review-minutes">
      <h2>{at('review_minutes')}</h2>
      {saved && (
        <div class="minutes">
          <p class="hint">{at('review_minutes_saved', { at: localTime(saved.recorded_at) })}</p>
          {saved.attendees.length > 0 && <p>{at('review_attendees')}：{saved.attendees.join('、')}</p>}
          <pre data-testid="review-minutes-text">{saved.minutes}</pre>
        </div>
      )}
      <form class="action no-print" onSubmit={submit}>
        <textarea name="minutes" rows="5" required defaultValue={saved?.minutes ?? ''} data-testid="minutes-text" />
        <input name="attendees" placeholder={at('review_attendees')} defaultValue={saved?.attendees.join('、') ?? ''} />
        <button data-testid="minutes-save">{at('review_minutes_save')}</button>
        {error && <small class="error">{error}</small>}
      </form>
    </section>
  );
}
