import { useEffect, useState } from 'preact/hooks';
import { useApp } from '../context.js';
import { getMeta } from '../lib/db.js';
import { answered, dismiss, queued } from '../lib/outbox.js';
import { lastSynced, syncButton } from '../lib/status.js';
import { HttpError } from '../lib/api.js';
import { formatTime, reasonText, t } from '../i18n/index.js';
import { useUsable } from '../router.jsx';

const when = (iso) => (iso ? formatTime(iso) : t('sync_never'));

function errorText(error) {
  if (!(error instanceof HttpError)) return t('sync_error_network');
  return error.status === 401 ? t('sync_error_auth') : t('sync_error_http', { status: error.status });
}

export function Sync() {
  const app = useApp();
  const [state, setState] = useState(null);

  const load = async () => {
    const [items, back, sent, downloaded] = await Promise.all([
      queued(app.db),
      answered(app.db),
      getMeta(app.db, 'last_sync_at'),
      getMeta(app.db, 'last_download_at'),
    ]);
    setState({ items, back, last: lastSynced(sent, downloaded) });
  };
  useEffect(() => {
    load();
  }, [app.queued, app.sync, app.version]);
  useUsable('sync', state !== null);
  if (!state) return null;

  const { running, result } = app.sync;
  const button = syncButton({ online: app.online, running, queued: state.items.length });
  return (
    <section>
      <h1>{t('sync_title')}</h1>
      <div class="stats">
        <div>
          <b data-testid="queued-count">{state.items.length}</b>
          <small>{t('sync_queued')}</small>
        </div>
        <div>
          <b data-testid="last-sync">{when(state.last)}</b>
          <small>{t('sync_last')}</small>
        </div>
      </div>
      <button class="primary" disabled={button.disabled} onClick={() => app.flushNow()} data-testid="sync-now">
        {t(button.key, button.params)}
      </button>
      {app.online && result?.error && (
        <p class="warn" data-testid="sync-error">
          {t('sync_retry_in', { error: errorText(result.error), s: Math.round((result.retryIn || 0) / 1000) })}
        </p>
      )}
      {result && !result.error && result.applied + result.duplicate + result.rejected + result.conflict > 0 && (
        <p class="hint">{t('sync_done', result)}</p>
      )}
      <ul class="list">
        {state.items.map((c) => (
          <li key={c.id}>
            <span class="grow">
              {t(`sync_item_${c.type}`)} · {c.label}
              <small>{when(c.queued_at)}</small>
            </span>
          </li>
        ))}
      </ul>
      <h2>{t('sync_answered')}</h2>
      {state.back.length === 0 && <p class="empty">{t('sync_none_answered')}</p>}
      <ul class="list" data-testid="answered">
        {state.back.map((a) => (
          <li key={a.id} class="answered">
            <span class="grow">
              <b>{t(`sync_status_${a.status}`)}</b> · {t(`sync_item_${a.type}`)} · {a.label}
              <span class="reason">{reasonText(a.reason)}</span>
              <small>{a.status === 'conflict' ? t('sync_todo_conflict') : t('sync_todo_rejected')}</small>
            </span>
            <button
              class="small"
              onClick={async () => {
                await dismiss(app.db, a.id);
                load();
              }}
            >
              {t('sync_dismiss')}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
