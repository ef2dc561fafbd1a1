import { useEffect, useState } from 'preact/hooks';
import { useApp } from '../context.js';
import { getMeta } from '../lib/db.js';
import { queued } from '../lib/outbox.js';
import { chinaDay, distanceMetres, formatDistance, inCampaign, orderDue } from '../lib/geo.js';
import { label } from '../i18n/vocab.js';
import { t } from '../i18n/index.js';
import { Link, useUsable } from '../router.jsx';

const visitedIn = (outbox) => new Set(outbox.filter((c) => c.type === 'check_in').map((c) => c.payload.target_id));

export function Today() {
  const { db, version, bootData } = useApp();
  // At start-up main.jsx has read the data already: the first render is the finished screen.
  const [boot] = useState(bootData);
  const [items, setItems] = useState(boot ? boot.due : null);
  const [visited, setVisited] = useState(() => visitedIn(boot ? boot.outbox : []));
  const [here, setHere] = useState(null);
  // The check-in screen comes back with ?saved=1: say so once, then drop it from the address.
  const [saved] = useState(() => location.search.includes('saved=1'));
  useEffect(() => {
    if (saved) history.replaceState(null, '', '/today');
  }, []);

  useEffect(() => {
    if (boot && version === 0) return;
    Promise.all([getMeta(db, 'due'), queued(db)]).then(([due, outbox]) => {
      setItems(due || []);
      setVisited(visitedIn(outbox));
    });
  }, [version]);

  useUsable('today', items !== null);

  useEffect(() => {
    // A coarse, possibly cached fix is enough to order a list; never block the screen on it.
    navigator.geolocation?.getCurrentPosition(
      (p) => setHere({ lat: p.coords.latitude, lon: p.coords.longitude }),
      () => {},
      { enableHighAccuracy: false, maximumAge: 10 * 60 * 1000, timeout: 20000 },
    );
  }, []);

  if (items === null) return null;
  const day = chinaDay();
  const ordered = orderDue(items, here, day);
  return (
    <section>
      <h1>{t('today_title')}</h1>
      {saved && <p class="hint ok">{t('checkin_saved')}</p>}
      {!here && items.length > 0 && <p class="hint">{t('today_no_position')}</p>}
      {ordered.length === 0 && <p class="empty">{t('today_empty')}</p>}
      <ul class="list" data-testid="due-list">
        {ordered.map((item) => (
          <li key={item.household_id + item.reason} class={inCampaign(item, day) ? `${item.status} campaign` : item.status}>
            <Link href={`/households/${item.household_id}`} class="row">
              <span class="grow">
                {inCampaign(item, day) && (
                  <span class="pill campaign" data-testid="campaign-pill">
                    {t('today_campaign', { festival: label('festival', item.campaign.festival), date: item.campaign.ends_on })}
                  </span>
                )}
                <span class={`pill ${item.status}`}>{item.status === 'overdue' ? t('today_overdue') : t('today_due')}</span>
                <b>{item.head_name ?? t('household_erased')}</b> · {item.village_name || item.village}
                <small>
                  {t(`today_reason_${item.reason}`)} · {t('today_due_date', { date: item.due_date })} ·{' '}
                  {item.last_visit ? t('today_last_visit', { date: item.last_visit.slice(0, 10) }) : t('today_never')}
                  {visited.has(item.household_id) && <em> · {t('today_queued')}</em>}
                </small>
              </span>
              {here && item.lat != null && <span class="dist">{formatDistance(distanceMetres(here, item))}</span>}
            </Link>
            <Link href={`/checkin/${item.household_id}${inCampaign(item, day) ? '?kind=festival' : ''}`} class="button small">
              {t('household_check_in')}
            </Link>
          </li>
        ))}
      </ul>
    </section>
  );
}
