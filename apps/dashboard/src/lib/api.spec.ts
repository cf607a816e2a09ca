import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { api, ApiError, errorFromBody, errorText, fetchLogTail, LOG_PAGE, normalizePresets, runsQueryString } from './api';

describe('errorFromBody', () => {
  it('reads the validation body with every field error', () => {
    const e = errorFromBody(400, { statusCode: 400, message: 'invalid experiment', errors: [{ path: 'model.conv1.kernel', message: 'must be >= 1' }, { path: 'name' }] }, 'fallback');
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(400);
    expect(e.message).toBe('invalid experiment');
    expect(e.errors).toEqual([
      { path: 'model.conv1.kernel', message: 'must be >= 1' },
      { path: 'name', message: '' },
    ]);
  });
  it('joins NestJS message arrays and falls back on text or nothing', () => {
    expect(errorFromBody(400, { message: ['a', 'b'] }, 'f').message).toBe('a; b');
    expect(errorFromBody(502, 'Bad gateway\n', 'f').message).toBe('Bad gateway');
    expect(errorFromBody(500, undefined, 'f').message).toBe('f');
    expect(errorText(new ApiError('nope', 404))).toBe('nope (HTTP 404)');
    expect(errorText(new ApiError('server unreachable', 0))).toBe('server unreachable');
  });
});

describe('runsQueryString', () => {
  it('includes only what is set', () => {
    expect(runsQueryString({})).toBe('');
    expect(runsQueryString({ status: 'running', experiment_id: 'e 1', limit: 50, offset: 0 })).toBe('?status=running&experiment_id=e+1&limit=50');
    expect(runsQueryString({ offset: 100 })).toBe('?offset=100');
  });
});

describe('request', () => {
  const realFetch = globalThis.fetch;
  afterEach(() => {
    globalThis.fetch = realFetch;
  });
  const answer = (status: number, body: string) => {
    const f = jest.fn(async () => new Response(body, { status, headers: { 'content-type': 'application/json' } }));
    globalThis.fetch = f as unknown as typeof fetch;
    return f;
  };

  it('posts JSON and returns the parsed body', async () => {
    const f = answer(201, JSON.stringify({ experiment: { id: 'e' }, runs: [] }));
    await expect(api.createExperiment({ name: 'x' })).resolves.toEqual({ experiment: { id: 'e' }, runs: [] });
    const [url, init] = f.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/experiments');
    expect(init.method).toBe('POST');
    expect(init.body).toBe('{"name":"x"}');
  });

  it('turns a 400 into an ApiError carrying the field errors', async () => {
    answer(400, JSON.stringify({ statusCode: 400, message: 'bad', errors: [{ path: 'train.epochs', message: 'must be >= 1' }] }));
    const err = await api.createExperiment({}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).errors).toEqual([{ path: 'train.epochs', message: 'must be >= 1' }]);
  });

  it('refuses a response of the wrong shape with a readable error', async () => {
    answer(200, JSON.stringify({ rows: [] }));
    await expect(api.runs({})).rejects.toThrow('unexpected response shape from GET /api/runs');
    answer(200, '<html>proxy page</html>');
    await expect(api.hosts()).rejects.toThrow('unexpected response shape from GET /api/hosts');
  });

  it('reports an unreachable server', async () => {
    globalThis.fetch = (async () => {
      throw new TypeError('fetch failed');
    }) as typeof fetch;
    await expect(api.hosts()).rejects.toThrow('GET /api/hosts: server unreachable');
  });

  it('escapes ids in paths', async () => {
    const f = answer(200, JSON.stringify({ id: 'a/b' }));
    await api.run('a/b');
    expect((f.mock.calls[0] as unknown as [string])[0]).toBe('/api/runs/a%2Fb');
  });
});

describe('fetchLogTail', () => {
  const realFetch = globalThis.fetch;
  afterEach(() => {
    globalThis.fetch = realFetch;
  });

  it('pages forward to the end and keeps the last lines', async () => {
    const total = LOG_PAGE * 2 + 7;
    const urls: string[] = [];
    globalThis.fetch = (async (url: string) => {
      urls.push(url);
      const q = new URL(url, 'http://x').searchParams;
      const after = Number(q.get('after_seq'));
      const limit = Number(q.get('limit'));
      const items = [];
      for (let s = after + 1; s <= Math.min(total, after + limit); s++) items.push({ seq: s, level: 'info', message: `line ${s}`, created_at: null });
      return new Response(JSON.stringify({ items }), { status: 200 });
    }) as typeof fetch;
    const tail = await fetchLogTail('r1', 3);
    expect(tail.map((l) => l.seq)).toEqual([total - 2, total - 1, total]);
    expect(urls).toEqual([
      `/api/runs/r1/logs?after_seq=0&limit=${LOG_PAGE}`,
      `/api/runs/r1/logs?after_seq=${LOG_PAGE}&limit=${LOG_PAGE}`,
      `/api/runs/r1/logs?after_seq=${LOG_PAGE * 2}&limit=${LOG_PAGE}`,
    ]);
  });

  it('stops when a server ignores after_seq instead of looping', async () => {
    let calls = 0;
    globalThis.fetch = (async () => {
      calls++;
      const items = Array.from({ length: LOG_PAGE }, (_, i) => ({ seq: i + 1, level: 'info', message: 'x', created_at: null }));
      return new Response(JSON.stringify({ items }), { status: 200 });
    }) as typeof fetch;
    const tail = await fetchLogTail('r1', 2);
    expect(tail.map((l) => l.seq)).toEqual([LOG_PAGE - 1, LOG_PAGE]);
    expect(calls).toBe(2);
  });
});

describe('normalizePresets', () => {
  it('accepts profiles as names or as objects, and drops malformed entries', () => {
    expect(
      normalizePresets([
        { name: 'seed-study', description: 'ten runs', runs: 10, profiles: ['smoke', { name: 'quick', description: '5000 images' }, { nope: 1 }, 3], default_profile: 'quick', run_names: ['scratch', 7] },
        { description: 'no name' },
        'junk',
      ]),
    ).toEqual([
      {
        name: 'seed-study',
        description: 'ten runs',
        runs: 10,
        profiles: [
          { name: 'smoke', description: null },
          { name: 'quick', description: '5000 images' },
        ],
        default_profile: 'quick',
        run_names: ['scratch'],
      },
    ]);
  });
});
