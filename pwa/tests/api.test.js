import { describe, expect, it } from 'vitest';
import { createApi, HttpError, NetworkError } from '../src/lib/api.js';

const answer = (status, body) => async () => new Response(body === undefined ? null : JSON.stringify(body), { status });
const api = (fetchImpl) => createApi({ getToken: async () => 'tok', fetchImpl });

describe('api client', () => {
  it('sends the bearer token and the batch, and returns the per-command results', async () => {
    let seen;
    const client = api(async (url, init) => {
      seen = { url, init };
      return new Response(JSON.stringify({ results: [{ id: 'a', status: 'applied' }] }), { status: 200 });
    });
    const body = await client.sync('device-1', [{ id: 'a', type: 'check_in', payload: {} }]);
    expect(body.results[0].status).toBe('applied');
    expect(seen.url).toBe('/api/v1/sync');
    expect(seen.init.headers.Authorization).toBe('Bearer tok');
    expect(JSON.parse(seen.init.body)).toEqual({ device_id: 'device-1', commands: [{ id: 'a', type: 'check_in', payload: {} }] });
  });

  it('turns a failed fetch into a NetworkError', async () => {
    await expect(api(async () => Promise.reject(new TypeError('Failed to fetch'))).me()).rejects.toBeInstanceOf(NetworkError);
  });

  it('turns an error status into an HttpError carrying the problem', async () => {
    const error = await api(answer(503, { detail: 'down', detail_zh: '维护中' })).me().catch((e) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect(error.status).toBe(503);
    expect(error.problem.detail_zh).toBe('维护中');
  });

  it('treats an error status without a JSON body (a proxy page) as an HttpError too', async () => {
    const error = await api(async () => new Response('<html>bad gateway</html>', { status: 502 })).me().catch((e) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect(error.status).toBe(502);
  });

  it('treats a 200 whose body was cut off as not delivered', async () => {
    await expect(api(async () => new Response('{"results": [', { status: 200 })).sync('d', [])).rejects.toBeInstanceOf(NetworkError);
  });

  it('accepts the empty 204 of a logout', async () => {
    expect(await api(answer(204)).logout()).toBeNull();
  });
});
