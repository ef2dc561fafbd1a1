// The county's rules: how often a household and a pairing must be visited, what makes a check-in
// verified, interviews per year. Saving re-judges the county's history on the server (a background
// rebuild); the page says so until GET /rules/rejudging answers that the figures are final.
import { useEffect, useState } from 'preact/hooks';
import { at } from './i18n.js';
import { codes, label } from './vocab.js';
import { problem, ready, useAdmin } from './context.js';

const CADENCES = codes('cadence');
// [rule, min, max, step]; a blank optional quota switches it off (null).
const NUMBERS = [
  ['household_visits_per_year', 1, 12, 1],
  ['due_soon_days', 0, 366, 1],
  ['hardship_households_per_cadre', 0, 100, 1],
  ['interviews_per_year', 1, 52, 1],
  ['verified_max_distance_m', 1, 100000, 'any'],
  ['verified_max_accuracy_m', 1, 10000, 'any'],
  ['impossible_travel_kmh', 1, 2000, 'any'],
  ['backdated_after_days', 1, 366, 1],
];
const OPTIONAL = new Set(['hardship_households_per_cadre']);
const WHOLE = new Set(['household_visits_per_year', 'due_soon_days', 'hardship_households_per_cadre', 'interviews_per_year',
  'backdated_after_days']);
const VISIT_KINDS = codes('visit_kind');
const ROUTES = ['on_the_spot', 'monthly_review', 'department', 'leadership'];
const RANKS = codes('rank');
const POLL_MS = 1000;
const PARTS = ['completeness', 'pairing', 'interviews', 'resolution', 'satisfaction', 'receptions', 'reports', 'evaluation', 'poll'];

/** `{key: int}` from the inputs named `${prefix}${key}`; a blank input leaves its key out. */
function numbersByKey(f, prefix, keys) {
  const out = {};
  for (const key of keys) {
    const text = String(f.get(prefix + key) ?? '').trim();
    if (text !== '') out[key] = parseInt(text, 10);
  }
  return out;
}

export function Rules() {
  const { api } = useAdmin();
  const [rules, setRules] = useState(null);
  const [error, setError] = useState(null);
  const [state, setState] = useState(null); // null | 'rejudging' | 'rejudged'
  const [weightSum, setWeightSum] = useState(null);
  const sumWeights = (event) => {
    const f = new FormData(event.currentTarget.form);
    setWeightSum(Object.values(numbersByKey(f, 'weight_', PARTS)).reduce((a, b) => a + b, 0));
  };

  useEffect(() => {
    api.get('/rules').then((answer) => {
      setRules(answer);
      ready('admin-rules');
    }, (e) => setError(problem(e)));
  }, []);

  useEffect(() => {
    if (state !== 'rejudging') return undefined;
    const timer = setInterval(() => {
      api.get('/rules/rejudging').then((answer) => answer.running || setState('rejudged'), () => {});
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [state]);

  const save = async (event) => {
    event.preventDefault();
    const f = new FormData(event.currentTarget);
    // PUT replaces the rules: send every rule, the ones this form does not show as they were.
    const next = { ...rules, default_pairing_cadence: f.get('default_pairing_cadence') };
    next.five_ones_period = f.get('five_ones_period') || null; // off: no 五个一 figures
    for (const [key] of NUMBERS) {
      const text = String(f.get(key)).trim();
      next[key] = text === '' && OPTIONAL.has(key) ? null : WHOLE.has(key) ? parseInt(text, 10) : parseFloat(text);
    }
    next.mock_fixes_rejected = f.get('mock_fixes_rejected') === 'on';
    next.issue_days_by_route = { ...rules.issue_days_by_route, ...numbersByKey(f, 'days_', ROUTES) };
    // A rank left blank has no pairing quota; all blank switches the by-rank quota off.
    const byRank = numbersByKey(f, 'quota_', RANKS);
    next.paired_households_by_rank = Object.keys(byRank).length ? byRank : null;
    next.monthly_review_weekday = parseInt(f.get('monthly_review_weekday'), 10);
    next.visit_kinds_counted = VISIT_KINDS.filter((kind) => f.get(`counted_${kind}`) === 'on');
    // All blank: no composite assessment; the server refuses weights that do not sum to 100.
    const weights = numbersByKey(f, 'weight_', PARTS);
    next.assessment_weights = Object.keys(weights).length ? weights : null;
    try {
      setRules(await api.put('/rules', next));
      setError(null);
      setState('rejudging');
    } catch (e) {
      setError(problem(e));
      setState(null);
    }
  };

  if (!rules) return error ? <p class="error">{error}</p> : <p class="empty">{at('loading')}</p>;
  return (
    <section class="card rules" data-testid="rules">
      <h2>{at('nav_rules')}</h2>
      <p class="hint">{at('rules_hint')}</p>
      <form onSubmit={save}>
        <div class="filters">
          {NUMBERS.map(([key, min, max, step]) => (
            <label>
              {at(`rule_${key}`)}
              <input
                name={key}
                type="number"
                min={min}
                max={max}
                step={step}
                required={!OPTIONAL.has(key)}
                defaultValue={rules[key] ?? ''}
                data-testid={`rule-${key}`}
              />
            </label>
          ))}
          <label>
            {at('rule_default_pairing_cadence')}
            <select name="default_pairing_cadence">
              {CADENCES.map((c) => (
                <option value={c} selected={c === rules.default_pairing_cadence}>{label('cadence', c)}</option>
              ))}
            </select>
          </label>
          <label>
            {at('rule_five_ones_period')}
            <select name="five_ones_period" data-testid="rule-five_ones_period">
              <option value="">{at('rule_off')}</option>
              {CADENCES.map((c) => (
                <option value={c} selected={c === rules.five_ones_period}>{label('cadence', c)}</option>
              ))}
            </select>
          </label>
          <label>
            {at('rule_monthly_review_weekday')}
            <select name="monthly_review_weekday">
              {[0, 1, 2, 3, 4, 5, 6].map((day) => (
                <option value={day} selected={day === rules.monthly_review_weekday}>{at(`weekday_${day}`)}</option>
              ))}
            </select>
          </label>
          <label class="check">
            <input name="mock_fixes_rejected" type="checkbox" defaultChecked={rules.mock_fixes_rejected} />
            {at('rule_mock_fixes_rejected')}
          </label>
        </div>
        <fieldset class="filters">
          <legend>{at('rule_issue_days_by_route')}</legend>
          {ROUTES.map((route) => (
            <label>
              {label('issue_route', route)}
              <input name={`days_${route}`} type="number" min="1" max="366" required
                defaultValue={rules.issue_days_by_route[route] ?? ''} data-testid={`rule-days-${route}`} />
            </label>
          ))}
        </fieldset>
        <fieldset class="filters">
          <legend>{at('rule_paired_households_by_rank')}</legend>
          {RANKS.map((rank) => (
            <label>
              {label('rank', rank)}
              <input name={`quota_${rank}`} type="number" min="0" max="100"
                defaultValue={rules.paired_households_by_rank?.[rank] ?? ''} data-testid={`rule-quota-${rank}`} />
            </label>
          ))}
        </fieldset>
        <fieldset class="filters">
          <legend>{at('rule_visit_kinds_counted')}</legend>
          {VISIT_KINDS.map((kind) => (
            <label class="check">
              <input name={`counted_${kind}`} type="checkbox" defaultChecked={rules.visit_kinds_counted.includes(kind)}
                data-testid={`rule-counted-${kind}`} />
              {label('visit_kind', kind)}
            </label>
          ))}
        </fieldset>
        <fieldset class="filters" data-testid="rule-weights">
          <legend>{at('rule_assessment_weights')}</legend>
          {PARTS.map((part) => (
            <label>
              {at(`as_part_${part}`)}
              <input name={`weight_${part}`} type="number" min="0" max="100" step="1" onInput={sumWeights}
                defaultValue={rules.assessment_weights?.[part] ?? ''} data-testid={`rule-weight-${part}`} />
            </label>
          ))}
          <span class="hint" data-testid="rule-weights-sum">
            {at('rule_weights_sum', { sum: weightSum ?? Object.values(rules.assessment_weights ?? {}).reduce((a, b) => a + b, 0) })}
          </span>
        </fieldset>
        <button class="primary-inline" data-testid="rules-save">{at('save')}</button>
      </form>
      {error && <p class="error" data-testid="rules-error">{error}</p>}
      {state && (
        <p class={state === 'rejudged' ? 'hint ok' : 'hint'} data-testid="rules-state" data-state={state}>
          {at(state === 'rejudged' ? 'rules_rejudged' : 'rules_rejudging')}
        </p>
      )}
    </section>
  );
}
