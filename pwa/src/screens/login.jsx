import { useEffect, useState } from 'preact/hooks';
import { useApp } from '../context.js';
import { purgePersonalData } from '../lib/db.js';
import { queuedCount } from '../lib/outbox.js';
import { HttpError } from '../lib/api.js';
import { problemText, t } from '../i18n/index.js';
import { useUsable } from '../router.jsx';

export function Login() {
  const app = useApp();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [waiting, setWaiting] = useState(0);
  const expired = app.session?.expired;

  useUsable('login', true);
  useEffect(() => {
    if (expired) queuedCount(app.db).then(setWaiting);
  }, []);

  async function submit(event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError('');
    if (!navigator.onLine) return setError(t('login_offline'));
    setBusy(true);
    try {
      const { token, expires_at, user } = await app.api.login(form.get('username').trim(), form.get('password'));
      const previous = app.session?.user;
      if (previous && previous.id !== user.id) {
        // Another account's unsynced records cannot be sent with this token: say so before deleting.
        const n = await queuedCount(app.db);
        if (n > 0 && !confirm(t('login_other_user', { n }))) return;
        await purgePersonalData(app.db);
      }
      await app.signedIn({ token, expires_at, user });
    } catch (e) {
      setError(e instanceof HttpError ? t('login_failed', { detail: problemText(e) }) : t('login_offline'));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="card login" onSubmit={submit}>
      <h1>{t('login_title')}</h1>
      {expired && <p class="warn">{t('login_expired', { n: waiting })}</p>}
      <label>
        {t('login_username')}
        <input name="username" autocomplete="username" required defaultValue={app.session?.user?.username || ''} />
      </label>
      <label>
        {t('login_password')}
        <input name="password" type="password" autocomplete="current-password" required />
      </label>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button class="primary" disabled={busy}>
        {busy ? t('login_busy') : t('login_submit')}
      </button>
    </form>
  );
}
