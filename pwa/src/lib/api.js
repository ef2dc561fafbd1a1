// HTTP client for docs/contracts.md "HTTP". A failed fetch is a NetworkError, any non-2xx an
// HttpError: the outbox treats both as "not delivered".
export class NetworkError extends Error {}

export class HttpError extends Error {
  constructor(status, problem) {
    super(problem?.detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

// Households per page of the phone's download (the server allows up to 2,000): about 400 KiB of JSON.
export const HOUSEHOLDS_PAGE = 1000;

export function createApi({ getToken, base = '/api/v1', fetchImpl = (...a) => fetch(...a) }) {
  async function request(method, path, body) {
    const headers = { Accept: 'application/json' };
    const token = await getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetchImpl(base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch (error) {
      throw new NetworkError(error?.message || 'network');
    }
    if (response.status === 204) return null;
    let data = null;
    try {
      data = await response.json();
    } catch {
      if (response.ok) throw new NetworkError('truncated response');
    }
    if (!response.ok) throw new HttpError(response.status, data);
    return data;
  }
  return {
    login: (username, password) => request('POST', '/session', { username, password }),
    logout: () => request('DELETE', '/session'),
    me: () => request('GET', '/me'),
    due: (after) => request('GET', `/me/due?limit=500${after ? `&after=${encodeURIComponent(after)}` : ''}`),
    households: (since, after) => request('GET', `/me/households?limit=${HOUSEHOLDS_PAGE}${
      since ? `&since=${encodeURIComponent(since)}` : ''}${after ? `&after=${encodeURIComponent(after)}` : ''}`),
    household: (id) => request('GET', `/me/households/${encodeURIComponent(id)}`),
    stats: () => request('GET', '/me/stats'),
    cadres: () => request('GET', '/me/cadres'),
    researchTopics: () => request('GET', '/research-topics?limit=100'),
    targets: (after) => request('GET', `/targets?limit=500${after ? `&after=${encodeURIComponent(after)}` : ''}`),
    sync: (device_id, commands) => request('POST', '/sync', { device_id, commands }),
  };
}
