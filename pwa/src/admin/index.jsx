// The county admin and province views: a separate chunk (vite.config.js writes src/admin/** and
// Leaflet to assets/admin/, which the service worker never precaches), loaded by app.jsx at /admin.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { Link, match, navigate, usePath } from '../router.jsx';
import { language, setLanguage } from '../i18n/language.js';
import { createAdminApi, followChanges, loadSession, saveSession } from './api.js';
import { at } from './i18n.js';
import { AdminContext, problem } from './context.js';
import { CoverageMap } from './map.jsx';
import { Compliance } from './compliance.jsx';
import { Assessment } from './assessment.jsx';
import { Campaigns } from './campaigns.jsx';
import { Departments } from './departments.jsx';
import { MonthlyReview } from './review.jsx';
import { IssueBoard } from './issues.jsx';
import { Leaderboards } from './leaderboards.jsx';
import { People } from './people.jsx';
import { Province } from './province.jsx';
import { Research } from './research.jsx';
import { Receptions } from './receptions.jsx';
import { Rules } from './rules.jsx';
import { Targets } from './targets.jsx';
import { VisitAudit } from './visits.jsx';
import './admin.css';

// [path, view, nav label, roles that may open it]
const VIEWS = [
  ['/admin/map', CoverageMap, 'nav_map', ['county_admin']],
  ['/admin/compliance', Compliance, 'nav_compliance', ['county_admin']],
  ['/admin/campaigns', Campaigns, 'nav_campaigns', ['county_admin']],
  ['/admin/issues', IssueBoard, 'nav_issues', ['county_admin', 'department']],
  ['/admin/review', MonthlyReview, 'nav_review', ['county_admin']],
  ['/admin/research', Research, 'nav_research', ['county_admin']],
  ['/admin/departments', Departments, 'nav_departments', ['county_admin']],
  ['/admin/leaderboards', Leaderboards, 'nav_leaderboards', ['county_admin']],
  ['/admin/assessment', Assessment, 'nav_assessment', ['county_admin']],
  ['/admin/visits', VisitAudit, 'nav_visits', ['county_admin']],
  ['/admin/people', People, 'nav_people', ['county_admin']],
  ['/admin/targets', Targets, 'nav_targets', ['county_admin']],
  ['/admin/receptions', Receptions, 'nav_receptions', ['county_admin']],
  ['/admin/rules', Rules, 'nav_rules', ['county_admin']],
  ['/admin/province', Province, 'nav_province', ['province_viewer', 'prefecture_viewer']],
];

// Province and prefecture (市州) viewers see one area's county rollups through the same view.
const VIEWERS = ['province_viewer', 'prefecture_viewer'];
const isViewer = (user) => Boolean(user?.roles.some((role) => VIEWERS.includes(role)));
const titleOf = (user) => (user?.roles.includes('prefecture_viewer') ? 'prefecture_title' : isViewer(user) ? 'province_title' : 'title');

const allowed = (roles, user) => user && user.roles.some((role) => roles.includes(role));
export const homeOf = (user) => VIEWS.find(([, , , roles]) => allowed(roles, user))?.[0] ?? null;

export default function AdminApp() {
  const path = usePath();
  const [session, setSession] = useState(loadSession);
  const [, setLang] = useState(language());
  const [changes, setChanges] = useState({});
  const [live, setLive] = useState(false);

  const api = useMemo(
    () =>
      createAdminApi({
        getToken: () => loadSession()?.token,
        onUnauthorized: () => {
          saveSession(null);
          setSession(null);
        },
      }),
    [],
  );

  // The session names the province (or prefecture) by code only; the names (海南省, and a prefecture
  // viewer's 市州 after it) come from GET /province/about.
  const [provinceName, setProvinceName] = useState(null);
  const viewer = isViewer(session?.user);
  useEffect(() => {
    setProvinceName(null);
    if (!viewer) return;
    api
      .get('/province/about')
      .then((answer) => setProvinceName([answer.name, answer.prefecture?.name || answer.prefecture?.code].filter(Boolean).join(' · ')), () => {});
  }, [session?.token, viewer]);

  const streams = session && session.user.roles.some((r) => ['county_admin', 'department'].includes(r));
  useEffect(() => {
    if (!streams) return undefined;
    const stop = followChanges(
      api,
      (projections) =>
        setChanges((before) => {
          const next = { ...before };
          for (const name of projections) next[name] = (next[name] || 0) + 1;
          return next;
        }),
      { onState: setLive },
    );
    return () => {
      setLive(false);
      stop();
    };
  }, [session?.token]);

  const signedIn = (answer) => {
    const next = { token: answer.token, user: answer.user };
    saveSession(next);
    setSession(next);
    const home = homeOf(answer.user);
    if (home) navigate(home, { replace: true });
  };
  const signOut = () => {
    api.logout().catch(() => {});
    saveSession(null);
    setSession(null);
    navigate('/admin', { replace: true });
  };

  useEffect(() => {
    document.title = at(titleOf(session?.user));
  }, [session, path]);

  if (!session) return <Login api={api} onDone={signedIn} />;
  const user = session.user;
  const home = homeOf(user);
  if (!home) {
    return (
      <div class="admin-login card">
        <p>{at('not_for_cadres')}</p>
        <a href="/today">{at('go_field')}</a>
        <button onClick={signOut}>{at('logout')}</button>
      </div>
    );
  }
  if (path === '/admin' || path === '/admin/') {
    history.replaceState(null, '', home);
  }
  const found = match(VIEWS.map(([p, view]) => [p, view]), path === '/admin' || path === '/admin/' ? home : path);
  const entry = found && VIEWS.find(([, view]) => view === found.component);
  const View = found?.component;
  const context = { api, session, user, changes, live };
  return (
    <AdminContext.Provider value={context}>
      <div class="admin">
        <header class="admin-bar">
          <strong>{at(titleOf(user))}</strong>
          <span class="admin-where" data-testid="admin-where">{user.county_name || provinceName || user.province || ''}</span>
          <nav class="admin-nav">
            {VIEWS.filter(([, , , roles]) => allowed(roles, user)).map(([href, , key]) => (
              <Link href={href} class={path.startsWith(href) ? 'active' : ''}>
                {at(key === 'nav_province' && user.roles.includes('prefecture_viewer') ? 'nav_prefecture' : key)}
              </Link>
            ))}
          </nav>
          <span class="spacer" />
          {streams && (
            <span
              class={live ? 'live on' : 'live'}
              data-testid="live"
              data-changes={Object.values(changes).reduce((sum, n) => sum + n, 0)}
            >
              {at(live ? 'live' : 'live_off')}
            </span>
          )}
          <span class="who">{user.display_name}</span>
          <button
            class="link"
            onClick={() => {
              setLanguage(language() === 'en' ? 'zh-CN' : 'en');
              setLang(language());
            }}
          >
            {at('language')}
          </button>
          <button class="link" onClick={signOut}>
            {at('logout')}
          </button>
        </header>
        {user.demo && <div class="demo">{at('demo_banner')}</div>}
        <main class="admin-main">
          {entry && allowed(entry[3], user) ? <View /> : <p class="empty" data-testid="no-access">{at('no_access')}</p>}
        </main>
      </div>
    </AdminContext.Provider>
  );
}

function Login({ api, onDone }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    document.body.dataset.usable = 'admin-login';
  }, []);
  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      onDone(await api.login(form.get('username'), form.get('password')));
    } catch (e) {
      setError(at('login_failed', { detail: problem(e) }));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="admin-login card" onSubmit={submit}>
      <h1>{at('login_title')}</h1>
      <label>
        {at('login_username')}
        <input name="username" autocomplete="username" required />
      </label>
      <label>
        {at('login_password')}
        <input name="password" type="password" autocomplete="current-password" required />
      </label>
      {error && <p class="error">{error}</p>}
      <button class="primary" disabled={busy}>
        {at('login_submit')}
      </button>
    </form>
  );
}
