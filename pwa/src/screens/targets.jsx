// The county's contact targets (联系对象: Party branches, enterprises, talents, projects, contact points),
// cached for offline use, searchable, each with a check-in like a household's.
import { useEffect, useState } from 'preact/hooks';
import { useApp } from '../context.js';
import { getMeta } from '../lib/db.js';
import { searchTargets, villageNames } from '../lib/visit.js';
import { t } from '../i18n/index.js';
import { label } from '../i18n/vocab.js';
import { Link, useUsable } from '../router.jsx';

const SHOWN = 100;

export function Targets() {
  const { db, version } = useApp();
  const [targets, setTargets] = useState(null);
  const [names, setNames] = useState({});
  const [query, setQuery] = useState('');
  useEffect(() => {
    Promise.all([getMeta(db, 'targets'), db.getAll('households')]).then(([cached, households]) => {
      setNames(villageNames(households));
      setTargets(cached || []);
    });
  }, [version]);
  useUsable('targets', targets !== null);

  if (!targets) return null;
  const found = searchTargets(targets, query, (kind) => label('target_kind', kind), names);
  return (
    <section>
      <h1>{t('targets_title')}</h1>
      <input type="search" class="search" placeholder={t('targets_search')} value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
      {targets.length === 0 && <p class="empty">{t('targets_empty')}</p>}
      <ul class="list" data-testid="target-list">
        {found.slice(0, SHOWN).map((target) => (
          <li key={target.target_id} data-target={target.name}>
            <span class="row grow">
              <span class="grow">
                <span class="pill">{label('target_kind', target.kind)}</span> <b>{target.name}</b>
                {target.village && ` · ${names[target.village] || target.village}`}
                {target.weak && <small> · {t('target_weak')}</small>}
              </span>
            </span>
            <Link href={`/checkin/target/${target.target_id}`} class="button small">{t('household_check_in')}</Link>
          </li>
        ))}
      </ul>
    </section>
  );
}
