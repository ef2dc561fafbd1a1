// One village's households for the county admin to keep the 民情档案 true: retag (a household's
// hardship status changes), correct its position or address, or archive it (moved away, dissolved);
// download all of its data, or erase its personal data after a confirmation (./erasure.js).
// Each is a command on the household with the version the detail was read at; a changed household
// answers 409 and the editor asks to reopen it.
import { useState } from 'preact/hooks';
import { at } from './i18n.js';
import { codes, label } from './vocab.js';
import { problem, useAdmin } from './context.js';
import { usePlaces, villageLabel } from './places.js';
import { downloadHousehold, eraseHousehold, erasedNoteKey } from './erasure.js';
import { Worklog } from './visits.jsx';

export function Households() {
  const { api } = useAdmin();
  const places = usePlaces();
  const [village, setVillage] = useState('');
  const [items, setItems] = useState(null);
  const [editing, setEditing] = useState(null); // the household detail being edited
  const [note, setNote] = useState(null);
  const [error, setError] = useState(null);
  const villages = Object.keys(places.names).filter((code) => code.length === 12).sort();
  const load = async (code) => {
    setVillage(code);
    setItems(null);
    setEditing(null);
    if (!/^\d{12}$/.test(code)) return;
    try {
      const answer = await api.get('/completeness/households', { village: code, limit: 500 });
      // By the head's name, as the paper 民情档案 is kept (the API lists them by status).
      setItems(answer.items.sort((a, b) => (a.head_name || '').localeCompare(b.head_name || '', 'zh-CN')));
      setError(null);
    } catch (e) {
      setError(problem(e));
    }
  };
  const open = async (id) => {
    try {
      setEditing(await api.get(`/households/${id}`));
      setNote(null);
    } catch (e) {
      setError(problem(e));
    }
  };
  const done = (message) => {
    setNote(message);
    setEditing(null);
    load(village);
  };
  return (
    <section class="card" data-testid="households">
      <h2>{at('households_title')}</h2>
      <div class="filters">
        <label>
          {at('village')}
          {villages.length ? (
            <select value={village} onChange={(e) => load(e.currentTarget.value)} data-testid="households-village">
              <option value="">—</option>
              {villages.map((code) => (
                <option value={code}>{villageLabel(places, code)}</option>
              ))}
            </select>
          ) : (
            <input value={village} pattern="\d{12}" onInput={(e) => load(e.currentTarget.value)} data-testid="households-village" />
          )}
        </label>
      </div>
      {error && <p class="error">{error}</p>}
      {note && <p class="hint ok" data-testid="households-note">{note}</p>}
      {editing && (
        <HouseholdEditor key={`${editing.id}:${editing.version}`} household={editing} done={done} cancel={() => setEditing(null)} />
      )}
      {items && (
        <table class="grid">
          <thead>
            <tr>
              <th>{at('head')}</th>
              <th>{at('status')}</th>
              <th>{at('last_visit')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((h) => (
              <tr data-household={h.head_name}>
                <td>{h.head_name || '—'}</td>
                <td>{label('due_status', h.status)}</td>
                <td>{h.last_visit || at('never')}</td>
                <td class="actions">
                  <button type="button" class="link" onClick={() => open(h.household_id)}>{at('cadre_change')}</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

// Uncontrolled inputs (default values, keyed by version): every live update re-renders the admin pages,
// and a controlled `value` would put the stored figures back over what the admin is typing.
function HouseholdEditor({ household, done, cancel }) {
  const { api } = useAdmin();
  const [error, setError] = useState(null);
  const send = async (action, body, message) => {
    try {
      await api.post(`/households/${household.id}/${action}`, { ...body, expected_version: household.version });
      done(message);
    } catch (e) {
      setError(problem(e));
    }
  };
  const retag = (event) => {
    event.preventDefault();
    send('retag', { tags: new FormData(event.currentTarget).getAll('tags') }, at('retagged_note'));
  };
  const relocate = (event) => {
    event.preventDefault();
    const f = new FormData(event.currentTarget);
    send('relocate', {
      village: household.village,
      township: household.township,
      address: f.get('address'),
      lat: parseFloat(f.get('lat')),
      lon: parseFloat(f.get('lon')),
    }, at('relocated_note'));
  };
  const archive = (event) => {
    event.preventDefault();
    send('archive', { reason: new FormData(event.currentTarget).get('reason') }, at('archived_note'));
  };
  return (
    <div class="household-editor" data-testid="household-editor">
      <h3>{household.erased ? at('household_erased') : `${household.head_name || '—'} · ${household.address}`}</h3>
      <form class="filters" onSubmit={retag}>
        <fieldset class="tags">
          <legend>{at('tags')}</legend>
          {codes('household_tag').map((tag) => (
            <label class="check">
              <input type="checkbox" name="tags" value={tag} defaultChecked={household.tags.includes(tag)} />
              {label('household_tag', tag)}
            </label>
          ))}
        </fieldset>
        <button>{at('save_tags')}</button>
      </form>
      <form class="filters" onSubmit={relocate}>
        <label>
          {at('address')}
          <input name="address" required maxLength={100} defaultValue={household.address} />
        </label>
        <label>
          {at('lat')}
          <input name="lat" type="number" step="any" min="-90" max="90" required defaultValue={household.lat} />
        </label>
        <label>
          {at('lon')}
          <input name="lon" type="number" step="any" min="-180" max="180" required defaultValue={household.lon} />
        </label>
        <button>{at('save_place')}</button>
      </form>
      <form class="filters" onSubmit={archive}>
        <label>
          {at('archive_reason')}
          <input name="reason" required maxLength={200} />
        </label>
        <button class="depart">{at('archive')}</button>
        <button type="button" class="link" onClick={cancel}>{at('cancel')}</button>
      </form>
      <PersonalData household={household} done={done} />
      {error && <p class="error" data-testid="household-error">{error}</p>}
      <Worklog path={`/households/${household.id}/worklog`} title={at('worklog')} />
    </div>
  );
}

// Export and erasure: erasing asks first, in a dialog that needs a reason (kept in the audit log).
function PersonalData({ household, done }) {
  const { api } = useAdmin();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState(null);
  const download = async () => {
    try {
      await downloadHousehold(api, household.id);
    } catch (e) {
      setError(problem(e));
    }
  };
  const erase = async (event) => {
    event.preventDefault();
    try {
      const answer = await eraseHousehold(api, household.id, new FormData(event.currentTarget).get('reason'));
      done(at(erasedNoteKey(answer)));
    } catch (e) {
      setError(problem(e));
    }
  };
  return (
    <div class="filters" data-testid="household-personal">
      <button type="button" onClick={download} data-testid="household-export">{at('export_household')}</button>
      {household.erased ? (
        <span class="hint" data-testid="household-erased">{at('household_erased')}</span>
      ) : (
        <button type="button" class="depart" onClick={() => setConfirming(true)} data-testid="household-erase">
          {at('erase_household')}
        </button>
      )}
      {confirming && (
        <dialog open aria-labelledby="erase-title" data-testid="erase-dialog">
          <form onSubmit={erase}>
            <h4 id="erase-title">{at('erase_household')}</h4>
            <p>{at('erase_warning', { name: household.head_name || '—' })}</p>
            <label>
              {at('erase_reason')}
              <input name="reason" required pattern=".*\S.*" maxLength={200} data-testid="erase-reason" />
            </label>
            <button class="depart" data-testid="erase-confirm">{at('erase_confirm')}</button>
            <button type="button" class="link" onClick={() => setConfirming(false)}>{at('cancel')}</button>
          </form>
        </dialog>
      )}
      {error && <p class="error" data-testid="household-personal-error">{error}</p>}
    </div>
  );
}
