// The composite assessment (三维考核): the county's weights, and the democratic evaluation (民主测评) and
// opinion poll (民意调查) scores an admin enters for each cadre and a year or a quarter. Each changed
// score is one `enter_assessment_score` command (POST /assessment-scores); entering it again replaces it.
import { useEffect, useState } from 'preact/hooks';
import { at } from './i18n.js';
import { problem, ready, today, useAdmin, useLive } from './context.js';
import { periodLabel } from './leaderboards.jsx';
import { ExportButtons } from './compliance.jsx';

export const PARTS = ['completeness', 'pairing', 'interviews', 'resolution', 'satisfaction', 'receptions', 'reports', 'evaluation', 'poll'];
const ENTERED = ['evaluation', 'poll'];

/** "民主测评 40%、民意调查 30%…" from the rule's `{part: weight}`. */
export function weightsText(weights) {
  if (!weights) return at('as_weights_off');
  return at('as_weights', { weights: PARTS.filter((p) => weights[p]).map((p) => `${at(`as_part_${p}`)} ${weights[p]}%`).join('、') });
}

/** The periods a county assesses for: this and last year, each with its quarters. */
function periods(year) {
  return [year, year - 1].flatMap((y) => [{ value: String(y), kind: 'year', year: y },
    ...[1, 2, 3, 4].map((q) => ({ value: `${y}-Q${q}`, kind: 'quarter', year: y, q }))]);
}

export function Assessment() {
  const { api } = useAdmin();
  const year = Number(today().slice(0, 4));
  const [period, setPeriod] = useState(String(year));
  const [cadres, setCadres] = useState(null);
  const [entered, setEntered] = useState({});
  const [loads, setLoads] = useState(0); // the inputs start again from each load's scores
  const [weights, setWeights] = useState(undefined);
  const [note, setNote] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api.get('/rules').then((rules) => setWeights(rules.assessment_weights), () => setWeights(null));
    api.get('/cadres').then((answer) => setCadres(answer.cadres), (e) => setError(problem(e)));
  }, []);
  useLive(
    ['assessment'],
    async () => {
      try {
        const page = await api.get('/assessment/entered', { period });
        setEntered(Object.fromEntries(page.items.map((row) => [row.cadre_id, row])));
        setLoads((n) => n + 1);
        ready('admin-assessment');
      } catch (e) {
        setError(problem(e));
      }
    },
    [period],
  );

  const save = async (event, cadre) => {
    event.preventDefault();
    const f = new FormData(event.currentTarget);
    try {
      for (const part of ENTERED) {
        const text = String(f.get(part) ?? '').trim();
        if (text === '' || Number(text) === entered[cadre.id]?.[part]) continue;
        await api.post('/assessment-scores', { cadre_id: cadre.id, period, part, score: Number(text) });
      }
      setEntered({ ...entered, [cadre.id]: { ...entered[cadre.id], ...Object.fromEntries(ENTERED.map((p) => [p, f.get(p) === '' ? entered[cadre.id]?.[p] : Number(f.get(p))])) } });
      setNote(at('as_saved', { name: cadre.name }));
      setError(null);
    } catch (e) {
      setError(problem(e));
    }
  };

  return (
    <section class="card" data-testid="assessment">
      <h2>{at('as_title')}</h2>
      <p class="hint">{at('as_hint')}</p>
      {weights !== undefined && <p class="rule" data-testid="assessment-weights">{weightsText(weights)} <a href="/admin/rules">{at('nav_rules')}</a></p>}
      <div class="filters">
        <label>
          {at('period')}
          <select value={period} onChange={(e) => setPeriod(e.currentTarget.value)} data-testid="assessment-period">
            {periods(year).map((o) => (
              <option value={o.value}>{periodLabel(o)}</option>
            ))}
          </select>
        </label>
        <ExportButtons path="/exports/assessment" params={{ period }} />
      </div>
      {error && <p class="error" data-testid="assessment-error">{at('error', { detail: error })}</p>}
      {note && <p class="hint ok" data-testid="assessment-note">{note}</p>}
      {!cadres ? <p>{at('loading')}</p> : (
        <table class="grid" data-testid="assessment-cadres">
          <thead>
            <tr>
              <th>{at('name')}</th>
              <th>{at('as_part_evaluation')}</th>
              <th>{at('as_part_poll')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {cadres.map((cadre) => (
              <tr key={`${cadre.id}-${period}-${loads}`} data-cadre={cadre.id}>
                <td>{cadre.name}</td>
                {ENTERED.map((part) => (
                  <td>
                    <input form={`as-${cadre.id}`} name={part} type="number" min="0" max="100" step="1"
                      defaultValue={entered[cadre.id]?.[part] ?? ''} data-testid={`score-${part}`} />
                  </td>
                ))}
                <td>
                  <form id={`as-${cadre.id}`} onSubmit={(e) => save(e, cadre)}>
                    <button class="primary-inline" data-testid="score-save">{at('as_save_row')}</button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
