// Households and people: the household import (民情档案, CSV/XLSX) with its row-by-row error report,
// one village's households to keep up to date, the county's cadres (enrol, change, departure) and its
// accounts (create, disable, new password), and the county's audit log.
import { useState } from 'preact/hooks';
import { at } from './i18n.js';
import { codes, label } from './vocab.js';
import { problem, ready, useAdmin, useLive } from './context.js';
import { placeName, usePlaces } from './places.js';
import { Households } from './households.jsx';
import { AuditLog } from './audit.jsx';
import { Proposals } from './proposals.jsx';
import { IMPORT_KINDS, importKind, importSummary, PEOPLE_IMPORTS, uploadImport } from './imports.js';
import { useDepartments } from './review.jsx';
import { departmentName } from './reviewing.js';

const RANKS = codes('rank');
const COUNTY_ROLES = ['county_admin', 'department', 'cadre'];

export function People() {
  const { api } = useAdmin();
  const [cadres, setCadres] = useState(null);
  const [error, setError] = useState(null);
  // One list for both cards: the cadre table, and the cadre an account of role "cadre" belongs to.
  const load = () => api.get('/cadres').then((answer) => {
    setCadres(answer.cadres);
    ready('admin-people');
  }, (e) => setError(problem(e)));
  useLive(['leaderboards'], load, []);
  const [accountChanges, setAccountChanges] = useState(0); // the audit log reloads after each
  return (
    <div class="people">
      <Import kinds={PEOPLE_IMPORTS} />
      <Proposals />
      <Households />
      <Cadres cadres={cadres} reload={load} loadError={error} />
      <Users cadres={cadres || []} changed={() => setAccountChanges((n) => n + 1)} />
      <AuditLog refresh={accountChanges} />
    </div>
  );
}

/** The file import of `kinds` (./imports.js): a kind picker when there are several, the template, the upload
 * and the row-by-row report of a rejected file. */
export function Import({ kinds, title = 'people_import' }) {
  const { api } = useAdmin();
  const [kind, setKind] = useState(kinds[0]); // 民情档案, 干部名册, 结对名单 or 联系对象名录
  const [result, setResult] = useState(null);
  const [rejected, setRejected] = useState(null);
  const [busy, setBusy] = useState(false);
  const choose = (next) => {
    setKind(next);
    setResult(null);
    setRejected(null);
  };
  const submit = async (event) => {
    event.preventDefault();
    const file = new FormData(event.currentTarget).get('file');
    if (!file || !file.name) return;
    setBusy(true);
    setResult(null);
    setRejected(null);
    try {
      const answer = await uploadImport(api, kind, file);
      if (answer.result) setResult({ kind, ...answer.result });
      else setRejected({ message: problem(answer.rejected.error), errors: answer.rejected.errors });
    } catch (e) {
      setRejected({ message: problem(e), errors: [] });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" data-testid="import">
      <h2>{at(title)}</h2>
      <p class="hint">{at('import_hint')}</p>
      <form class="filters" onSubmit={submit}>
        {kinds.length > 1 && (
          <select value={kind} onChange={(e) => choose(e.currentTarget.value)} data-testid="import-kind">
            {kinds.map((k) => <option value={k}>{at(IMPORT_KINDS[k].title)}</option>)}
          </select>
        )}
        <input type="file" name="file" accept=".csv,.xlsx" data-testid="import-file" />
        <button class="primary-inline" disabled={busy} data-testid="import-submit">
          {at('import_submit')}
        </button>
        <button type="button" onClick={() => api.download(importKind(kind).template, { format: 'xlsx' })}>
          {at('import_template')}
        </button>
      </form>
      {result && (
        <p class="hint ok" data-testid="import-result">
          {at(...importSummary(result.kind, result))}
          {result.ignored_columns.length > 0 && ` ${at('import_ignored', { columns: result.ignored_columns.join('、') })}`}
        </p>
      )}
      {rejected && (
        <div data-testid="import-errors">
          <p class="error">{rejected.message}</p>
          {rejected.errors.length > 0 && (
            <table class="grid">
              <caption>{at('import_errors')}</caption>
              <thead>
                <tr>
                  <th>{at('import_row')}</th>
                  <th>{at('import_column')}</th>
                  <th>{at('import_reason')}</th>
                </tr>
              </thead>
              <tbody>
                {rejected.errors.map((e) => (
                  <tr>
                    <td>{e.row ?? '—'}</td>
                    <td>{e.column ?? '—'}</td>
                    <td>{e.message_zh && document.documentElement.lang !== 'en' ? e.message_zh : e.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </section>
  );
}

function Cadres({ cadres, reload, loadError }) {
  const { api } = useAdmin();
  const places = usePlaces();
  const [error, setError] = useState(null);
  const [note, setNote] = useState(null);
  const [editing, setEditing] = useState(null); // the cadre whose rank, unit or township is being changed
  const enrol = async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const f = new FormData(form);
    try {
      await api.post('/cadres', {
        name: f.get('name'),
        rank: f.get('rank'),
        unit: f.get('unit'),
        township: f.get('township') || null,
        phone: f.get('phone') || null,
      });
      setNote(at('done'));
      setError(null);
      form.reset();
      reload();
    } catch (e) {
      setError(problem(e));
    }
  };
  const townships = Object.keys(places.names).filter((code) => code.length === 9).sort();
  return (
    <section class="card" data-testid="cadres">
      <h2>{at('cadres')}</h2>
      <form class="filters" onSubmit={enrol}>
        <label>
          {at('name')}
          <input name="name" required />
        </label>
        <CadreFields townships={townships} />
        <label>
          {at('phone')}
          <input name="phone" />
        </label>
        <button>{at('enrol_cadre')}</button>
      </form>
      {(error || loadError) && <p class="error">{error || loadError}</p>}
      {note && <p class="hint ok">{note}</p>}
      {cadres && (
        <table class="grid">
          <thead>
            <tr>
              <th>{at('name')}</th>
              <th>{at('rank')}</th>
              <th>{at('unit')}</th>
              <th>{at('township')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {cadres.map((c) =>
              editing === c.id ? (
                <CadreEditor cadre={c} townships={townships} done={(message) => {
                  setEditing(null);
                  setNote(message);
                  setError(null);
                  reload();
                }} cancel={() => setEditing(null)} />
              ) : (
                <tr data-cadre={c.name}>
                  <td>{c.name}</td>
                  <td>{label('rank', c.rank)}</td>
                  <td>{c.unit}</td>
                  <td>{placeName(places, c.township)}</td>
                  <td class="actions">
                    <button type="button" class="link" onClick={() => setEditing(c.id)}>{at('cadre_change')}</button>
                  </td>
                </tr>
              ),
            )}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Rank, unit and township: empty when enrolling, a cadre's own when changing them. */
function CadreFields({ cadre = null, townships }) {
  const places = usePlaces();
  const choices = [...new Set([...(cadre?.township ? [cadre.township] : []), ...townships])];
  return (
    <>
      <label>
        {at('rank')}
        <select name="rank">
          {RANKS.map((r) => (
            <option value={r} selected={r === cadre?.rank}>{label('rank', r)}</option>
          ))}
        </select>
      </label>
      <label>
        {at('unit')}
        <input name="unit" required defaultValue={cadre?.unit} />
      </label>
      <label>
        {at('township')}
        {townships.length ? (
          <select name="township">
            <option value="">—</option>
            {choices.map((code) => (
              <option value={code} selected={code === cadre?.township}>{placeName(places, code)}</option>
            ))}
          </select>
        ) : (
          <input name="township" pattern="\d{9}" defaultValue={cadre?.township || ''} />
        )}
      </label>
    </>
  );
}

// One cadre's row as a form: a new rank, a transfer (unit, township), or a departure with its reason.
// Each is a command on the cadre with its expected version; a second one goes with the version the
// first returned.
function CadreEditor({ cadre, townships, done, cancel }) {
  const { api } = useAdmin();
  const [error, setError] = useState(null);
  const save = async (event) => {
    event.preventDefault();
    const f = new FormData(event.currentTarget);
    let version = cadre.version;
    try {
      if (f.get('rank') !== cadre.rank) {
        version = (await api.post(`/cadres/${cadre.id}/rank`, { rank: f.get('rank'), expected_version: version }))
          .result.version;
      }
      const township = f.get('township') || null;
      if (f.get('unit').trim() !== cadre.unit || township !== (cadre.township || null)) {
        await api.post(`/cadres/${cadre.id}/transfer`, { unit: f.get('unit'), township, expected_version: version });
      }
      done(at('done'));
    } catch (e) {
      setError(problem(e));
    }
  };
  const depart = async (event) => {
    const reason = event.currentTarget.form.elements.reason.value.trim();
    if (!reason) {
      setError(at('depart_needs_reason'));
      return;
    }
    try {
      await api.post(`/cadres/${cadre.id}/depart`, { reason, expected_version: cadre.version });
      done(at('departed_note', { name: cadre.name }));
    } catch (e) {
      setError(problem(e));
    }
  };
  return (
    <tr class="editing" data-cadre={cadre.name}>
      <td colSpan={5}>
        <form class="filters" onSubmit={save}>
          <strong>{cadre.name}</strong>
          <CadreFields cadre={cadre} townships={townships} />
          <button>{at('save')}</button>
          <label>
            {at('depart_reason')}
            <input name="reason" />
          </label>
          <button type="button" class="depart" onClick={depart}>{at('depart')}</button>
          <button type="button" class="link" onClick={cancel}>{at('cancel')}</button>
        </form>
        {error && <p class="error">{error}</p>}
      </td>
    </tr>
  );
}

function Users({ cadres, changed }) {
  const places = usePlaces();
  const { api } = useAdmin();
  const [users, setUsers] = useState(null);
  const [role, setRole] = useState('department');
  const departments = useDepartments(); // once the county lists them, an account acts for one of them
  const [error, setError] = useState(null);
  const [note, setNote] = useState(null);
  const [resetting, setResetting] = useState(null); // the account whose new password is being typed
  const { session } = useAdmin();
  const load = () => api.get('/users').then((answer) => setUsers(answer.users), (e) => setError(problem(e)));
  useLive([], load, []);
  // Disabling or a new password ends the account's sessions on the server (a lost phone stops working).
  const change = async (user, body, done) => {
    try {
      await api.patch(`/users/${user.id}`, body);
      setNote(done);
      setError(null);
      setResetting(null);
      load();
      changed();
    } catch (e) {
      setError(problem(e));
    }
  };
  const setPassword = (user) => (event) => {
    event.preventDefault();
    const password = new FormData(event.currentTarget).get('password');
    change(user, { password }, at('password_set', { username: user.username }));
  };
  const create = async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const f = new FormData(form);
    try {
      await api.post('/users', {
        username: f.get('username'),
        display_name: f.get('display_name'),
        password: f.get('password'),
        roles: [role],
        department: role === 'department' ? f.get('department') : null,
        cadre_id: role === 'cadre' ? f.get('cadre_id') : null,
      });
      setNote(at('done'));
      setError(null);
      form.reset();
      load();
      changed();
    } catch (e) {
      setError(problem(e));
    }
  };
  return (
    <section class="card" data-testid="users">
      <h2>{at('users')}</h2>
      <form class="filters" onSubmit={create}>
        <label>
          {at('username')}
          <input name="username" required autocomplete="off" />
        </label>
        <label>
          {at('display_name')}
          <input name="display_name" required />
        </label>
        <label>
          {at('password')}
          <input name="password" type="password" minlength="8" required autocomplete="new-password" />
        </label>
        <label>
          {at('roles')}
          <select value={role} onChange={(e) => setRole(e.currentTarget.value)}>
            {COUNTY_ROLES.map((r) => (
              <option value={r}>{label('role', r)}</option>
            ))}
          </select>
        </label>
        {role === 'department' && (
          <label>
            {at('department')}
            {departments.length ? (
              <select name="department" required>
                {departments.map((d) => (
                  <option value={d.code}>{d.name}</option>
                ))}
              </select>
            ) : (
              <input name="department" required />
            )}
          </label>
        )}
        {role === 'cadre' && (
          <label>
            {at('cadre')}
            <select name="cadre_id" required data-testid="user-cadre">
              <option value="">—</option>
              {cadres.map((c) => (
                <option value={c.id}>{c.township ? `${c.name}（${placeName(places, c.township)}）` : c.name}</option>
              ))}
            </select>
          </label>
        )}
        <button>{at('add_user')}</button>
      </form>
      {error && <p class="error">{error}</p>}
      {note && <p class="hint ok">{note}</p>}
      {users && (
        <table class="grid">
          <thead>
            <tr>
              <th>{at('username')}</th>
              <th>{at('display_name')}</th>
              <th>{at('roles')}</th>
              <th>{at('belongs_to')}</th>
              <th>{at('account_state')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr class={u.disabled ? 'disabled' : ''} data-username={u.username}>
                <td>{u.username}</td>
                <td>{u.display_name}</td>
                <td>{u.roles.map((r) => label('role', r)).join('、')}</td>
                <td>
                  {(u.department && departmentName(departments, u.department)) ||
                    cadres.find((c) => c.id === u.cadre_id)?.name || '—'}
                </td>
                <td>{at(u.disabled ? 'account_disabled' : 'account_active')}</td>
                <td class="actions">
                  {u.id !== session.user.id && (
                    <button
                      type="button"
                      class="link"
                      onClick={() =>
                        change(u, { disabled: !u.disabled }, at(u.disabled ? 'enabled_note' : 'disabled_note', { username: u.username }))
                      }
                    >
                      {at(u.disabled ? 'enable' : 'disable')}
                    </button>
                  )}
                  {resetting === u.id ? (
                    <form class="inline" onSubmit={setPassword(u)}>
                      <input name="password" type="password" minlength="8" required autocomplete="new-password"
                        aria-label={at('new_password')} placeholder={at('new_password')} />
                      <button>{at('save')}</button>
                      <button type="button" class="link" onClick={() => setResetting(null)}>{at('cancel')}</button>
                    </form>
                  ) : (
                    <button type="button" class="link" onClick={() => setResetting(u.id)}>
                      {at('reset_password')}
                    </button>
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
