// Festival campaigns (节日慰问): define one (festival, window, the household tags to cover), follow each
// one's progress live by township and village, and page through or export the households still to visit.
import { useState } from 'preact/hooks';
import { at, pct } from './i18n.js';
import { codes, label } from './vocab.js';
import { problem, ready, today, useAdmin, useLive } from './context.js';
import { placeName, usePlaces, villageLabel } from './places.js';
import { ExportButtons } from './compliance.jsx';
import { byRemaining, windowProblem } from './festivals.js';

const FESTIVALS = codes('festival');
const TAGS = codes('household_tag');
// Chongqing's festival visits: hardship Party members and residents, empty-nest elders, left-behind children.
const DEFAULT_TAGS = ['hardship_member', 'hardship_resident', 'empty_nest_elderly', 'left_behind_child'];

export function Campaigns() {
  const { api } = useAdmin();
  const [items, setItems] = useState(null);
  const [chosen, setChosen] = useState(null);
  const [note, setNote] = useState(null);
  const [error, setError] = useState(null);
  useLive(
    ['campaigns'],
    async () => {
      try {
        const answer = await api.get('/campaigns');
        setItems(answer.items);
        if (!chosen && answer.items.length) setChosen(answer.items[0].campaign_id);
        ready('admin-campaigns');
      } catch (e) {
        setError(problem(e));
      }
    },
    [],
  );
  if (error) return <p class="error">{at('error', { detail: error })}</p>;
  if (!items) return <p>{at('loading')}</p>;
  return (
    <div>
      <section class="card">
        <NewCampaign done={(text, id) => { setNote(text); setChosen(id); }} />
        {note && <p class="hint ok">{note}</p>}
        {items.length === 0 ? (
          <p class="empty">{at('campaigns_none')}</p>
        ) : (
          <table class="grid compact" data-testid="campaigns">
            <thead>
              <tr>
                <th>{at('campaign_festival')}</th><th>{at('campaign_window')}</th><th>{at('campaign_tags')}</th>
                <th>{at('campaign_state')}</th><th>{at('campaign_households')}</th><th>{at('campaign_visited')}</th>
                <th>{at('campaign_coverage')}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <tr class={c.campaign_id === chosen ? 'selected' : ''} onClick={() => setChosen(c.campaign_id)}
                  data-testid={`campaign-${c.campaign_id}`}>
                  <td><button class="link">{label('festival', c.festival)}</button></td>
                  <td>{c.starts_on} – {c.ends_on}</td>
                  <td>{c.tags.map((t) => label('household_tag', t)).join('、')}</td>
                  <td>{at(`campaign_state_${c.state}`)}</td>
                  <td>{c.households}</td><td>{c.visited}</td><td>{pct(c.coverage_pct)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {chosen && <Progress id={chosen} />}
    </div>
  );
}

function Progress({ id }) {
  const { api } = useAdmin();
  const places = usePlaces();
  const [progress, setProgress] = useState(null);
  const [village, setVillage] = useState('');
  const [left, setLeft] = useState(null);
  const [error, setError] = useState(null);
  const load = async () => {
    try {
      const filters = village ? { village } : {};
      const [p, l] = await Promise.all([
        api.get(`/campaigns/${id}`), api.get(`/campaigns/${id}/households`, { ...filters, limit: 100 })]);
      setProgress(p);
      setLeft(l);
      setError(null);
      ready('admin-campaign');
    } catch (e) {
      // Just defined: the read model has not made it yet (the next change it applies reloads this).
      if (e.status === 404) setProgress(null);
      else setError(problem(e));
    }
  };
  useLive(['campaigns'], load, [id, village]);
  const more = async () => {
    try {
      const page = await api.get(`/campaigns/${id}/households`, { ...(village ? { village } : {}), limit: 100, after: left.next });
      setLeft({ ...page, items: [...left.items, ...page.items] });
    } catch (e) {
      setError(problem(e));
    }
  };
  if (error) return <p class="error">{at('error', { detail: error })}</p>;
  if (!progress || !left) return <p class="hint">{at('campaign_pending')}</p>;
  return (
    <section class="card" data-testid="campaign-progress">
      <h2>
        {label('festival', progress.festival)} {progress.starts_on} – {progress.ends_on} ·{' '}
        <span data-testid="campaign-coverage">{at('campaign_summary', {
          visited: progress.visited, households: progress.households, pct: pct(progress.coverage_pct) })}</span>
      </h2>
      <div class="two">
        <table class="grid compact">
          <thead><tr><th>{at('township')}</th><th>{at('campaign_households')}</th><th>{at('campaign_visited')}</th>
            <th>{at('campaign_coverage')}</th></tr></thead>
          <tbody>
            {byRemaining(progress.townships).map((t) => (
              <tr><td>{placeName(places, t.township)}</td><td>{t.households}</td><td>{t.visited}</td>
                <td>{pct(t.coverage_pct)}</td></tr>
            ))}
          </tbody>
        </table>
        <table class="grid compact" data-testid="campaign-villages">
          <thead><tr><th>{at('village')}</th><th>{at('campaign_households')}</th><th>{at('campaign_visited')}</th>
            <th>{at('campaign_coverage')}</th></tr></thead>
          <tbody>
            {byRemaining(progress.villages).map((v) => (
              <tr class={v.village === village ? 'selected' : ''}>
                <td><button class="link" onClick={() => setVillage(v.village === village ? '' : v.village)}>
                  {villageLabel(places, v.village)}</button></td>
                <td>{v.households}</td><td>{v.visited}</td><td>{pct(v.coverage_pct)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="filters">
        <strong>{village ? at('campaign_left_in', { village: villageLabel(places, village) }) : at('campaign_left')}</strong>
        <ExportButtons path={`/exports/campaigns/${id}`} params={village ? { village } : {}} />
      </div>
      <table class="grid" data-testid="campaign-left">
        <thead><tr><th>{at('household')}</th><th>{at('village')}</th><th>{at('campaign_tags')}</th></tr></thead>
        <tbody>
          {left.items.map((h) => (
            <tr><td>{h.head_name || h.household_id.slice(0, 8)}</td><td>{villageLabel(places, h.village)}</td>
              <td>{h.tags.map((t) => label('household_tag', t)).join('、')}</td></tr>
          ))}
        </tbody>
      </table>
      {left.next && <button onClick={more}>{at('more')}</button>}
    </section>
  );
}

function NewCampaign({ done }) {
  const { api } = useAdmin();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState(null);
  if (!open) {
    return (
      <button type="button" onClick={() => setOpen(true)} data-testid="new-campaign">{at('new_campaign')}</button>
    );
  }
  const submit = async (event) => {
    event.preventDefault();
    const f = new FormData(event.currentTarget);
    const wrong = windowProblem(f.get('starts_on'), f.get('ends_on'));
    if (wrong) return setError(wrong);
    try {
      const answer = await api.post('/campaigns', {
        festival: f.get('festival'), starts_on: f.get('starts_on'), ends_on: f.get('ends_on'), tags: f.getAll('tags'),
      });
      setError(null);
      setOpen(false);
      done(at('campaign_defined'), answer.result.id);
    } catch (e) {
      setError(problem(e));
    }
  };
  return (
    <form class="filters" onSubmit={submit} data-testid="campaign-form">
      <label>
        {at('campaign_festival')}
        <select name="festival" required>
          {FESTIVALS.map((code) => <option value={code}>{label('festival', code)}</option>)}
        </select>
      </label>
      <label>{at('campaign_starts_on')}<input name="starts_on" type="date" required defaultValue={today()} /></label>
      <label>{at('campaign_ends_on')}<input name="ends_on" type="date" required defaultValue={today()} /></label>
      <fieldset>
        <legend>{at('campaign_tags')}</legend>
        {TAGS.map((code) => (
          <label class="chip">
            <input type="checkbox" name="tags" value={code} defaultChecked={DEFAULT_TAGS.includes(code)} />
            {label('household_tag', code)}
          </label>
        ))}
      </fieldset>
      <button class="primary-inline">{at('define_campaign')}</button>
      <button type="button" class="link" onClick={() => setOpen(false)}>{at('cancel')}</button>
      {error && <p class="error" data-testid="campaign-error">{error}</p>}
    </form>
  );
}
