// Coverage map: village choropleth, H3 cells and household points on Leaflet, with no tile server
// needed (a tile URL comes from the server's runtime config when there is one). A period selector and
// an as-of slider replay coverage through the year; the map follows live changes (SSE).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import { at, pct } from './i18n.js';
import { label } from './vocab.js';
import { problem, ready, today, useAdmin, useLive } from './context.js';
import { STATUS_COLOURS, coverageColour, householdState, periodOptions, sliderDays } from './periods.js';
import { usePlaces } from './places.js';

const HOUSEHOLD_PAGE = 500;
const REPLAY_DAYS = 7;
const REPLAY_MS = 700;
// Household points are asked for the part of the county in view: a whole county has tens of thousands,
// more than a map can show readably. Past the cap the map says to zoom in; the village layer counts all.
const POINT_CAP = 5000;

/** The households inside `bbox` with their status: `{ items, total }`, items empty when total > cap. */
async function householdsIn(api, bbox, asOf) {
  const params = { bbox, as_of: asOf, limit: HOUSEHOLD_PAGE };
  const first = await api.get('/completeness/households', params);
  if (first.total > POINT_CAP) return { items: [], total: first.total };
  const offsets = [];
  for (let offset = HOUSEHOLD_PAGE; offset < first.total; offset += HOUSEHOLD_PAGE) offsets.push(offset);
  const rest = await Promise.all(offsets.map((offset) => api.get('/completeness/households', { ...params, offset })));
  return { items: [first, ...rest].flatMap((page) => page.items), total: first.total };
}

function periodLabel(option) {
  if (option.kind === 'year') return at('period_year', { year: option.year });
  if (option.kind === 'quarter') return at('period_quarter', { year: option.year, q: option.q });
  return at('period_month', { year: option.year, m: option.m });
}

export function CoverageMap() {
  const { api } = useAdmin();
  const places = usePlaces();
  const day = today();
  const year = Number(day.slice(0, 4));
  const [period, setPeriod] = useState(String(year));
  const days = useMemo(() => sliderDays(period, day), [period, day]);
  const [step, setStep] = useState(days.length - 1);
  const [layers, setLayers] = useState({ villages: true, h3: false, households: true });
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [selected, setSelected] = useState(null);
  const [config, setConfig] = useState(null);

  // Dragging the slider asks for the day it rests on, not for every day it passes.
  const [settled, setSettled] = useState(step);
  useEffect(() => setStep(days.length - 1), [days]);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(step), 150);
    return () => clearTimeout(timer);
  }, [step]);
  useEffect(() => {
    api.get('/config').then(setConfig, () => setConfig({}));
  }, []);

  // Replay: the slider walks from the period's first day to its last, a week per step.
  const [playing, setPlaying] = useState(false);
  useEffect(() => {
    if (!playing) return undefined;
    const timer = setInterval(() => {
      setStep((current) => {
        const next = Math.min(current + REPLAY_DAYS, days.length - 1);
        if (next === days.length - 1) setPlaying(false);
        return next;
      });
    }, REPLAY_MS);
    return () => clearInterval(timer);
  }, [playing, days]);
  const replay = () => {
    if (!playing && step >= days.length - 1) setStep(0);
    setPlaying(!playing);
  };

  const index = Math.min(step, days.length - 1);
  const shown = days[index];
  const asked = days[Math.min(settled, days.length - 1)];
  // The slider's last step on a current period is "now": no as_of, so live changes show at once.
  const asOf = asked === day ? null : asked;

  // Answers can arrive out of order (a slow "now" after a quick "as of"): only the latest request counts.
  const latest = useRef(0);
  const load = async () => {
    const request = ++latest.current;
    try {
      const params = { period, as_of: asOf };
      const [county, villages, cells] = await Promise.all([
        api.get('/coverage', { ...params, level: 'county' }),
        api.get('/coverage', { ...params, level: 'village' }),
        layers.h3 ? api.get('/coverage', { ...params, level: 'h3', resolution: 8 }) : null,
      ]);
      if (request !== latest.current) return;
      setData({ key: `${period}|${asOf}`, county: county.features[0]?.properties ?? null, villages, cells });
      setError(null);
    } catch (e) {
      if (request === latest.current) setError(problem(e));
    }
  };
  useLive(['coverage', 'verdicts'], load, [period, asOf, layers.h3]);

  // Household points of the part in view (`bbox`, set by the map as it moves), on their own so that
  // panning asks for points only.
  const [bbox, setBbox] = useState(null);
  const [points, setPoints] = useState(null);
  const latestPoints = useRef(0);
  const loadPoints = async () => {
    const request = ++latestPoints.current;
    if (!layers.households || !bbox) return setPoints(null);
    try {
      const answer = await householdsIn(api, bbox, asOf);
      if (request === latestPoints.current) setPoints(answer);
    } catch (e) {
      if (request === latestPoints.current) setError(problem(e));
    }
  };
  useLive(['completeness', 'verdicts'], loadPoints, [bbox, asOf, layers.households]);

  useEffect(() => {
    if (data) ready('admin-map');
  }, [data]);

  const villageFigures = selected && data?.villages.features.find((f) => f.id === selected)?.properties;
  const figures = data?.county;
  return (
    <div class="map-view">
      <section class="map-controls card">
        <label>
          {at('period')}
          <select value={period} onChange={(e) => setPeriod(e.currentTarget.value)} data-testid="period">
            {[year - 1, year].flatMap(periodOptions).map((option) => (
              <option value={option.value}>{periodLabel(option)}</option>
            ))}
          </select>
        </label>
        <label class="slider">
          {at('as_of')}: <b data-testid="as-of-label">{shown === day ? `${shown}（${at('as_of_today')}）` : shown}</b>
          <input
            type="range"
            min="0"
            max={days.length - 1}
            value={index}
            data-testid="as-of"
            onInput={(e) => setStep(Number(e.currentTarget.value))}
          />
        </label>
        <button type="button" onClick={replay} data-testid="replay">
          {at(playing ? 'replay_stop' : 'replay')}
        </button>
        <fieldset class="layers">
          <legend>{at('layers')}</legend>
          {['villages', 'h3', 'households'].map((name) => (
            <label class="check">
              <input
                type="checkbox"
                checked={layers[name]}
                data-testid={`layer-${name}`}
                onChange={(e) => setLayers({ ...layers, [name]: e.currentTarget.checked })}
              />
              {at(`layer_${name}`)}
            </label>
          ))}
        </fieldset>
        <div class="figures" data-testid="county-figures" data-key={data?.key}>
          {['households', 'visited_once', 'visited_twice', 'visits', 'verified_visits'].map((name) => (
            <div>
              <small>{at(name)}</small>
              <b data-testid={`fig-${name}`}>{figures ? figures[name] : '…'}</b>
            </div>
          ))}
          <div>
            <small>{at('coverage_pct')}</small>
            <b data-testid="fig-coverage_pct">{figures ? pct(figures.coverage_pct) : '…'}</b>
          </div>
        </div>
        <Legend />
        {points && points.total > POINT_CAP && (
          <p class="hint" data-testid="points-hint">{at('points_zoom_in', { n: points.total })}</p>
        )}
        {error && <p class="error">{at('error', { detail: error })}</p>}
      </section>
      <LeafletMap
        data={data}
        points={layers.households ? points?.items : null}
        places={places}
        layers={layers}
        config={config}
        onVillage={setSelected}
        onView={setBbox}
      />
      <aside class="village-panel card" data-testid="village-panel">
        {selected ? (
          <VillagePanel
            code={selected}
            name={places.names[selected]}
            figures={villageFigures}
            asOf={asOf}
            onClose={() => setSelected(null)}
          />
        ) : (
          <p class="hint">{at('village_panel_hint')}</p>
        )}
      </aside>
    </div>
  );
}

function Legend() {
  return (
    <div class="legend">
      {Object.entries({ visited: 'legend_visited', not_yet: 'legend_not_yet', due: 'legend_due', overdue: 'legend_overdue' }).map(
        ([state, key]) => (
          <span>
            <i style={{ background: STATUS_COLOURS[state] }} />
            {at(key)}
          </span>
        ),
      )}
      <span class="ramp">
        0%
        {[0, 20, 40, 60, 80, 100].map((value) => (
          <i style={{ background: coverageColour(value) }} />
        ))}
        100%
      </span>
    </div>
  );
}

/** The view's bounds, a fifth wider each way (small pans need no new points), as `west,south,east,north`
 * rounded to ~100 m so that a jitter of the map asks nothing new. */
function viewBox(map) {
  const bounds = map.getBounds().pad(0.2);
  const r = (value) => value.toFixed(3);
  return [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()]
    .map((v, i) => r(Math.max(i % 2 ? -90 : -180, Math.min(i % 2 ? 90 : 180, v))))
    .join(',');
}

function LeafletMap({ data, points, places, layers, config, onVillage, onView }) {
  const element = useRef(null);
  const map = useRef(null);
  const groups = useRef(null);
  const renderer = useRef(null);
  const fitted = useRef(false);

  useEffect(() => {
    map.current = L.map(element.current, { zoomSnap: 0.5 });
    // Credit Leaflet in plain text: its default prefix carries a national flag, out of place on a Party office's map.
    map.current.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
    map.current.setView([18.8, 109.6], 10);
    // Households may be thousands of points: a canvas in a pane under the villages (SVG, clickable).
    map.current.createPane('households').style.zIndex = 350;
    renderer.current = L.canvas({ pane: 'households' });
    groups.current = { outlines: L.layerGroup(), villages: L.layerGroup(), h3: L.layerGroup(), households: L.layerGroup() };
    for (const group of Object.values(groups.current)) group.addTo(map.current);
    map.current.on('moveend', () => onView(viewBox(map.current)));
    onView(viewBox(map.current));
    return () => map.current.remove();
  }, []);

  useEffect(() => {
    // Tiles only when the server's configuration names a tile server (Tianditu, an intranet one).
    if (!config?.tile_url) return undefined;
    const tiles = L.tileLayer(config.tile_url, { attribution: config.tile_attribution || '', maxZoom: 18 });
    tiles.addTo(map.current);
    tiles.bringToBack();
    return () => tiles.remove();
  }, [config?.tile_url]);

  useEffect(() => {
    // Township outlines and names, and every village's outline, for orientation (where the county's
    // map names them): villages without households have no coverage figure but are still there.
    const { outlines } = groups.current;
    outlines.clearLayers();
    for (const [code, boundary] of Object.entries(places.boundaries)) {
      const township = code.length === 9;
      const shape = L.geoJSON(boundary, {
        interactive: false,
        style: () => (township
          ? { color: '#7a6a62', weight: 1.2, dashArray: '4 4', fill: false }
          : { color: '#b9aea8', weight: 0.8, fillColor: '#ffffff', fillOpacity: 0.3 }),
      }).addTo(outlines);
      if (township) {
        L.tooltip({ permanent: true, direction: 'center', className: 'place-label', interactive: false })
          .setLatLng(shape.getBounds().getCenter())
          .setContent(places.names[code])
          .addTo(outlines);
      }
    }
    if (Object.keys(places.boundaries).length) {
      map.current.fitBounds(L.featureGroup(outlines.getLayers().filter((l) => l.getBounds)).getBounds().pad(0.05));
      fitted.current = true;
    }
  }, [places]);

  useEffect(() => {
    if (!data) return;
    const { villages, h3 } = groups.current;
    villages.clearLayers();
    h3.clearLayers();
    if (layers.h3 && data.cells) {
      L.geoJSON(data.cells, {
        style: (feature) => ({ color: '#555', weight: 0.6, fillOpacity: 0.45, fillColor: coverageColour(feature.properties.coverage_pct), className: 'h3' }),
        onEachFeature: (feature, layer) =>
          layer.bindTooltip(`${feature.id}<br>${at('coverage_pct')} ${pct(feature.properties.coverage_pct)}`),
      }).addTo(h3);
    }
    if (layers.villages) {
      for (const feature of data.villages.features) {
        const p = feature.properties;
        const style = { color: '#5b3a29', weight: 1, fillOpacity: 0.5, fillColor: coverageColour(p.coverage_pct), className: `village v${feature.id}` };
        const boundary = places.boundaries[feature.id];
        const [lon, lat] = feature.geometry.coordinates;
        const shape = boundary
          ? L.geoJSON(boundary, { style: () => style })
          : L.circleMarker([lat, lon], { ...style, radius: 8 + Math.sqrt(p.households) * 2 });
        shape.bindTooltip(`${places.names[feature.id] || feature.id}：${pct(p.coverage_pct)}（${p.visited_once}/${p.households}）`);
        shape.on('click', () => onVillage(feature.id));
        shape.addTo(villages);
      }
    }
    if (!fitted.current && data.villages.features.length) {
      const centres = data.villages.features.map((f) => [f.geometry.coordinates[1], f.geometry.coordinates[0]]);
      map.current.fitBounds(L.latLngBounds(centres).pad(0.3));
      fitted.current = true;
    }
  }, [data, places, layers]);

  useEffect(() => {
    const { households } = groups.current;
    households.clearLayers();
    if (points) {
      for (const household of points) {
        const state = householdState(household);
        L.circleMarker([household.lat, household.lon], {
          renderer: renderer.current,
          pane: 'households',
          radius: 4,
          weight: 1,
          color: '#fff',
          fillColor: STATUS_COLOURS[state],
          fillOpacity: 0.95,
        })
          .bindTooltip(`${household.head_name || ''} ${at(`legend_${state}`)}`)
          .addTo(households);
      }
    }
  }, [points]);

  return <div class="leaflet-host" ref={element} data-testid="map" data-points={points?.length ?? 0} />;
}

function VillagePanel({ code, name, figures, asOf, onClose }) {
  const { api } = useAdmin();
  const [list, setList] = useState(null);
  useEffect(() => {
    api.get('/completeness/households', { village: code, as_of: asOf, limit: 500 }).then((page) => setList(page.items));
  }, [code, asOf, figures]);
  const unvisited = list?.filter((h) => h.visits_this_year === 0) ?? [];
  return (
    <div data-testid="village-detail" data-village={code}>
      <h2>
        {name || code} <button class="link" onClick={onClose}>{at('close')}</button>
      </h2>
      {figures && (
        <dl>
          <dt>{at('households')}</dt>
          <dd data-testid="village-households">{figures.households}</dd>
          <dt>{at('visited_once')}</dt>
          <dd>{figures.visited_once}</dd>
          <dt>{at('verified_visits')}</dt>
          <dd>{figures.verified_visits}</dd>
          <dt>{at('coverage_pct')}</dt>
          <dd>{pct(figures.coverage_pct)}</dd>
        </dl>
      )}
      {list === null ? (
        <p class="hint">{at('loading')}</p>
      ) : unvisited.length === 0 ? (
        <p class="hint ok">{at('all_visited')}</p>
      ) : (
        <>
          <h3>{at('unvisited', { n: unvisited.length })}</h3>
          <table class="grid" data-testid="unvisited">
            <thead>
              <tr>
                <th>{at('head_name')}</th>
                <th>{at('status')}</th>
                <th>{at('next_due')}</th>
              </tr>
            </thead>
            <tbody>
              {unvisited.map((h) => (
                <tr>
                  <td>{h.head_name || '—'}</td>
                  <td>
                    <span class={`pill ${h.status}`}>{label('due_status', h.status)}</span>
                  </td>
                  <td>{h.next_due}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
