// Compliance tables: household-visit completeness, pairing compliance, interview coverage and the days
// stayed (./stays.jsx), each with its filters and its ledger export (XLSX/CSV, the server's own 台账 with Chinese headers).
import { useState } from 'preact/hooks';
import { at, pct } from './i18n.js';
import { codes, label } from './vocab.js';
import { everyPage } from './api.js';
import { problem, ready, useAdmin, useLive } from './context.js';
import { placeName, usePlaces } from './places.js';
import { EndPairing, NewPairing } from './pairing.jsx';
import { quotaCells } from './visits.js';
import { Stays } from './stays.jsx';

const TABS = [
  ['completeness', 'compliance_completeness'],
  ['pairings', 'compliance_pairings'],
  ['interviews', 'compliance_interviews'],
  ['shortfalls', 'compliance_shortfalls'],
  ['stays', 'compliance_stays'],
];
const STATUSES = codes('due_status');
const RANKS = codes('rank');

export function Compliance() {
  const [tab, setTab] = useState('completeness');
  return (
    <div>
      <div class="tabs">
        {TABS.map(([name, key]) => (
          <button class={tab === name ? 'active' : ''} onClick={() => setTab(name)} data-testid={`tab-${name}`}>
            {at(key)}
          </button>
        ))}
      </div>
      {tab === 'completeness' && <Completeness />}
      {tab === 'pairings' && <Pairings />}
      {tab === 'interviews' && <Interviews />}
      {tab === 'shortfalls' && <Shortfalls />}
      {tab === 'stays' && <Stays />}
    </div>
  );
}

export function ExportButtons({ path, params = {} }) {
  const { api } = useAdmin();
  const [note, setNote] = useState(null);
  const [busy, setBusy] = useState(false);
  // A whole county's ledger takes seconds to write (290,000 households: about 15 s): say so, and take no
  // second click meanwhile.
  const run = async (format) => {
    setBusy(true);
    setNote(at('exporting'));
    try {
      const name = await api.download(path, { ...params, format }, `export.${format}`);
      setNote(at('exported', { name }));
    } catch (e) {
      setNote(at('error', { detail: problem(e) }));
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="exports">
      <button onClick={() => run('xlsx')} disabled={busy} data-testid={`export-${path.split('/').pop()}`}>
        {at('export_xlsx')}
      </button>
      <button onClick={() => run('csv')} disabled={busy}>{at('export_csv')}</button>
      {note && <small class="hint">{note}</small>}
    </span>
  );
}

function Select({ label, value, onChange, options, testid }) {
  return (
    <label>
      {label}
      <select value={value} onChange={(e) => onChange(e.currentTarget.value)} data-testid={testid}>
        <option value="">{at('all')}</option>
        {options.map(([code, text]) => (
          <option value={code}>{text}</option>
        ))}
      </select>
    </label>
  );
}

const statusOptions = () => STATUSES.map((s) => [s, label('due_status', s)]);
const rankOptions = () => RANKS.map((r) => [r, label('rank', r)]);
// "Every left-behind child visited this year": the households carrying one tag.
const tagOptions = () => codes('household_tag').map((tag) => [tag, label('household_tag', tag)]);

/** Township and village choices: the county's named places plus any code the rows carry; a chosen
 * township narrows the villages to its own (a village code starts with its township's). */
function placeChoices(places, seen, township) {
  const codes = [...new Set([...Object.keys(places.names), ...seen.filter(Boolean)])].sort();
  const named = (code) => [code, placeName(places, code)];
  return {
    townships: codes.filter((c) => c.length === 9).map(named),
    villages: codes.filter((c) => c.length === 12 && (!township || c.startsWith(township))).map(named),
  };
}

/** Cadre choices "name（township）" from GET /cadres. */
const cadreOptions = (cadres, places) =>
  cadres.map((c) => [c.id, c.township ? `${c.name}（${placeName(places, c.township)}）` : c.name]);

/** Only the filters that are set, as query parameters for a list and for its export. */
const chosen = (filters) => Object.fromEntries(Object.entries(filters).filter(([, v]) => v));

/** A table's filters, one select per `[name, options]` (choosing a township clears the village), and its
 * ledger export with the same filters. Test ids: `{prefix}filter-township`, `…-cadre` for `cadre_id`. */
function FilterBar({ filters, setFilters, choices, exportPath, prefix = '' }) {
  return (
    <div class="filters">
      {choices.map(([name, options]) => {
        const kind = name.replace(/_id$/, '');
        return (
          <Select
            label={at(`filter_${kind}`)}
            value={filters[name]}
            testid={`${prefix}filter-${kind}`}
            onChange={(value) =>
              setFilters({ ...filters, [name]: value, ...(name === 'township' && 'village' in filters && { village: '' }) })
            }
            options={options}
          />
        );
      })}
      <ExportButtons path={exportPath} params={chosen(filters)} />
    </div>
  );
}
const Status = ({ value }) => <span class={`pill ${value}`}>{label('due_status', value)}</span>;

function Completeness() {
  const { api } = useAdmin();
  const places = usePlaces();
  const [filters, setFilters] = useState({ township: '', village: '', cadre: '', status: '', tag: '' });
  const cadres = useCadres();
  const [summary, setSummary] = useState(null);
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  const load = async () => {
    try {
      const [s, p] = await Promise.all([
        api.get('/completeness', filters.tag ? { tag: filters.tag } : {}),
        api.get('/completeness/households', { ...chosen(filters), limit: 500 }),
      ]);
      setSummary(s);
      setPage(p);
      ready('admin-compliance');
    } catch (e) {
      setError(problem(e));
    }
  };
  useLive(['completeness'], load, Object.values(filters));
  const { townships, villages } = placeChoices(
    places,
    [...(summary?.townships.map((t) => t.township) ?? []), ...(page?.items ?? []).map((h) => h.village)],
    filters.township,
  );
  return (
    <section class="card">
      <FilterBar
        filters={filters}
        setFilters={setFilters}
        exportPath="/exports/completeness"
        choices={[
          ['township', townships],
          ['village', villages],
          ['cadre', cadreOptions(cadres, places)],
          ['status', statusOptions()],
          ['tag', tagOptions()],
        ]}
      />
      {error && <p class="error">{at('error', { detail: error })}</p>}
      {summary && (
        <table class="grid compact">
          <thead>
            <tr>
              <th>{at('township')}</th>
              <th>{at('households')}</th>
              <th>{at('complete_pct')}</th>
              <th>{at('status_due')}</th>
              <th>{at('status_overdue')}</th>
            </tr>
          </thead>
          <tbody>
            <tr class="total">
              <td>{at('total')}</td>
              <td>{summary.county.households}</td>
              <td data-testid="completeness-pct">{pct(summary.county.complete_pct)}</td>
              <td>{summary.county.due}</td>
              <td>{summary.county.overdue}</td>
            </tr>
            {summary.townships.map((t) => (
              <tr>
                <td>{placeName(places, t.township)}</td>
                <td>{t.households}</td>
                <td>{pct(t.complete_pct)}</td>
                <td>{t.due}</td>
                <td>{t.overdue}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page && (
        <>
          <p class="hint" data-testid="rows">{at('rows', { n: page.total })}</p>
          <table class="grid" data-testid="completeness-table">
            <thead>
              <tr>
                <th>{at('head_name')}</th>
                <th>{at('village')}</th>
                <th>{at('visits_this_year')}</th>
                <th>{at('required')}</th>
                <th>{at('last_visit')}</th>
                <th>{at('next_due')}</th>
                <th>{at('status')}</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((h) => (
                <tr>
                  <td>{h.head_name || '—'}</td>
                  <td>{placeName(places, h.village)}</td>
                  <td>{h.visits_this_year}</td>
                  <td>{h.required}</td>
                  <td>{h.last_visit || at('never')}</td>
                  <td>{h.next_due}</td>
                  <td>
                    <Status value={h.status} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

/** The county's active cadres (GET /cadres) for the cadre filter: they answer for their paired
 * households and their township's (the server applies that rule). */
function useCadres() {
  const { api } = useAdmin();
  const [cadres, setCadres] = useState([]);
  useLive([], async () => {
    const answer = await api.get('/cadres').catch(() => ({ cadres: [] }));
    setCadres(answer.cadres);
  }, []);
  return cadres;
}

const cadreNames = (cadres) => Object.fromEntries(cadres.map((c) => [c.id, c.name]));

/** A keyset-paged compliance list with the filters set and its summary, reloaded when the filters or
 * the read model change: `{ summary, items, error }`. */
function useListing(projection, summaryPath, listPath, filters) {
  const { api } = useAdmin();
  const [state, setState] = useState({ summary: null, items: null, error: null });
  useLive([projection], async () => {
    try {
      const [summary, items] = await Promise.all([api.get(summaryPath), everyPage(api, listPath, chosen(filters))]);
      setState({ summary, items, error: null });
    } catch (e) {
      setState((now) => ({ ...now, error: problem(e) }));
    }
  }, Object.values(filters));
  return state;
}

function Pairings() {
  const places = usePlaces();
  const cadres = useCadres();
  const names = cadreNames(cadres);
  const [filters, setFilters] = useState({ township: '', village: '', cadre_id: '', rank: '', status: '' });
  const { summary, items, error } = useListing('pairing', '/pairings/summary', '/pairings', filters);
  const { townships, villages } = placeChoices(places, (items ?? []).flatMap((p) => [p.township, p.village]), filters.township);
  const [note, setNote] = useState(null);
  // The table follows the pairing read model (SSE), so a new or ended pairing shows once projected.
  const allVillages = placeChoices(places, [], '').villages;
  return (
    <section class="card">
      <NewPairing cadres={cadres} villages={allVillages} done={setNote} />
      {note && <p class="hint ok" data-testid="pairing-note">{note}</p>}
      <FilterBar
        filters={filters}
        setFilters={setFilters}
        exportPath="/exports/pairings"
        prefix="pairings-"
        choices={[
          ['township', townships],
          ['village', villages],
          ['cadre_id', cadreOptions(cadres, places)],
          ['rank', rankOptions()],
          ['status', statusOptions()],
        ]}
      />
      {(filters.township || filters.village) && <p class="hint">{at('pairings_place_hint')}</p>}
      {error && <p class="error">{at('error', { detail: error })}</p>}
      {summary && (
        <p class="hint">
          {at('pairing_ok_pct')}: <b>{pct(summary.compliant_pct ?? summary.not_overdue_pct)}</b>
        </p>
      )}
      {items && (
        <>
          <p class="hint" data-testid="pairings-rows">{at('rows', { n: items.length })}</p>
          <table class="grid" data-testid="pairings-table">
            <thead>
              <tr>
                <th>{at('cadre')}</th>
                <th>{at('rank')}</th>
                <th>{at('target')}</th>
                <th>{at('village')}</th>
                <th>{at('cadence')}</th>
                <th>{at('last_visit')}</th>
                <th>{at('visits_in_period')}</th>
                <th>{at('due_date')}</th>
                <th>{at('status')}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((p) => (
                <tr data-pairing={p.pairing_id}>
                  <td>{names[p.cadre_id] || p.cadre_id}</td>
                  <td>{p.rank ? label('rank', p.rank) : '—'}</td>
                  <td>
                    {label('target_kind', p.target_kind)} · {p.household_id ? p.head_name || '—' : p.target_id}
                  </td>
                  <td>{placeName(places, p.village)}</td>
                  <td>{label('cadence', p.cadence)}</td>
                  <td>{p.last_visit || at('never')}</td>
                  <td>{p.visits_in_period}</td>
                  <td>{p.due_date}</td>
                  <td>
                    <Status value={p.status} />
                  </td>
                  <td class="actions">
                    <EndPairing pairing={p} done={setNote} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function Interviews() {
  const places = usePlaces();
  const cadres = useCadres();
  const names = cadreNames(cadres);
  const [filters, setFilters] = useState({ township: '', cadre_id: '', rank: '', status: '' });
  const { summary: coverage, items, error } = useListing('interviews', '/interviews/coverage', '/interviews/cadres', filters);
  const { townships } = placeChoices(places, [...cadres.map((c) => c.township), ...(items ?? []).map((c) => c.township)]);
  return (
    <section class="card">
      <FilterBar
        filters={filters}
        setFilters={setFilters}
        exportPath="/exports/interviews"
        prefix="interviews-"
        choices={[
          ['township', townships],
          ['cadre_id', cadreOptions(cadres, places)],
          ['rank', rankOptions()],
          ['status', statusOptions()],
        ]}
      />
      {error && <p class="error">{at('error', { detail: error })}</p>}
      {coverage && (
        <p class="hint">
          {at('interview_coverage')}: <b>{pct(coverage.county?.coverage_pct ?? coverage.coverage_pct)}</b>
        </p>
      )}
      {items && (
        <>
          <p class="hint" data-testid="interviews-rows">{at('rows', { n: items.length })}</p>
          <table class="grid" data-testid="interviews-table">
            <thead>
              <tr>
                <th>{at('cadre')}</th>
                <th>{at('rank')}</th>
                <th>{at('township')}</th>
                <th>{at('interviews_this_year')}</th>
                <th>{at('required_interviews')}</th>
                <th>{at('last_interview')}</th>
                <th>{at('status')}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <tr>
                  <td>{names[c.cadre_id] || c.cadre_id}</td>
                  <td>{c.rank ? label('rank', c.rank) : '—'}</td>
                  <td>{placeName(places, c.township)}</td>
                  <td>{c.interviews_this_year}</td>
                  <td>{c.required}</td>
                  <td>{c.last_interview?.day || at('never')}</td>
                  <td>
                    <Status value={c.status} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

/** `short/required` of one quota rule, '—' where the county keeps no such rule. */
const QuotaCell = ({ cell }) => (cell ? <span class={cell.met ? '' : 'pill overdue'}>{`${cell.short}/${cell.required}`}</span> : '—');

/** Every active cadre short of a pairing quota now (GET /pairings/shortfalls), by township and rank, with
 * the same filters on its ledger (结对缺额台账). */
function Shortfalls() {
  const { api } = useAdmin();
  const places = usePlaces();
  const cadres = useCadres();
  const names = cadreNames(cadres);
  const [filters, setFilters] = useState({ township: '', rank: '' });
  const [state, setState] = useState({ items: null, error: null });
  useLive(['pairing'], async () => {
    try {
      setState({ items: await everyPage(api, '/pairings/shortfalls', chosen(filters)), error: null });
    } catch (e) {
      setState((now) => ({ ...now, error: problem(e) }));
    }
  }, Object.values(filters));
  const { items, error } = state;
  const { townships } = placeChoices(places, [...cadres.map((c) => c.township), ...(items ?? []).map((c) => c.township)]);
  return (
    <section class="card">
      <p class="hint">{at('shortfalls_hint')}</p>
      <FilterBar
        filters={filters}
        setFilters={setFilters}
        exportPath="/exports/shortfalls"
        prefix="shortfalls-"
        choices={[
          ['township', townships],
          ['rank', rankOptions()],
        ]}
      />
      {error && <p class="error">{at('error', { detail: error })}</p>}
      {items && !items.length && <p class="empty">{at('no_shortfalls')}</p>}
      {items && items.length > 0 && (
        <>
          <p class="hint" data-testid="shortfalls-rows">{at('rows', { n: items.length })}</p>
          <table class="grid" data-testid="shortfalls-table">
            <thead>
              <tr>
                <th>{at('cadre')}</th>
                <th>{at('rank')}</th>
                <th>{at('township')}</th>
                <th>{at('pairings_count')}</th>
                <th>{at('shortfall_hardship')}</th>
                <th>{at('shortfall_by_rank')}</th>
                <th>{at('shortfall_contacts')}</th>
                <th>{at('shortfall_max')}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((row) => {
                const cells = quotaCells(row);
                return (
                  <tr data-cadre={row.cadre_id}>
                    <td>{names[row.cadre_id] || row.cadre_id}</td>
                    <td>{label('rank', row.rank)}</td>
                    <td>{placeName(places, row.township)}</td>
                    <td>{row.pairings}</td>
                    <td>
                      <QuotaCell cell={cells.hardship} />
                    </td>
                    <td>
                      <QuotaCell cell={cells.byRank} />
                    </td>
                    <td>{cells.missing.map((k) => label('target_kind', k)).join('、') || '—'}</td>
                    <td>
                      <b>{cells.shortfall}</b>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
