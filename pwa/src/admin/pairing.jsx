// Forming and ending pairings (结对子) from the pairing compliance table: a cadre, a target (a household
// picked by village, or a contact target of the county's register picked by kind), the programme and its
// visit cadence. Household heads' names are personal data, so the picker asks the server for one
// village's households at a time.
import { useState } from 'preact/hooks';
import { at } from './i18n.js';
import { codes, label } from './vocab.js';
import { problem, today, useAdmin } from './context.js';
import { placeName, usePlaces, villageLabel } from './places.js';
import { REGISTER_KINDS } from './targets.js';

const CADENCES = codes('cadence');
// The programme is data, kept in Chinese whatever the page's language (as the demo and the ledgers).
const PROGRAMME = '结对帮扶';
// An active pairing has only its forming event; ending it is the one change it takes.
const ACTIVE_PAIRING_VERSION = 1;

export function NewPairing({ cadres, villages, done }) {
  const { api } = useAdmin();
  const places = usePlaces();
  const [open, setOpen] = useState(false);
  const [households, setHouseholds] = useState(null);
  const [kind, setKind] = useState('household');
  const [targets, setTargets] = useState(null); // the register's targets of `kind`
  const [error, setError] = useState(null);
  const pickKind = async (next) => {
    setKind(next);
    setTargets(null);
    if (next === 'household') return;
    try {
      setTargets((await api.get('/targets', { kind: next, limit: 500 })).items);
    } catch (e) {
      setError(problem(e));
    }
  };
  const pickVillage = async (village) => {
    setHouseholds(null);
    if (!/^\d{12}$/.test(village)) return;
    try {
      const answer = await api.get('/completeness/households', { village, limit: 500 });
      setHouseholds(answer.items);
    } catch (e) {
      setError(problem(e));
    }
  };
  const submit = async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const f = new FormData(form);
    try {
      await api.post('/pairings', {
        cadre_id: f.get('cadre_id'),
        target_kind: kind,
        target_id: kind === 'household' ? f.get('household_id') : f.get('target_id'),
        programme: f.get('programme'),
        cadence: f.get('cadence') || null, // null: the county's default, which follows its rules
        formed_on: f.get('formed_on'),
      });
      setError(null);
      setOpen(false);
      setHouseholds(null);
      done(at('paired_note'));
    } catch (e) {
      setError(problem(e));
    }
  };
  if (!open) {
    return (
      <button type="button" onClick={() => setOpen(true)} data-testid="new-pairing">
        {at('new_pairing')}
      </button>
    );
  }
  return (
    <form class="filters pairing-form" onSubmit={submit} data-testid="pairing-form">
      <label>
        {at('cadre')}
        <select name="cadre_id" required>
          <option value="">—</option>
          {cadres.map((c) => (
            <option value={c.id}>{c.township ? `${c.name}（${placeName(places, c.township)}）` : c.name}</option>
          ))}
        </select>
      </label>
      {/* Not a wrapping label: its text would hold every kind's name (农户, 大学生村官...) and so match
          the household and village fields' labels too. */}
      <div>
        <label for="pairing-kind">{at('pairing_target_kind')}</label>
        <select id="pairing-kind" value={kind} onChange={(e) => pickKind(e.currentTarget.value)} data-testid="pairing-kind">
          {['household', ...REGISTER_KINDS].map((k) => <option value={k}>{label('target_kind', k)}</option>)}
        </select>
      </div>
      {kind === 'household' ? (
        <>
          <label>
            {at('village')}
            {villages.length ? (
              <select name="village" required onChange={(e) => pickVillage(e.currentTarget.value)}>
                <option value="">—</option>
                {villages.map(([code]) => (
                  <option value={code}>{villageLabel(places, code)}</option>
                ))}
              </select>
            ) : (
              <input name="village" required pattern="\d{12}" onInput={(e) => pickVillage(e.currentTarget.value)} />
            )}
          </label>
          <label>
            {at('household')}
            <select name="household_id" required disabled={!households}>
              <option value="">{households && !households.length ? at('no_households') : '—'}</option>
              {(households || []).map((h) => (
                <option value={h.household_id}>{h.head_name || h.household_id.slice(0, 8)}</option>
              ))}
            </select>
          </label>
        </>
      ) : (
        <label>
          {at('pairing_target')}
          <select name="target_id" required disabled={!targets} data-testid="pairing-target">
            <option value="">{targets && !targets.length ? at('no_targets') : '—'}</option>
            {(targets || []).map((t) => (
              <option value={t.target_id}>{`${t.name}（${placeName(places, t.village || t.township)}）`}</option>
            ))}
          </select>
        </label>
      )}
      <label>
        {at('programme')}
        <input name="programme" required maxLength={30} defaultValue={PROGRAMME} />
      </label>
      <label>
        {at('cadence')}
        <select name="cadence">
          <option value="">{at('cadence_county_default')}</option>
          {CADENCES.map((c) => (
            <option value={c}>{label('cadence', c)}</option>
          ))}
        </select>
      </label>
      <label>
        {at('formed_on')}
        <input name="formed_on" type="date" required defaultValue={today()} />
      </label>
      <button class="primary-inline">{at('pair')}</button>
      <button type="button" class="link" onClick={() => setOpen(false)}>{at('cancel')}</button>
      {error && <p class="error" data-testid="pairing-error">{error}</p>}
    </form>
  );
}

export function EndPairing({ pairing, done }) {
  const { api } = useAdmin();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState(null);
  if (!open) {
    return (
      <button type="button" class="link" onClick={() => setOpen(true)}>
        {at('end_pairing')}
      </button>
    );
  }
  const submit = async (event) => {
    event.preventDefault();
    const f = new FormData(event.currentTarget);
    try {
      await api.post(`/pairings/${pairing.pairing_id}/end`, {
        reason: f.get('reason'),
        ended_on: f.get('ended_on'),
        expected_version: ACTIVE_PAIRING_VERSION,
      });
      done(at('pairing_ended_note'));
    } catch (e) {
      setError(problem(e));
    }
  };
  return (
    <form class="inline" onSubmit={submit}>
      <input name="reason" required maxLength={200} aria-label={at('end_reason')} placeholder={at('end_reason')} />
      <input name="ended_on" type="date" required defaultValue={today()} aria-label={at('ended_on')} />
      <button>{at('end_pairing')}</button>
      <button type="button" class="link" onClick={() => setOpen(false)}>{at('cancel')}</button>
      {error && <span class="error">{error}</span>}
    </form>
  );
}
