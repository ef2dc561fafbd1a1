import { useEffect, useState } from 'preact/hooks';
import { useApp } from '../context.js';
import { getMeta } from '../lib/db.js';
import { refreshStats } from '../lib/data.js';
import { queuedCount } from '../lib/outbox.js';
import { t } from '../i18n/index.js';
import { LANGUAGES, language, setLanguage } from '../i18n/language.js';
import { Link, useUsable } from '../router.jsx';

export function Me() {
  const app = useApp();
  const [stats, setStats] = useState(undefined);
  const user = app.session.user;

  useEffect(() => {
    getMeta(app.db, 'stats').then((s) => setStats(s || null));
    // The figures move with every synced visit: ask again whenever the screen opens online.
    if (navigator.onLine) refreshStats(app.db, app.api).then(() => getMeta(app.db, 'stats').then(setStats), () => {});
  }, [app.version]);
  useUsable('me', stats !== undefined);

  async function signOut() {
    const n = await queuedCount(app.db);
    if (confirm(n > 0 ? t('logout_confirm_unsynced', { n }) : t('logout_confirm'))) await app.signOut();
  }

  if (stats === undefined) return null;
  return (
    <section>
      <h1>{user.display_name}</h1>
      <p class="hint">
        {user.county_name} · {user.username}
      </p>
      <div class="stats" data-testid="stats">
        <div>
          <b>{stats ? stats.month_visits : '–'}</b>
          <small>{t('me_month_visits')}</small>
        </div>
        <div>
          <b>{stats && stats.verified_ratio != null ? `${Math.round(stats.verified_ratio * 100)}%` : '–'}</b>
          <small>{t('me_verified_ratio')}</small>
        </div>
        <div>
          <b>{stats?.township_rank ? t('me_rank_value', { rank: stats.township_rank, size: stats.township_size }) : '–'}</b>
          <small>{t('me_rank')}</small>
        </div>
      </div>
      {!app.online && <p class="hint">{t('me_stats_offline')}</p>}
      <p>
        <Link href="/research" data-testid="research-link">{t('research_title')}</Link>
      </p>
      <label>
        {t('me_language')}
        <select
          data-testid="language"
          onChange={(e) => {
            setLanguage(e.currentTarget.value);
            app.languageChanged();
          }}
        >
          {LANGUAGES.map(([code, name]) => (
            <option value={code} selected={code === language()}>
              {name}
            </option>
          ))}
        </select>
      </label>
      <button class="danger" onClick={signOut}>
        {t('logout')}
      </button>
    </section>
  );
}
