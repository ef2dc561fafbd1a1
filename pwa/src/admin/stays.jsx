// The stays ledger (蹲点台账): the days each cadre stayed (蹲点 / 三进三同) in a period, the verified days
// beside them (the figure the leaderboards count), and the ledger of every stay as XLSX or CSV.
import { useState } from 'preact/hooks';
import { at } from './i18n.js';
import { problem, useAdmin, useLive } from './context.js';
import { placeName, usePlaces } from './places.js';
import { periodOptions } from './periods.js';
import { periodLabel } from './leaderboards.jsx';
import { ExportButtons } from './compliance.jsx';

export function Stays() {
  const { api } = useAdmin();
  const places = usePlaces();
  const year = new Date().getFullYear();
  const [period, setPeriod] = useState(String(year));
  const [rows, setRows] = useState(null);
  const [error, setError] = useState(null);
  useLive(['stays'], async () => {
    try {
      setRows((await api.get('/stays', { period })).items);
      setError(null);
    } catch (e) {
      setError(problem(e));
    }
  }, [period]);
  return (
    <section class="card" data-testid="stays">
      <p class="hint">{at('stays_hint')}</p>
      <div class="filters">
        <label>
          {at('period')}
          <select value={period} onChange={(e) => setPeriod(e.currentTarget.value)} data-testid="stays-period">
            {[year - 1, year].flatMap(periodOptions).map((o) => <option value={o.value}>{periodLabel(o)}</option>)}
          </select>
        </label>
        <ExportButtons path="/exports/stays" params={{ period }} />
      </div>
      {error && <p class="error">{error}</p>}
      {rows && !rows.length && <p class="empty">{at('stays_empty')}</p>}
      {rows && rows.length > 0 && (
        <table class="grid compact">
          <thead>
            <tr>
              <th>{at('cadre')}</th><th>{at('township')}</th><th>{at('stays_count')}</th><th>{at('stays_days')}</th>
              <th>{at('stays_verified_days')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr data-cadre={r.name}>
                <td>{r.name || r.cadre_id.slice(0, 8)}</td>
                <td>{placeName(places, r.township)}</td>
                <td>{r.stays}</td>
                <td data-testid="stay-days">{r.days}</td>
                <td>{r.verified_days}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
