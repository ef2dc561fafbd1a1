// The field app: session, connectivity, outbox state and the screens. The county admin and province
// views are a separate chunk under src/admin/ (see routes below), loaded only when visited.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { getMeta, purgePersonalData, setMeta } from './lib/db.js';
import { createApi, HttpError } from './lib/api.js';
import { enqueue, queuedCount } from './lib/outbox.js';
import { createFlusher } from './lib/flusher.js';
import { flushOnce, SYNC_TAG, tokenGetter } from './lib/sync.js';
import { refreshAll } from './lib/data.js';
import { recordsAtRisk, requestPersistence } from './lib/status.js';
import { t } from './i18n/index.js';
import { Link, match, navigate, usePath } from './router.jsx';
import { AppContext, useApp } from './context.js';
import { Login } from './screens/login.jsx';
import { Today } from './screens/today.jsx';
import { Households, HouseholdDetail } from './screens/households.jsx';
import { CheckIn, TargetCheckIn } from './screens/checkin.jsx';
import { Targets } from './screens/targets.jsx';
import { Reception } from './screens/reception.jsx';
import { Propose } from './screens/propose.jsx';
import { Interview } from './screens/interview.jsx';
import { Research } from './screens/research.jsx';
import { Me } from './screens/me.jsx';
import { Sync } from './screens/sync.jsx';

// The admin entry is optional at build time (another area adds it); import.meta.glob makes it a
// separate chunk that vite.config.js writes under assets/admin/, which the service worker never precaches.
const adminEntry = Object.values(import.meta.glob('./admin/index.jsx'))[0];
function Admin() {
  const [loaded, setLoaded] = useState(null);
  useEffect(() => {
    adminEntry?.().then((module) => setLoaded(() => module.default));
  }, []);
  if (!adminEntry) return <p class="empty">{t('admin_unavailable')}</p>;
  const Entry = loaded;
  return Entry ? <Entry /> : <p class="empty">{t('loading')}</p>;
}

const FIELD_ROUTES = [
  ['/today', Today],
  ['/households', Households],
  ['/households/new', Propose], // before :id, which would take `new` for an id
  ['/households/:id', HouseholdDetail],
  ['/checkin/:id', CheckIn],
  ['/checkin/target/:id', TargetCheckIn],
  ['/targets', Targets],
  ['/reception', Reception],
  ['/interview', Interview],
  ['/research', Research],
  ['/me', Me],
  ['/sync', Sync],
];

const TABS = [
  ['/today', 'nav_today'],
  ['/households', 'nav_households'],
  ['/interview', 'nav_interview'],
  ['/sync', 'nav_sync'],
  ['/me', 'nav_me'],
];

export function App({ db, initialSession, boot = null }) {
  const path = usePath();
  const [session, setSession] = useState(initialSession);
  const [online, setOnline] = useState(navigator.onLine);
  const [queued, setQueued] = useState(boot ? boot.outbox.length : 0);
  const [sync, setSync] = useState({ running: false, result: null });
  const [version, setVersion] = useState(0); // bumped when cached data changed
  // null until the browser has answered whether it keeps our storage (lib/status.js).
  const [persistence, setPersistence] = useState(null);
  const [, setLang] = useState(0);
  const sessionRef = useRef(session);
  // What main.jsx read before the first render; stale once anything has happened after it.
  const bootRef = useRef(boot);
  useEffect(() => {
    bootRef.current = null;
  }, []);
  sessionRef.current = session;

  const api = useMemo(() => createApi({ getToken: tokenGetter(db) }), [db]);

  const expire = async () => {
    const current = await getMeta(db, 'session');
    if (current && !current.expired) {
      const expired = { ...current, expired: true };
      await setMeta(db, 'session', expired);
      setSession(expired);
    }
  };

  const flusher = useMemo(
    () =>
      createFlusher(
        async () => {
          setSync((s) => ({ ...s, running: true }));
          return flushOnce(db, api);
        },
        {
          onResult: async (result) => {
            // A flush that found nothing to send keeps the last report of one that did.
            const empty = !result.error && result.applied + result.duplicate + result.conflict + result.rejected === 0;
            setSync((s) => ({ running: false, result: empty && s.result && !s.result.error ? s.result : result }));
            setQueued(await queuedCount(db));
            if (result.error instanceof HttpError && result.error.status === 401) expire();
            const delivered = result.applied + result.duplicate + result.conflict + result.rejected;
            if (!result.error && delivered > 0) refresh();
          },
        },
      ),
    [db],
  );

  // Asked once signed in (the phone then holds personal data and soon an outbox) and again with a
  // record while still not granted: Chromium grants by engagement, which grows with use.
  const askPersistence = () => requestPersistence().then(setPersistence);

  async function refresh() {
    if (!sessionRef.current || sessionRef.current.expired) return;
    const errors = await refreshAll(db, api);
    if (Object.values(errors).some((e) => e instanceof HttpError && e.status === 401)) expire();
    setVersion((v) => v + 1);
  }

  // Offline there is nothing to try: the `online` event flushes, and failures meanwhile would only
  // stretch the backoff that the first retry after reconnecting has to wait out.
  const flushSoon = () =>
    sessionRef.current && !sessionRef.current.expired && navigator.onLine ? flusher.flushNow() : null;

  useEffect(() => {
    queuedCount(db).then(setQueued);
    const goOnline = () => {
      setOnline(true);
      flusher.reset();
      flushSoon();
    };
    const goOffline = () => setOnline(false);
    addEventListener('online', goOnline);
    addEventListener('offline', goOffline);
    // A change between the first render (useState above) and these listeners fired no event we heard.
    setOnline(navigator.onLine);
    // The service worker flushes on Background Sync; it tells us so that the counts stay true.
    const onMessage = async (event) => {
      if (event.data?.type !== 'outbox-flushed') return;
      setQueued(await queuedCount(db));
      setVersion((v) => v + 1);
    };
    navigator.serviceWorker?.addEventListener('message', onMessage);
    if (session) askPersistence(); // an expired session keeps its outbox until the next login sends it
    if (session && !session.expired && navigator.onLine) {
      flushSoon();
      refresh();
    }
    return () => {
      removeEventListener('online', goOnline);
      removeEventListener('offline', goOffline);
      navigator.serviceWorker?.removeEventListener('message', onMessage);
      flusher.stop();
    };
  }, []);

  const app = {
    db,
    bootData: () => bootRef.current,
    api,
    session,
    online,
    queued,
    sync,
    version,
    persistence,
    async signedIn(next) {
      await setMeta(db, 'session', next);
      sessionRef.current = next; // refresh() below must see it before the next render
      setSession(next);
      navigate('/today', { replace: true });
      askPersistence();
      await refresh();
      flushSoon();
    },
    async signOut() {
      api.logout().catch(() => {}); // best effort: the token also expires on the server
      flusher.stop();
      await purgePersonalData(db);
      sessionRef.current = null;
      setQueued(0);
      setSession(null);
      navigate('/login', { replace: true });
    },
    /** Queue commands, then try to deliver them (now, and by Background Sync where it exists). */
    async record(commands) {
      const ids = await enqueue(db, commands);
      setQueued(await queuedCount(db));
      if (persistence !== 'persisted') askPersistence();
      navigator.serviceWorker?.ready
        .then((registration) => registration.sync?.register(SYNC_TAG))
        .catch(() => {}); // no Background Sync (Firefox, Safari) or permission: `online` and start-up cover it
      flushSoon();
      return ids;
    },
    flushNow: () => flushSoon(),
    refresh,
    languageChanged: () => setLang((n) => n + 1),
  };

  if (path.startsWith('/admin')) {
    return (
      <AppContext.Provider value={app}>
        <Admin />
      </AppContext.Provider>
    );
  }
  if (!session || session.expired) {
    if (path !== '/login') history.replaceState(null, '', '/login');
    return (
      <AppContext.Provider value={app}>
        <Shell>
          <Login />
        </Shell>
      </AppContext.Provider>
    );
  }
  const found = match(FIELD_ROUTES, path === '/' || path === '/login' ? '/today' : path);
  if (path === '/' || path === '/login') history.replaceState(null, '', '/today');
  const Screen = found?.component;
  return (
    <AppContext.Provider value={app}>
      <Shell tabs>{Screen ? <Screen {...found.params} /> : <p class="empty">{t('not_found')}</p>}</Shell>
    </AppContext.Provider>
  );
}

function Shell({ tabs, children }) {
  const { session, online, queued, persistence } = useApp();
  const path = usePath();
  const atRisk = recordsAtRisk(persistence, queued);
  return (
    <div class="shell">
      <header>
        <strong>{t('app_name')}</strong>
        <span class="spacer" />
        {queued > 0 && (
          <Link href="/sync" class="badge" data-testid="queued-badge">
            {t('queued_badge', { n: queued })}
          </Link>
        )}
        <span class={online ? 'dot on' : 'dot off'} data-testid="connectivity">
          {online ? t('online') : t('offline')}
        </span>
      </header>
      {session?.user?.demo && <div class="demo">{t('demo_banner')}</div>}
      {/* Said before anything is lost: once the browser clears its storage, the records are gone. */}
      {atRisk > 0 && (
        <div class="at-risk" role="alert" data-testid="storage-warning">
          {t('storage_at_risk', { n: atRisk })}
        </div>
      )}
      <main>{children}</main>
      {tabs && (
        <nav>
          {TABS.map(([href, key]) => (
            <Link href={href} class={path.startsWith(href) || (href === '/households' && /^\/(checkin|targets|reception)/.test(path)) ? 'active' : ''}>
              {t(key)}
            </Link>
          ))}
        </nav>
      )}
    </div>
  );
}
