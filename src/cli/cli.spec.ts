// The command line without a server: argument errors, help, and how API answers become output and
// exit statuses (fetch is replaced, so no network is involved).
import { describe, expect, it } from '@jest/globals';
import { ApiClient, CliError, normalizeBaseUrl } from './api-client.js';
import { COMMANDS, runCli } from './cli.js';
import { csvRecords } from './commands/export.js';
import type { Fetch } from './api-client.js';

interface Call {
  url: string;
  method: string;
  body: string | undefined;
  type: string | undefined;
}

function fakeFetch(answer: (call: Call) => { status: number; body: unknown }, calls: Call[] = []): Fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const call = { url: String(input), method: init?.method ?? 'GET', body: init?.body as string | undefined, type: headers['content-type'] };
    calls.push(call);
    const { status, body } = answer(call);
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  }) as Fetch;
}

async function run(args: string[], fetchImpl?: Fetch) {
  let out = '';
  let err = '';
  const code = await runCli(args, {
    write: (t) => void (out += t),
    writeErr: (t) => void (err += t),
    env: { TRAINYARD_URL: 'http://orchestrator.test:3000' },
    cwd: '/nonexistent',
    fetch: fetchImpl ?? fakeFetch(() => ({ status: 500, body: 'unexpected call' })),
  });
  return { code, out, err };
}

describe('CLI command line', () => {
  it('prints the command list without arguments (exit 2) and with help (exit 0)', async () => {
    const none = await run([]);
    expect(none.code).toBe(2);
    for (const c of COMMANDS) expect(none.out).toContain(c.name);
    expect((await run(['help'])).code).toBe(0);
    const topic = await run(['help', 'export', 'runs']);
    expect(topic.out).toContain('usage: npm run cli -- export runs [options]');
    const h = await run(['clone', '--help']);
    expect(h).toMatchObject({ code: 0 });
    expect(h.out).toContain('--set PATH=VALUE');
  });

  it('refuses unknown commands, subcommands, options and argument counts with exit 2', async () => {
    expect(await run(['lanch'])).toMatchObject({ code: 2, err: expect.stringContaining('unknown command "lanch"; did you mean "launch"?') });
    expect(await run(['experiments'])).toMatchObject({ code: 2, err: expect.stringContaining('experiments: missing subcommand; choose one of: create, list, show, clone') });
    expect(await run(['experiments', 'delete'])).toMatchObject({ code: 2, err: expect.stringContaining('unknown subcommand "delete"') });
    expect(await run(['runs', '--colour'])).toMatchObject({ code: 2, err: expect.stringContaining("Unknown option '--colour'") });
    expect(await run(['run'])).toMatchObject({ code: 2, err: expect.stringContaining('run: missing ID') });
    expect(await run(['run', 'a', 'b'])).toMatchObject({ code: 2, err: expect.stringContaining('unexpected argument "b"') });
    expect(await run(['compare', 'a'])).toMatchObject({ code: 2, err: expect.stringContaining('compare: missing ID') });
    expect(await run(['runs', '--limit', 'ten'])).toMatchObject({ code: 2, err: expect.stringContaining('--limit must be a whole number') });
    expect(await run(['watch', 'x', '--timeout', '0'])).toMatchObject({ code: 2, err: expect.stringContaining('--timeout must be a number of seconds > 0') });
    expect(await run(['export', 'runs', '--json'])).toMatchObject({ code: 2 });
  });

  it('sends clone changes as a typed JSON body and prints the created experiment', async () => {
    const calls: Call[] = [];
    const created = {
      experiment: { id: 'e2', name: 'copy', created_at: '2026-01-01T00:00:00Z', archived: false, run_ids: ['r2'] },
      runs: [{ id: 'r2', name: 'scratch lr=0.0003', status: 'queued', reason: null, host_id: null, epochs_completed: 0, spec: { train: { epochs: 10 } }, last: { test_acc: null } }],
    };
    const r = await run(['clone', 'r1', '--set', 'optim.lr=3e-4', '--set', 'resources.labels=[a100]', '--name', 'copy'], fakeFetch(() => ({ status: 201, body: created }), calls));
    expect(r.code).toBe(0);
    expect(calls).toEqual([{ url: 'http://orchestrator.test:3000/api/runs/r1/clone', method: 'POST', type: 'application/json', body: JSON.stringify({ name: 'copy', set: { 'optim.lr': 0.0003, 'resources.labels': ['a100'] } }) }]);
    expect(r.out.split('\n')[0]).toBe('created experiment "copy" (e2) with 1 run:');
    expect(r.out).toMatch(/r2\s+scratch lr=0\.0003\s+queued\s+-\s+0\/10/);
  });

  it('prints each error path of a 400 and exits 1; other errors print the message', async () => {
    const refused = fakeFetch(() => ({ status: 400, body: { statusCode: 400, message: 'invalid experiment: 2 error(s)', errors: [{ path: 'optim.lr', message: 'must be > 0' }, { path: '', message: 'too big' }] } }));
    const r = await run(['launch', 'seed-study'], refused);
    expect(r.code).toBe(1);
    expect(r.err).toBe('launch of seed-study was refused (HTTP 400), 2 errors:\n  optim.lr: must be > 0\n  (document): too big\n');
    const generic = await run(['hosts'], refused);
    expect(generic.err).toBe('error: the request was refused (HTTP 400):\n  optim.lr: must be > 0\n  (body): too big\n');
    const conflict = await run(['requeue', 'r1'], fakeFetch(() => ({ status: 409, body: { statusCode: 409, message: 'only lost runs can be requeued' } })));
    expect(conflict).toMatchObject({ code: 1, err: 'r1: only lost runs can be requeued\n' });
    const html = await run(['queue'], fakeFetch(() => ({ status: 200, body: '<html>' })));
    expect(html.code).toBe(1);
    expect(html.err).toContain('not JSON (is http://orchestrator.test:3000 a Trainyard server?)');
    const down = await run(['queue'], (async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    }) as Fetch);
    expect(down).toMatchObject({ code: 1, err: expect.stringMatching(/^error: cannot reach Trainyard at http:\/\/orchestrator\.test:3000: ECONNREFUSED\. /) });
  });

  it('passes list filters as query parameters', async () => {
    const calls: Call[] = [];
    const r = await run(['runs', '--status', 'queued, running', '--experiment', 'e 1', '--limit', '5', '--json'], fakeFetch(() => ({ status: 200, body: { items: [], total: 0 } }), calls));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ items: [], total: 0 });
    expect(calls[0].url).toBe('http://orchestrator.test:3000/api/runs?status=queued%2Crunning&experiment_id=e+1&limit=5');
  });
});

describe('API client', () => {
  it('normalizes the base URL and refuses bad ones', () => {
    expect(normalizeBaseUrl('http://h:3000/')).toBe('http://h:3000');
    expect(normalizeBaseUrl('http://h:3000/api')).toBe('http://h:3000');
    expect(normalizeBaseUrl('https://h/trainyard/api/')).toBe('https://h/trainyard');
    expect(() => normalizeBaseUrl('h:3000')).toThrow(CliError);
    expect(() => normalizeBaseUrl('localhost')).toThrow('invalid orchestrator URL');
    expect(new ApiClient('http://h:1/').baseUrl).toBe('http://h:1');
  });

  it('counts CSV records with quoted newlines and commas', () => {
    expect(csvRecords('a,b\n1,"x\ny"\n2,"p,q"\n')).toBe(3);
    expect(csvRecords('a,b\r\n1,2')).toBe(2);
    expect(csvRecords('')).toBe(0);
  });
});
