import { useEffect, useState } from 'preact/hooks';
import { useApp } from '../context.js';
import { getMeta, uuid } from '../lib/db.js';
import { checkInPayload, householdSubject, MAX_STAY_DAYS, stayDays, targetSubject, villageNames } from '../lib/visit.js';
import { t } from '../i18n/index.js';
import { codes, label } from '../i18n/vocab.js';
import { useUsable, navigate } from '../router.jsx';

// A fix this good is kept at once; the server verifies a check-in at ≤ 100 m (DESIGN §5), so we aim
// under it. After FIX_LIMIT_S without one the screen says "weak signal" and keeps the best fix seen.
export const GOOD_ACCURACY_M = 50;
export const FIX_LIMIT_S = 30;

export function useFix() {
  const [state, setState] = useState({ status: 'waiting', fix: null, error: '' });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (!navigator.geolocation) {
      setState({ status: 'denied', fix: null, error: 'no geolocation' });
      return undefined;
    }
    setState((s) => ({ ...s, status: 'waiting', error: '' }));
    let best = null;
    const watch = navigator.geolocation.watchPosition(
      ({ coords, timestamp }) => {
        if (best && coords.accuracy >= best.accuracy_m) return;
        // The web names no provider and cannot tell a mocked fix: we send provider "web" and leave
        // is_mock out (docs/contracts.md: it then defaults to false).
        best = {
          lat: coords.latitude,
          lon: coords.longitude,
          accuracy_m: Math.round(coords.accuracy * 10) / 10,
          provider: 'web',
          fixed_at: new Date(timestamp).toISOString(),
        };
        const good = best.accuracy_m <= GOOD_ACCURACY_M;
        setState((s) => ({ status: good ? 'good' : s.status === 'weak' ? 'weak' : 'waiting', fix: best, error: '' }));
        if (good) navigator.geolocation.clearWatch(watch);
      },
      (error) => {
        if (error.code === error.PERMISSION_DENIED) setState({ status: 'denied', fix: best, error: error.message });
      },
      { enableHighAccuracy: true, maximumAge: 0 },
    );
    const limit = setTimeout(() => {
      setState((s) => (s.status === 'waiting' ? { ...s, status: 'weak' } : s));
    }, FIX_LIMIT_S * 1000);
    return () => {
      navigator.geolocation.clearWatch(watch);
      clearTimeout(limit);
    };
  }, [attempt]);
  return [state, () => setAttempt((n) => n + 1)];
}

export function CheckIn({ id }) {
  const { db } = useApp();
  return (
    <CheckInForm
      key={id}
      load={() => db.get('households', id).then((h) => (h ? householdSubject(h, t('household_erased')) : null))}
      missing="household_not_found"
    />
  );
}

/** A check-in at a contact target of the county's register (cached by lib/data.js refreshTargets). */
export function TargetCheckIn({ id }) {
  const { db } = useApp();
  const load = async () => {
    const [targets, households] = await Promise.all([getMeta(db, 'targets'), db.getAll('households')]);
    const found = (targets || []).find((target) => target.target_id === id);
    return found ? targetSubject(found, villageNames(households)) : null;
  };
  return <CheckInForm key={id} load={load} missing="target_not_found" />;
}

// Keyed by the subject's id: another subject is a new form, loaded afresh.
function CheckInForm({ load, missing }) {
  const app = useApp();
  const [subject, setSubject] = useState(undefined);
  const [{ status, fix, error }, retry] = useFix();
  const [topics, setTopics] = useState([]);
  const [raise, setRaise] = useState(false);
  const [problem, setProblem] = useState('');
  const [preset] = useState(() => new URLSearchParams(location.search).get('kind'));
  const [kind, setKind] = useState(() => preset || codes('visit_kind')[0]);

  useEffect(() => {
    load().then((found) => setSubject(found || null));
  }, []);
  useUsable('checkin', subject !== undefined);

  if (subject === undefined) return null;
  if (subject === null) return <p class="empty">{t(missing)}</p>;

  async function submit(event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const summary = (form.get('summary') || '').trim();
    if (raise && !summary) return setProblem(t('checkin_issue_required'));
    const days = kind === 'stay' ? stayDays(form.get('days')) : null;
    if (kind === 'stay' && days === null) return setProblem(t('checkin_days_required', { max: MAX_STAY_DAYS }));
    const occurred_at = new Date().toISOString(); // device time; the server adds received_at
    const visitId = uuid();
    const position = fix ? { lat: fix.lat, lon: fix.lon, accuracy_m: fix.accuracy_m, provider: fix.provider } : null;
    const where = [subject.title, subject.villageName].filter(Boolean).join(' · ');
    const payload = checkInPayload(subject, { kind, days, occurred_at, position, topics, note: form.get('note') || '' });
    const commands = [{ id: visitId, type: 'check_in', label: where, payload }];
    if (raise)
      commands.push({
        type: 'raise_issue',
        label: where,
        payload: {
          source_kind: 'visit',
          source_id: visitId,
          household_id: subject.householdId,
          village: subject.village,
          category: form.get('category'),
          summary,
          occurred_at,
        },
      });
    await app.record(commands);
    navigate('/today?saved=1');
  }

  const toggle = (code) => setTopics((list) => (list.includes(code) ? list.filter((x) => x !== code) : [...list, code]));
  return (
    <form class="card" onSubmit={submit}>
      <h1>{t('checkin_title')}</h1>
      <p>
        {subject.kind !== 'household' && <span class="pill">{label('target_kind', subject.kind)}</span>}{' '}
        <b>{subject.title}</b>
        {subject.villageName && ` · ${subject.villageName}`}
      </p>
      <div class={`gps ${status}`} data-testid="gps" data-status={status}>
        <b>{t('checkin_gps')}</b>{' '}
        {fix ? t('checkin_gps_accuracy', { m: Math.round(fix.accuracy_m) }) : t('checkin_gps_waiting')}
        {status === 'good' && <span> · {t('checkin_gps_good')}</span>}
        {status === 'weak' && <p class="warn">{t('checkin_gps_weak', { s: FIX_LIMIT_S })}</p>}
        {status === 'denied' && <p class="warn">{t('checkin_gps_denied', { detail: error })}</p>}
        {(status === 'weak' || status === 'denied') && (
          <button type="button" class="small" onClick={retry}>
            {t('checkin_gps_retry')}
          </button>
        )}
      </div>
      <label>
        {t('checkin_kind')}
        <select name="kind" value={kind} onChange={(e) => setKind(e.currentTarget.value)} data-testid="checkin-kind">
          {codes('visit_kind').map((code) => (
            // Today's festival-campaign households open with ?kind=festival: the visit counts for the campaign.
            <option value={code}>{label('visit_kind', code)}</option>
          ))}
        </select>
      </label>
      {kind === 'stay' && (
        <label>
          {t('checkin_days', { max: MAX_STAY_DAYS })}
          <input name="days" type="number" inputMode="numeric" min="1" max={MAX_STAY_DAYS} required data-testid="checkin-days" />
        </label>
      )}
      <fieldset>
        <legend>{t('checkin_topics')}</legend>
        {codes('visit_topic').map((code) => (
          <label class="chip">
            <input type="checkbox" checked={topics.includes(code)} onChange={() => toggle(code)} />
            {label('visit_topic', code)}
          </label>
        ))}
      </fieldset>
      <label>
        {t('checkin_note')}
        <textarea name="note" maxLength={200} rows={2} />
      </label>
      {/* An issue needs a village: a target registered without one raises none from here. */}
      {subject.village && (
        <label class="check">
          <input type="checkbox" name="raise" checked={raise} onChange={(e) => setRaise(e.currentTarget.checked)} />
          {t('checkin_raise_issue')}
        </label>
      )}
      {raise && (
        <div class="issue">
          <label>
            {t('checkin_issue_category')}
            <select name="category">
              {codes('issue_category').map((code) => (
                <option value={code}>{label('issue_category', code)}</option>
              ))}
            </select>
          </label>
          <label>
            {t('checkin_issue_summary')}
            <textarea name="summary" maxLength={200} rows={2} />
          </label>
        </div>
      )}
      {problem && <p class="error">{problem}</p>}
      <button class="primary" data-testid="checkin-submit">
        {status === 'waiting' ? t('checkin_submit_waiting') : t('checkin_submit')}
      </button>
    </form>
  );
}
