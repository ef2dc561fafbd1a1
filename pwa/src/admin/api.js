// The admin views' HTTP client: JSON queries with the bearer token, file downloads, multipart upload,
// and the read-model change stream. The admin session lives in sessionStorage (one browser tab, gone
// when the tab closes), never in the field app's IndexedDB: an office PC is not a cadre's phone.
import { everyItem } from '../lib/pages.js';

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

const SESSION_KEY = 'grassroots.admin.session';
export const loadSession = () => {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY)) || null;
  } catch {
    return null;
  }
};
export const saveSession = (session) =>
  session ? sessionStorage.setItem(SESSION_KEY, JSON.stringify(session)) : sessionStorage.removeItem(SESSION_KEY);

/** `?a=1&b=x` from an object, leaving out empty values; arrays repeat the key. */
export function queryString(params = {}) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    for (const item of Array.isArray(value) ? value : [value]) search.append(key, String(item));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** Every page of a keyset list (`next` → `after`), 500 rows a page, up to `cap` rows. */
export const everyPage = (api, path, params = {}, cap = 2000) =>
  everyItem((after) => api.get(path, { ...params, after, limit: 500 }), cap);

/** The file name a Content-Disposition header carries (RFC 5987 `filename*` first). */
export function dispositionName(header, fallback) {
  const star = /filename\*=UTF-8''([^;]+)/i.exec(header || '');
  if (star) return decodeURIComponent(star[1]);
  const plain = /filename="?([^";]+)"?/i.exec(header || '');
  return plain ? plain[1] : fallback;
}

export function createAdminApi({ getToken, onUnauthorized = () => {}, base = '/api/v1', fetchImpl = (...a) => fetch(...a) }) {
  async function send(method, path, { body, form, accept = 'application/json' } = {}) {
    const headers = { Accept: accept };
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetchImpl(base + path, {
      method,
      headers,
      body: form ?? (body === undefined ? undefined : JSON.stringify(body)),
      cache: 'no-store',
    });
    if (!response.ok) {
      let problem = null;
      try {
        problem = await response.json();
      } catch {
        // not a problem+json body: the status says enough
      }
      if (response.status === 401) onUnauthorized();
      throw new ApiError(response.status, problem);
    }
    return response;
  }
  const json = async (method, path, options) => {
    const response = await send(method, path, options);
    return response.status === 204 ? null : response.json();
  };
  return {
    get: (path, params) => json('GET', path + queryString(params)),
    post: (path, body) => json('POST', path, { body: body ?? {} }),
    put: (path, body) => json('PUT', path, { body: body ?? {} }),
    patch: (path, body) => json('PATCH', path, { body: body ?? {} }),
    del: (path, params) => json('DELETE', path + queryString(params)),
    upload: (path, file) => {
      const form = new FormData();
      form.append('file', file, file.name);
      return json('POST', path, { form });
    },
    /** Fetches a file (XLSX, CSV) and saves it through a temporary link, keeping the server's name. */
    async download(path, params, fallback = 'download') {
      const response = await send('GET', path + queryString(params), { accept: '*/*' });
      const name = dispositionName(response.headers.get('Content-Disposition'), fallback);
      const url = URL.createObjectURL(await response.blob());
      const link = Object.assign(document.createElement('a'), { href: url, download: name });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      return name;
    },
    login: (username, password) => json('POST', '/session', { body: { username, password } }),
    logout: () => json('DELETE', '/session'),
    token: getToken,
    base,
    fetchImpl,
  };
}

/**
 * Server-Sent Events parser: feed it text chunks, it calls `onEvent({event, id, data})` per complete
 * event (comments and `retry:` lines are skipped). EventSource cannot send a bearer token, so the
 * stream is read with fetch and parsed here.
 */
export function sseParser(onEvent) {
  let buffer = '';
  return (chunk) => {
    buffer += chunk.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const message = { event: 'message', id: null, data: [] };
      for (const line of block.split('\n')) {
        if (!line || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') message.event = value;
        else if (field === 'id') message.id = value;
        else if (field === 'data') message.data.push(value);
      }
      if (message.data.length) onEvent({ ...message, data: message.data.join('\n') });
    }
  };
}

/**
 * Follows /events/stream until the returned function is called: `onChanged(projections)` on each
 * `changed` event, `onState(connected)` as the stream opens and drops; reconnects after a pause
 * (server restart, network) with the last event id.
 */
export function followChanges(api, onChanged, { retryMs = 3000, onState = () => {} } = {}) {
  let stopped = false;
  let controller = null;
  let lastId = null;
  async function run() {
    while (!stopped) {
      controller = new AbortController();
      try {
        const headers = { Accept: 'text/event-stream', Authorization: `Bearer ${api.token()}` };
        if (lastId) headers['Last-Event-ID'] = lastId;
        const response = await api.fetchImpl(`${api.base}/events/stream`, { headers, signal: controller.signal, cache: 'no-store' });
        if (!response.ok || !response.body) throw new Error(`stream: HTTP ${response.status}`);
        onState(true);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        const feed = sseParser(({ event, id, data }) => {
          if (id) lastId = id;
          if (event === 'changed') onChanged(JSON.parse(data).projections || []);
        });
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          feed(value);
        }
      } catch {
        // aborted, or the server went away: retry below unless stopped
      }
      onState(false);
      if (!stopped) await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  }
  run();
  return () => {
    stopped = true;
    controller?.abort();
  };
}
