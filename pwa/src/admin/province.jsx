// Province view: the province's counties ranked for a month (at first the latest month with figures),
// on a map, with each county's year as small charts; clicking a county shows its monthly figures. It
// stops at county figures: the API gives a province viewer rollups only, never a household, a village
// or a person.
import { useEffect, useRef, useState } from 'preact/hooks';
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import { everyPage } from './api.js';
import { at, pct } from './i18n.js';
import { problem, ready, today, useAdmin } from './context.js';
import { coverageColour } from './periods.js';
import { Sparkline } from './charts.jsx';
import { latestMonth, monthSeries } from './shaping.js';

// Verified coverage first: rankings invite gaming, so they go by what the verdicts accepted by default.
const RANK_BY = ['verified_coverage_pct', 'coverage_pct', 'verified_visits', 'issues_resolved', 'satisfaction_pct', 'pairings_compliant_pct', 'interview_coverage_pct'];
const SHOWN = ['households', 'visited', 'coverage_pct', 'verified_visited', 'verified_coverage_pct', 'verified_visits', 'issues_raised', 'issues_resolved', 'satisfaction_pct', 'pairings_compliant_pct', 'interview_coverage_pct'];
const PERCENT = new Set(['verified_coverage_pct', 'coverage_pct', 'satisfaction_pct', 'pairings_compliant_pct', 'interview_coverage_pct']);
const show = (field, value) => (PERCENT.has(field) ? pct(value) : value ?? '—');

export function Province() {
  const { api } = useAdmin();
  const thisMonth = today().slice(0, 7);
  const thisYear = Number(thisMonth.slice(0, 4));
  const [year, setYear] = useState(thisYear);
  // null until the counties' figures say which month the view opens on (see below).
  const [month, setMonth] = useState(null);
  const [by, setBy] = useState('verified_coverage_pct');
  const [ranking, setRanking] = useState(null);
  const [counties, setCounties] = useState(null);
  const [shapes, setShapes] = useState(null);
  const [selected, setSelected] = useState(null);
  const [error, setError] = useState(null);

  useEffect(() => {
    api.get('/province/map').then((map) => setShapes(map.counties), () => setShapes([]));
  }, []);
  useEffect(() => {
    // Every county of the area: one page for a province (a country-wide area would page on).
    everyPage(api, '/province/counties', { year }, Infinity).then(
      (items) => {
        setCounties(items);
        if (month) return;
        // Open on the latest month with figures: early in a month the current one has none yet
        // ("暂无数据" on 4 December), and in January the latest figures are last year's.
        const latest = latestMonth(items);
        if (latest) setMonth(latest);
        else if (year === thisYear) setYear(thisYear - 1);
        else {
          setMonth(thisMonth); // no figures at all yet
          setYear(thisYear);
        }
      },
      (e) => setError(problem(e)),
    );
  }, [year]);
  // The counties by their cadres' mean composite assessment score (三维考核) for the year.
  const [scores, setScores] = useState(null);
  useEffect(() => {
    api.get('/province/scores', { period: String(year) }).then((page) => setScores(page.items), () => setScores(null));
  }, [year]);
  useEffect(() => {
    if (!month) return;
    api.get('/province/rankings', { month, by }).then(
      (page) => {
        setRanking(page.items);
        ready('admin-province');
      },
      (e) => setError(problem(e)),
    );
  }, [month, by]);

  const months = Array.from({ length: 12 }, (_, i) => `${year}-${String(i + 1).padStart(2, '0')}`).filter((m) => m <= thisMonth);
  const series = (adcode, field) => monthSeries(counties?.find((c) => c.adcode === adcode)?.months ?? [], field, year);
  const chosen = selected && counties?.find((c) => c.adcode === selected);
  return (
    <div class="province">
      <section class="card filters">
        <label>
          {at('month')}
          <select value={month} onChange={(e) => setMonth(e.currentTarget.value)} data-testid="month">
            {months.map((m) => (
              <option value={m}>{m}</option>
            ))}
          </select>
        </label>
        <label>
          {at('rank_by')}
          <select value={by} onChange={(e) => setBy(e.currentTarget.value)}>
            {RANK_BY.map((f) => (
              <option value={f}>{at(f)}</option>
            ))}
          </select>
        </label>
        <p class="hint">{at('drill_hint')}</p>
      </section>
      {error && <p class="error">{at('error', { detail: error })}</p>}
      <div class="two">
        <section class="card">
          <h2>{at('province_rankings')}</h2>
          {ranking && ranking.length === 0 && <p class="hint">{at('no_data')}</p>}
          {ranking && ranking.length > 0 && (
            <table class="grid" data-testid="rankings">
              <thead>
                <tr>
                  <th>{at('lb_rank')}</th>
                  <th>{at('county')}</th>
                  <th class="sorted">{at(by)}</th>
                  <th>{at('households')}</th>
                  <th>{at('verified_visits')}</th>
                  <th>{at('trend')}</th>
                </tr>
              </thead>
              <tbody>
                {ranking.map((row) => (
                  <tr class={row.county === selected ? 'selected' : ''}>
                    <td>{row.rank}</td>
                    <td>
                      <button class="link" onClick={() => setSelected(row.county)} data-testid="county-link">
                        {row.name || row.county}
                      </button>
                    </td>
                    <td>{show(by, row[by])}</td>
                    <td>{row.households}</td>
                    <td>{row.verified_visits}</td>
                    <td>
                      <Sparkline values={series(row.county, by)} max={PERCENT.has(by) ? 100 : null} label={at(by)} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <ProvinceMap shapes={shapes} ranking={ranking} by={by} onCounty={setSelected} />
      </div>
      {chosen && (
        <section class="card" data-testid="county-detail">
          <h2>
            {at('county_months', { name: chosen.name })} <button class="link" onClick={() => setSelected(null)}>{at('close')}</button>
          </h2>
          <div class="charts">
            {SHOWN.map((field) => (
              <figure>
                <figcaption>{at(field)}</figcaption>
                <Sparkline values={series(chosen.adcode, field)} width={160} height={40} max={PERCENT.has(field) ? 100 : null} label={at(field)} />
              </figure>
            ))}
          </div>
          <table class="grid compact">
            <thead>
              <tr>
                <th>{at('month')}</th>
                {SHOWN.map((f) => (
                  <th>{at(f)}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {chosen.months.map((row) => (
                <tr>
                  <td>{String(row.month).slice(0, 7)}</td>
                  {SHOWN.map((f) => (
                    <td>{show(f, row[f])}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      {scores && scores.length > 0 && (
        <section class="card" data-testid="province-scores">
          <h2>{at('province_scores')} · {at('period_year', { year })}</h2>
          <table class="grid">
            <thead>
              <tr>
                <th>{at('lb_rank')}</th>
                <th>{at('county')}</th>
                <th class="sorted">{at('score')}</th>
                <th>{at('as_scored')}</th>
              </tr>
            </thead>
            <tbody>
              {scores.map((row) => (
                <tr>
                  <td>{row.rank}</td>
                  <td>{row.name || row.county}</td>
                  <td>{row.score === null ? '—' : row.score.toFixed(1)}</td>
                  <td>{row.scored} / {row.cadres}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </div>
  );
}

function ProvinceMap({ shapes, ranking, by, onCounty }) {
  const element = useRef(null);
  const map = useRef(null);
  const layer = useRef(null);
  useEffect(() => {
    map.current = L.map(element.current, { zoomSnap: 0.5 }).setView([18.85, 109.7], 9);
    // Credit Leaflet in plain text: its default prefix carries a national flag, out of place on a Party office's map.
    map.current.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
    layer.current = L.featureGroup().addTo(map.current);
    return () => map.current.remove();
  }, []);
  useEffect(() => {
    if (!shapes) return;
    layer.current.clearLayers();
    const figures = Object.fromEntries((ranking || []).map((row) => [row.county, row]));
    for (const county of shapes) {
      const row = figures[county.adcode];
      const value = row?.[by];
      const colour = PERCENT.has(by) ? coverageColour(value) : '#d9ecb0';
      const style = { color: '#5b3a29', weight: 1.5, fillColor: colour, fillOpacity: 0.7 };
      const shape = county.boundary
        ? L.geoJSON(county.boundary, { style: () => style })
        : L.circleMarker([county.lat, county.lon], { ...style, radius: 18 });
      shape.bindTooltip(`${county.name}<br>${at(by)}: ${show(by, value)}`, { permanent: true, direction: 'center', className: 'place-label' });
      shape.on('click', () => onCounty(county.adcode));
      shape.addTo(layer.current);
    }
    if (shapes.length) map.current.fitBounds(layer.current.getBounds().pad(0.1));
  }, [shapes, ranking, by]);
  return <div class="leaflet-host province-map card" ref={element} data-testid="province-map" />;
}
