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

function Board({ title, rows, by, name, sub, testid, cadres }) {
  if (by === 'score') return <ScoreBoard title={title} rows={rows} name={name} sub={sub} testid={testid} />;
  return (
    <section class="card">
      <h2>{title}</h2>
      <table class="grid" data-testid={testid}>
        <thead>
          <tr>
            <th>{at('lb_rank')}</th>
            <th>{at('name')}</th>
            {FIGURES.map((f) => (
              <th class={f === by ? 'sorted' : ''} title={f === 'verified_visits' ? ruleText(null) : ''}>
                {at(f)}
              </th>
            ))}
            {cadres && <th>{at('reports_filed')}</th>}
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
              <td>{row.verified_visits}</td>
              <td>{row.distinct_households}</td>
              <td>{row.issues_resolved}</td>
              <td>{pct(row.satisfaction_pct)}</td>
              {cadres && <td data-testid="reports-filed">{row.reports_filed ?? 0}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function ScoreBoard({ title, rows, name, sub, testid }) {
  return (
    <section class="card wide">
      <h2>{title}</h2>
      <table class="grid" data-testid={testid}>
        <thead>
          <tr>
            <th>{at('lb_rank')}</th>
            <th>{at('name')}</th>
            <th class="sorted">{at('score')}</th>
            {PARTS.map((p) => (
              <th>{at(`as_part_${p}`)}</th>
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
              <td data-testid="score">{score(row.score)}</td>
              {PARTS.map((p) => (
                <td data-part={p}>{score(row[p])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
