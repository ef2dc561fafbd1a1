// Contact targets (联系对象): the county's register of Party branches (weak and scattered or not),
// enterprises, talents, projects and contact points, filtered by kind, township and the weak flag;
// registering, revising and archiving one, the register's file import (联系对象名录), and each cadre's 五个一 of the
// period when the county's rule `five_ones_period` is on.
import { useRef, useState } from 'preact/hooks';
import { at } from './i18n.js';
import { label } from './vocab.js';
import { problem, ready, useAdmin, useLive } from './context.js';
import { placeName, usePlaces, villageLabel } from './places.js';
import { Import } from './people.jsx';
import { fiveOnesCells, FIVE_ONES, REGISTER_KINDS, reviseBody, targetBody, targetsQuery } from './targets.js';

const EMPTY = { kind: '', township: '', weak: false, archived: false };

export function Targets() {
  const { api } = useAdmin();
  const places = usePlaces();
  const [filters, setFilters] = useState(EMPTY);
  const [state, setState] = useState({ items: null, next: null, error: null });
  const [note, setNote] = useState(null);
  const [editing, setEditing] = useState(null); // the target being revised
  const latest = useRef(0);
  const load = async (after) => {
    const asked = ++latest.current;
    try {
      const page = await api.get('/targets', { ...targetsQuery(filters), limit: 200, after });
      // A live reload for the filters before may answer after this one: only the latest request counts.
      if (asked !== latest.current) return;
      setState((now) => ({ items: after ? [...(now.items || []), ...page.items] : page.items, next: page.next, error: null }));
      ready('admin-targets');
    } catch (e) {
      setState((now) => ({ ...now, error: problem(e) }));
    }
  };
  useLive(['targets'], () => load(null), Object.values(filters));
  const townships = Object.keys(places.names).filter((code) => code.length === 9).sort();
  const set = (name) => (e) =>
    setFilters({ ...filters, [name]: e.currentTarget.type === 'checkbox' ? e.currentTarget.checked : e.currentTarget.value });
  return (
    <div class="targets">
      <section class="card" data-testid="targets">
        <h2>{at('targets_title')}</h2>
        <p class="hint">{at('targets_hint')}</p>
        <RegisterTarget townships={townships} done={setNote} />
        {note && <p class="hint ok" data-testid="targets-note">{note}</p>}
        {editing && (
          <TargetForm
            key={`${editing.target_id}:${editing.version}`}
            townships={townships}
            target={editing}
            close={(message) => {
              setEditing(null);
              if (message) setNote(message);
            }}
          />
        )}
        <div class="filters">
          <label>
            {at('target_kind')}
            <select value={filters.kind} onChange={set('kind')} data-testid="targets-kind">
              <option value="">{at('all')}</option>
              {REGISTER_KINDS.map((k) => <option value={k}>{label('target_kind', k)}</option>)}
            </select>
          </label>
          <label>
            {at('township')}
            <select value={filters.township} onChange={set('township')} data-testid="targets-township">
              <option value="">{at('all')}</option>
              {townships.map((code) => <option value={code}>{placeName(places, code)}</option>)}
            </select>
          </label>
          <label class="check">
            <input type="checkbox" checked={filters.weak} onChange={set('weak')} data-testid="targets-weak" />
            {at('target_weak_only')}
          </label>
          <label class="check">
            <input type="checkbox" checked={filters.archived} onChange={set('archived')} />
            {at('target_archived_only')}
          </label>
        </div>
        {state.error && <p class="error">{state.error}</p>}
        {state.items && (
          <table class="grid" data-testid="targets-table">
            <thead>
              <tr>
                <th>{at('target_kind')}</th><th>{at('target_name')}</th><th>{at('township')}</th><th>{at('village')}</th>
                <th>{at('target_position')}</th><th>{at('target_weak')}</th><th />
              </tr>
            </thead>
            <tbody>
              {state.items.map((t) => (
                <tr data-target={t.name}>
                  <td>{label('target_kind', t.kind)}</td>
                  <td>{t.name}</td>
                  <td>{placeName(places, t.township)}</td>
                  <td>{t.village ? villageLabel(places, t.village) : '—'}</td>
                  <td>{t.lat === null ? at('target_no_position') : `${t.lat.toFixed(4)}, ${t.lon.toFixed(4)}`}</td>
                  <td>{t.weak ? <span class="pill overdue">{at('target_weak')}</span> : ''}</td>
                  <td class="actions">
                    {!t.archived && (
                      <>
                        <button type="button" class="link" onClick={() => setEditing(t)}>{at('target_revise')}</button>
                        <ArchiveTarget target={t} done={setNote} />
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {state.items && !state.items.length && <p class="empty">{at('targets_empty')}</p>}
        {state.next && <button onClick={() => load(state.next)}>{at('more')}</button>}
      </section>
      <Import kinds={['targets']} title="import_targets" />
      <FiveOnes />
    </div>
  );
}

function RegisterTarget({ townships, done }) {
  const [open, setOpen] = useState(false);
  if (!open) {
    return (
      <button type="button" onClick={() => setOpen(true)} data-testid="target-new">{at('target_new')}</button>
    );
  }
  const close = (message) => {
    setOpen(false);
    if (message) done(message);
  };
  return <TargetForm townships={townships} close={close} />;
}

// Registers a target, or revises `target` (its kind stays; every other field is sent again in full).
// Uncontrolled inputs (default values, keyed by version), as a live update re-renders the page.
function TargetForm({ townships, target = null, close }) {
  const { api } = useAdmin();
  const places = usePlaces();
  const [kind, setKind] = useState(target?.kind ?? REGISTER_KINDS[0]);
  const [township, setTownship] = useState(target?.township ?? '');
  const [error, setError] = useState(null);
  const villages = Object.keys(places.names).filter((code) => code.length === 12 && code.startsWith(township)).sort();
  const submit = async (event) => {
    event.preventDefault();
    const fields = Object.fromEntries(new FormData(event.currentTarget));
    try {
      if (target) await api.post(`/targets/${target.target_id}/revise`, reviseBody(target, fields));
      else await api.post('/targets', targetBody(fields));
      setError(null);
      close(at(target ? 'target_revised' : 'target_registered', { name: fields.name }));
    } catch (e) {
      setError(problem(e));
    }
  };
  return (
    <form class="filters" onSubmit={submit} data-testid={target ? 'target-revise-form' : 'target-form'}>
      {!target && (
        <label>
          {at('target_kind')}
          <select name="kind" value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
            {REGISTER_KINDS.map((k) => <option value={k}>{label('target_kind', k)}</option>)}
          </select>
        </label>
      )}
      <label>
        {at('target_name')}
        <input name="name" required maxLength={100} defaultValue={target?.name} />
      </label>
      <label>
        {at('township')}
        {townships.length ? (
          <select name="township" required value={township} onChange={(e) => setTownship(e.currentTarget.value)}>
            <option value="">—</option>
            {townships.map((code) => <option value={code}>{placeName(places, code)}</option>)}
          </select>
        ) : (
          <input name="township" required pattern="\d{9}" defaultValue={target?.township} onInput={(e) => setTownship(e.currentTarget.value)} />
        )}
      </label>
      <label>
        {at('village')}
        {townships.length ? (
          <select name="village">
            <option value="">—</option>
            {villages.map((code) => <option value={code} selected={code === target?.village}>{placeName(places, code)}</option>)}
          </select>
        ) : (
          <input name="village" pattern="\d{12}" defaultValue={target?.village ?? ''} />
        )}
      </label>
      <label>
        {at('target_lat')}
        <input name="lat" type="number" step="any" min="-90" max="90" defaultValue={target?.lat ?? ''} />
      </label>
      <label>
        {at('target_lon')}
        <input name="lon" type="number" step="any" min="-180" max="180" defaultValue={target?.lon ?? ''} />
      </label>
      {kind === 'party_branch' && (
        <label class="check">
          <input type="checkbox" name="weak" value="1" defaultChecked={target?.weak} />
          {at('target_weak')}
        </label>
      )}
      <button class="primary-inline" data-testid="target-register">{at(target ? 'target_revise' : 'target_register')}</button>
      <button type="button" class="link" onClick={() => close(null)}>{at('cancel')}</button>
      {error && <p class="error" data-testid="target-error">{error}</p>}
    </form>
  );
}

function ArchiveTarget({ target, done }) {
  const { api } = useAdmin();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState(null);
  if (!open) {
    return <button type="button" class="link" onClick={() => setOpen(true)}>{at('target_archive')}</button>;
  }
  const submit = async (event) => {
    event.preventDefault();
    try {
      await api.post(`/targets/${target.target_id}/archive`, {
        reason: new FormData(event.currentTarget).get('reason'),
        expected_version: target.version,
      });
      done(at('target_archived', { name: target.name }));
    } catch (e) {
      setError(problem(e));
    }
  };
  return (
    <form class="inline" onSubmit={submit}>
      <input name="reason" required maxLength={200} aria-label={at('end_reason')} placeholder={at('end_reason')} />
      <button>{at('target_archive')}</button>
      <button type="button" class="link" onClick={() => setOpen(false)}>{at('cancel')}</button>
      {error && <span class="error">{error}</span>}
    </form>
  );
}

/** Each active cadre's 五个一 in the rule's period, shown only when the county turned the rule on. */
function FiveOnes() {
  const { api } = useAdmin();
  const places = usePlaces();
  const [answer, setAnswer] = useState(null);
  const [names, setNames] = useState({});
  const [error, setError] = useState(null);
  useLive(['targets', 'verdicts', 'pairing'], async () => {
    try {
      const [found, cadres] = await Promise.all([api.get('/targets/five-ones', { limit: 500 }), api.get('/cadres')]);
      setAnswer(found);
      setNames(Object.fromEntries(cadres.cadres.map((c) => [c.id, c.name])));
    } catch (e) {
      setError(problem(e));
    }
  }, []);
  if (error) return <p class="error">{error}</p>;
  if (!answer) return null;
  if (!answer.enabled) return <p class="hint card" data-testid="five-ones-off">{at('five_ones_off')}</p>;
  return (
    <section class="card" data-testid="five-ones">
      <h2>{at('five_ones_title', { start: answer.period.start, end: answer.period.end })}</h2>
      <table class="grid compact">
        <thead>
          <tr>
            <th>{at('cadre')}</th><th>{at('township')}</th>
            {FIVE_ONES.map((name) => <th>{at(`five_ones_${name}`)}</th>)}
            <th>{at('five_ones_covered')}</th>
          </tr>
        </thead>
        <tbody>
          {answer.items.map((row) => {
            const { cells, covered } = fiveOnesCells(row);
            return (
              <tr data-cadre={names[row.cadre_id] || row.cadre_id}>
                <td>{names[row.cadre_id] || row.cadre_id.slice(0, 8)}</td>
                <td>{placeName(places, row.township)}</td>
                {cells.map((count) => <td class={count === null ? 'missing' : ''}>{count ?? '✗'}</td>)}
                <td data-testid="five-ones-covered">{covered}/5</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
