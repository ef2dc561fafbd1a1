import { useEffect, useState } from 'preact/hooks';
import { useApp } from '../context.js';
import { queued } from '../lib/outbox.js';
import { refreshDetail } from '../lib/data.js';
import { searchHouseholds } from '../lib/geo.js';
import { formatTime, t } from '../i18n/index.js';
import { label } from '../i18n/vocab.js';
import { Link, useUsable } from '../router.jsx';

const SHOWN = 100; // a township has thousands; render the first matches only

export function Households() {
  const { db, version } = useApp();
  const [all, setAll] = useState(null);
  const [query, setQuery] = useState(new URLSearchParams(location.search).get('q') || '');

  useEffect(() => {
    db.getAll('households').then((list) => {
      list.sort((a, b) => (a.village_name || '').localeCompare(b.village_name || '', 'zh') || (a.head_name || '').localeCompare(b.head_name || '', 'zh'));
      setAll(list);
    });
  }, [version]);
  useUsable('households', all !== null);

  if (!all) return null;
  const found = searchHouseholds(all, query, (tag) => label('household_tag', tag));
  return (
    <section>
      <h1>{t('households_title')}</h1>
      <input
        type="search"
        class="search"
        placeholder={t('households_search')}
        value={query}
        onInput={(e) => {
          setQuery(e.currentTarget.value);
          history.replaceState(null, '', `/households?q=${encodeURIComponent(e.currentTarget.value)}`);
        }}
      />
      <p class="hint">
        {t('households_count', { n: found.length })} ·{' '}
        <Link href="/households/new" data-testid="propose-link">{t('propose_link')}</Link> ·{' '}
        <Link href="/targets" data-testid="targets-link">{t('targets_link')}</Link> ·{' '}
        <Link href="/reception" data-testid="reception-link">{t('reception_link')}</Link>
      </p>
      {new URLSearchParams(location.search).get('proposed') && <p class="hint ok">{t('propose_saved')}</p>}
      {all.length === 0 && <p class="empty">{t('households_empty')}</p>}
      <ul class="list" data-testid="household-list">
        {found.slice(0, SHOWN).map((h) => (
          <li key={h.id}>
            <Link href={`/households/${h.id}`} class="row">
              <span class="grow">
                <b>{h.head_name ?? t('household_erased')}</b> · {h.village_name || h.village}
                <small>
                  {(h.tags || []).map((tag) => label('household_tag', tag)).join('、')}
                  {h.open_issues > 0 && ` · ${t('household_open_issues')} ${h.open_issues}`}
                </small>
              </span>
              <small>{t('household_visits_year', { n: h.visits_this_year ?? 0 })}</small>
            </Link>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function HouseholdDetail({ id }) {
  const { db, api, online } = useApp();
  const [household, setHousehold] = useState(undefined);
  const [detail, setDetail] = useState(null);
  const [pending, setPending] = useState([]);
  const [fresh, setFresh] = useState(false);

  useEffect(() => {
    db.get('households', id).then((h) => setHousehold(h || null));
    db.get('details', id).then((d) => d && setDetail(d));
    queued(db).then((items) => setPending(items.filter((c) => c.type === 'check_in' && c.payload.target_id === id)));
    if (navigator.onLine)
      refreshDetail(db, api, id)
        .then((d) => {
          setDetail(d);
          setFresh(true);
          if (d.household) setHousehold((h) => h || d.household);
        })
        .catch(() => {});
  }, [id]);
  useUsable('household', household !== undefined);

  if (household === undefined) return null;
  if (household === null) return <p class="empty">{t('household_not_found')}</p>;
  const visits = detail?.visits || [];
  const issues = (detail?.issues || []).filter((i) => !['resolved', 'replied', 'rated'].includes(i.state));
  return (
    <section>
      <p>
        <a href="#" onClick={(e) => (e.preventDefault(), history.back())}>
          ‹ {t('back')}
        </a>
      </p>
      <div class="card">
        <h1>{household.head_name ?? t('household_erased')}</h1>
        <p>
          {household.township_name || household.township} {household.village_name || household.village}
        </p>
        <dl>
          <dt>{t('household_address')}</dt>
          <dd>{household.address}</dd>
          {household.phone && (
            <>
              <dt>{t('household_phone')}</dt>
              <dd>
                <a href={`tel:${household.phone}`}>{household.phone}</a>
              </dd>
            </>
          )}
          {household.size != null && (
            <>
              <dt>{t('household_size')}</dt>
              <dd>{household.size}</dd>
            </>
          )}
        </dl>
        <p class="tags">{(household.tags || []).map((tag) => <span class="pill">{label('household_tag', tag)}</span>)}</p>
        <Link href={`/checkin/${household.id}`} class="button primary">
          {t('household_check_in')}
        </Link>
      </div>
      <h2>{t('household_open_issues')}</h2>
      {issues.length === 0 ? (
        <p class="empty">{t('household_no_issues')}</p>
      ) : (
        <ul class="list">
          {issues.map((issue) => (
            <li key={issue.id}>
              <span class="grow">
                <b>{label('issue_category', issue.category)}</b> {issue.summary}
                <small>
                  {label('issue_state_field', issue.state)} · {issue.raised_at?.slice(0, 10)}
                </small>
              </span>
            </li>
          ))}
        </ul>
      )}
      <h2>{t('household_history')}</h2>
      {!fresh && !online && <p class="hint">{t('household_history_offline')}</p>}
      <ul class="list" data-testid="visit-history">
        {pending.map((c) => (
          <li key={c.id}>
            <span class="grow">
              {formatTime(c.payload.occurred_at)} · {label('visit_kind', c.payload.kind)}
              <small>
                <em>{t('today_queued')}</em>
              </small>
            </span>
          </li>
        ))}
        {visits.map((v) => (
          <li key={v.id}>
            <span class="grow">
              {formatTime(v.occurred_at)} · {label('visit_kind', v.kind)} · {v.cadre_name}
              <small>
                {(v.topics || []).map((x) => label('visit_topic', x)).join('、')}
              </small>
            </span>
            <span class={v.verified ? 'pill ok' : 'pill'}>{v.verified ? t('verified') : t('unverified')}</span>
          </li>
        ))}
      </ul>
      {visits.length === 0 && pending.length === 0 && <p class="empty">{t('household_no_history')}</p>}
    </section>
  );
}
