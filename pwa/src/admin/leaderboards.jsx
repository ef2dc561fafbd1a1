// Leaderboards of cadres and townships for a period, with the rule that made every number written
// next to the table (from the county's own rules: only verified visits count).
import { useEffect, useState } from 'preact/hooks';
import { at, pct } from './i18n.js';
import { problem, ready, today, useAdmin, useLive } from './context.js';
import { periodOptions } from './periods.js';
import { placeName, usePlaces } from './places.js';
import { PARTS, weightsText } from './assessment.jsx';

const FIGURES = ['verified_visits', 'distinct_households', 'issues_resolved', 'satisfaction_pct'];
// `score`: the composite assessment (三维考核), shown with its parts instead of the figures.
const RANK_BY = [...FIGURES, 'score'];
const score = (value) => (value === null || value === undefined ? '—' : value.toFixed(1));

export function ruleText(rules) {
  if (!rules) return at('lb_rule_default');
  return at('lb_rule', { distance: rules.verified_max_distance_m, accuracy: rules.verified_max_accuracy_m });
}

export function periodLabel(option) {
  if (option.kind === 'year') return at('period_year', { year: option.year });
  if (option.kind === 'quarter') return at('period_quarter', { year: option.year, q: option.q });
  return at('period_month', { year: option.year, m: option.m });
}

export function Leaderboards() {
  const { api } = useAdmin();
  const places = usePlaces();
  const year = Number(today().slice(0, 4));
  const [period, setPeriod] = useState(String(year));
  const [by, setBy] = useState('verified_visits');
  const [boards, setBoards] = useState(null);
  const [rules, setRules] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api.get('/rules').then(setRules, () => setRules(null));
  }, []);
  useLive(
    ['leaderboards', 'verdicts', 'issues'],
    async () => {
      try {
        const [cadres, townships] = await Promise.all([
          api.get('/leaderboards/cadres', { period, by, limit: 100 }),
          api.get('/leaderboards/townships', { period, by, limit: 100 }),
        ]);
        setBoards({ cadres, townships });
        ready('admin-leaderboards');
      } catch (e) {
        setError(problem(e));
      }
    },
    [period, by],
  );
  return (
    <div>
      <section class="card filters">
        <label>
          {at('period')}
          <select value={period} onChange={(e) => setPeriod(e.currentTarget.value)}>
            {[year - 1, year].flatMap(periodOptions).map((o) => (
              <option value={o.value}>{periodLabel(o)}</option>
            ))}
          </select>
        </label>
        <label>
          {at('lb_by')}
          <select value={by} onChange={(e) => setBy(e.currentTarget.value)}>
            {RANK_BY.map((f) => (
              <option value={f}>{at(f)}</option>
            ))}
          </select>
        </label>
      </section>
      <div class="rule card" data-testid="rule">
        <p>{ruleText(rules)}</p>
        <p>{at('lb_rule_households')}</p>
        <p>{at('lb_rule_issues')}</p>
        {by === 'score' && <p data-testid="score-rule">{at('lb_rule_score')} {weightsText(rules?.assessment_weights)}</p>}
      </div>
      {error && <p class="error">{at('error', { detail: error })}</p>}
      {boards && (
        <div class={by === 'score' ? '' : 'two'}>
          <Board title={at('lb_cadres')} rows={boards.cadres.items} by={by} name={(r) => r.name || r.cadre_id} sub={(r) => placeName(places, r.township)} testid="lb-cadres" cadres />
          <Board title={at('lb_townships')} rows={boards.townships.items} by={by} name={(r) => placeName(places, r.township)} testid="lb-townships" />
        </div>
      )}
    </div>
  );
}

// The columns after rank and name: the figures (the one ranked by marked), or the score and its parts.
function columns(by, cadres) {
  if (by === 'score') {
    return [
      { head: at('score'), sorted: true, testid: 'score', cell: (r) => score(r.score) },
      ...PARTS.map((p) => ({ head: at(`as_part_${p}`), part: p, cell: (r) => score(r[p]) })),
    ];
  }
  return [
    ...FIGURES.map((f) => ({
      head: at(f),
      sorted: f === by,
      title: f === 'verified_visits' ? ruleText(null) : '',
      cell: (r) => (f === 'satisfaction_pct' ? pct(r[f]) : r[f]),
    })),
    ...(cadres ? [{ head: at('reports_filed'), testid: 'reports-filed', cell: (r) => r.reports_filed ?? 0 }] : []),
  ];
}

function Board({ title, rows, by, name, sub, testid, cadres }) {
  const cols = columns(by, cadres);
  return (
    <section class={by === 'score' ? 'card wide' : 'card'}>
      <h2>{title}</h2>
      <table class="grid" data-testid={testid}>
        <thead>
          <tr>
            <th>{at('lb_rank')}</th>
            <th>{at('name')}</th>
            {cols.map((c) => (
              <th class={c.sorted ? 'sorted' : ''} title={c.title || ''}>
                {c.head}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr>
              <td>{row.rank}</td>
              <td>
                {name(row)}
                {sub && <small class="sub">{sub(row)}</small>}
              </td>
              {cols.map((c) => (
                <td data-testid={c.testid} data-part={c.part}>
                  {c.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
