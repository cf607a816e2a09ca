// The CLI against the real orchestrator: most commands run in-process through runCli (same code as
// the binary, with captured output), and the compiled binary (dist/src/cli/main.js, built by
// `npm run build:server`) is spawned for the create/refuse round trip and exit statuses.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ExperimentView, RunView } from '../../src/contracts/api.js';
import type { AssignContent, Message, MetricPoint } from '../../src/contracts/wire.js';
import { runCli } from '../../src/cli/cli.js';
import { SimulatedWorker } from '../../bench/simulated-worker.js';
import { freePort } from '../support/ports.js';
import { startSystem, TEST_WORKER_KEY, type System } from '../support/system.js';

jest.setTimeout(120_000);

const GOOD_YAML = `# an lr sweep
name: cli sweep
model: { pretrained: false, conv1: { kernel: 5, stride: 1, padding: 2 } }
data: { source: fashion-mnist, train_subset: 512, test_subset: 128 }
train: { epochs: 2, batch_size: 32 }
grid:
  optim.lr: [0.001, 0.01]
`;

const BAD_YAML = `name: broken
model: { conv1: { kernel: 99 } }
optim: { lr: -1, nmae: adam }
train: { epochs: 0 }
`;

const MAIN = resolve('dist/src/cli/main.js');

/** RFC 4180 records (quoted fields may hold commas, quotes and newlines). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') field += text[++i];
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') row.push(field), (field = '');
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field || row.length) rows.push([...row, field]);
  return rows;
}

interface Result {
  code: number;
  out: string;
  err: string;
}

describe('trainyard CLI', () => {
  let sys: System;
  let dir: string;
  let worker: SimulatedWorker | null = null;
  const ids: Record<string, string> = {};

  /** Runs a command line in-process; `onOutput` sees stdout as it grows (for watch). */
  const cli = async (args: string[], onOutput?: (out: string) => void): Promise<Result> => {
    let out = '';
    let err = '';
    const code = await runCli(args, {
      write: (t) => {
        out += t;
        onOutput?.(out);
      },
      writeErr: (t) => void (err += t),
      env: { TRAINYARD_URL: sys.url },
      cwd: dir,
    });
    return { code, out, err };
  };
  const json = async <T>(args: string[]): Promise<T> => {
    const r = await cli([...args, '--json']);
    expect(r).toMatchObject({ code: 0, err: '' });
    return JSON.parse(r.out) as T;
  };
  const spawnCli = (args: string[]) =>
    new Promise<Result>((done, fail) => {
      const child = spawn(process.execPath, [MAIN, ...args], { cwd: dir, env: { ...process.env, NODE_OPTIONS: '', TRAINYARD_URL: sys.url } });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', fail);
      child.on('close', (code) => done({ code: code ?? -1, out, err }));
    });

  beforeAll(async () => {
    sys = await startSystem({ localWorker: false, heartbeatMs: 300 });
    dir = mkdtempSync(join(tmpdir(), 'trainyard-cli-'));
    writeFileSync(join(dir, 'sweep.yaml'), GOOD_YAML);
    writeFileSync(join(dir, 'broken.yml'), BAD_YAML);
    writeFileSync(join(dir, 'broken.json'), '{"name": "x", ');
    writeFileSync(join(dir, 'notes.txt'), 'name: x');
  });
  afterAll(async () => {
    await worker?.close();
    await sys?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the compiled binary creates an experiment from a YAML file and lists its runs', async () => {
    expect(existsSync(MAIN)).toBe(true); // built by `npm run build:server` (npm test builds first)
    const r = await spawnCli(['experiments', 'create', 'sweep.yaml']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^created experiment "cli sweep" \(([0-9a-f-]{36})\) with 2 runs:/);
    expect(r.out).toContain('lr=0.001');
    expect(r.out).toContain('lr=0.01');
    ids.sweep = /\(([0-9a-f-]{36})\)/.exec(r.out)![1];
    const stored = (await sys.api<{ items: RunView[] }>('GET', `/api/runs?experiment_id=${ids.sweep}&sort=created_at`)).body.items;
    expect(stored.map((s) => [s.name, s.spec.optim.lr, s.spec.train.batch_size, s.spec.model.conv1?.kernel])).toEqual([
      ['lr=0.001', 0.001, 32, 5],
      ['lr=0.01', 0.01, 32, 5],
    ]);
    // The printed table names each run by its stored id.
    for (const s of stored) expect(r.out).toMatch(new RegExp(`${s.id}\\s+${s.name.replace('.', '\\.')}\\s+queued`));
    ids.lr001 = stored[0].id;
    ids.lr01 = stored[1].id;
  });

  it('the compiled binary prints every error path of a refused YAML file and exits 1', async () => {
    const before = (await sys.api<{ total: number }>('GET', '/api/runs')).body.total;
    const r = await spawnCli(['experiments', 'create', 'broken.yml']);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toContain('broken.yml was refused (HTTP 400), 4 errors:');
    expect(r.err).toContain('  model.conv1.kernel: must be an integer in [1, 15] (got 99)');
    expect(r.err).toContain('  optim.nmae: unknown field; did you mean "name"?');
    expect(r.err).toContain('  optim.lr: must be a number in (0, 10] (got -1)');
    expect(r.err).toContain('  train.epochs: must be an integer in [1, 10000] (got 0)');
    expect((await sys.api<{ total: number }>('GET', '/api/runs')).body.total).toBe(before);
    // Usage errors exit 2.
    const usage = await spawnCli(['experiments', 'frobnicate']);
    expect(usage.code).toBe(2);
    expect(usage.err).toContain('unknown subcommand "frobnicate"');
  });

  it('reports unreadable files and bad JSON without contacting the server', async () => {
    const badJson = await cli(['experiments', 'create', 'broken.json']);
    expect(badJson.code).toBe(1);
    expect(badJson.err).toMatch(/^error: broken\.json: invalid JSON: /);
    const missing = await cli(['experiments', 'create', 'nope.yaml']);
    expect(missing).toMatchObject({ code: 1, err: 'error: cannot read nope.yaml: no such file\n' });
    const txt = await cli(['experiments', 'create', 'notes.txt']);
    expect(txt.code).toBe(2);
    expect(txt.err).toContain('notes.txt: expected a .json, .yaml or .yml file');
  });

  it('lists runs as a table, with filters, and as JSON', async () => {
    await cli(['launch', 'seed-study', '--profile', 'smoke']);
    const all = await cli(['runs']);
    expect(all.code).toBe(0);
    const lines = all.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^id\s+experiment\s+name\s+status\s+host\s+epochs\s+test acc\s+reason$/);
    expect(lines).toHaveLength(2 + 12); // header, rule, 2 sweep runs + 10 seed runs
    expect(all.out).toContain('modified_pretrained_3');
    const filtered = await cli(['runs', '--experiment', ids.sweep, '--status', 'queued']);
    expect(filtered.out.trimEnd().split('\n')).toHaveLength(4);
    expect(filtered.out).toContain(ids.lr001);
    expect(filtered.out).not.toContain('modified_pretrained_3');
    const page = await json<{ items: RunView[]; total: number }>(['runs', '--limit', '5']);
    expect(page.items).toHaveLength(5);
    expect(page.total).toBe(12);
    const bad = await cli(['runs', '--status', 'sleeping']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('unknown status "sleeping"');
  });

  it('cancels a queued run, and refuses to cancel it twice', async () => {
    const r = await cli(['cancel', ids.lr01]);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toBe(`${ids.lr01} lr=0.01: cancelled (cancelled by user)\n`);
    expect((await sys.api<RunView>('GET', `/api/runs/${ids.lr01}`)).body.status).toBe('cancelled');
    const again = await cli(['cancel', ids.lr01]);
    expect(again.code).toBe(1);
    expect(again.err).toContain('already cancelled');
    const missing = await cli(['cancel', 'no-such-run']);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('run no-such-run not found');
    const requeue = await cli(['requeue', ids.lr001]);
    expect(requeue.code).toBe(1);
    expect(requeue.err).toContain('only lost runs can be requeued');
  });

  it('clones a run with --set into a new queued experiment', async () => {
    const r = await cli(['clone', ids.lr001, '--set', 'optim.lr=3e-4', '--set', 'train.epochs=3']);
    expect(r).toMatchObject({ code: 0, err: '' });
    const created = await json<{ experiment: ExperimentView; runs: RunView[] }>(['clone', ids.lr001, '--set', 'optim.lr=3e-4', '--name', 'again']);
    expect(created.experiment.name).toBe('again');
    expect(created.runs).toHaveLength(1);
    const [copy] = created.runs;
    // The run keeps its name with the swept token replaced, and its spec with only lr changed.
    expect(copy.name).toBe('lr=0.0003');
    expect(copy.status).toBe('queued');
    const source = (await sys.api<RunView>('GET', `/api/runs/${ids.lr001}`)).body;
    expect(copy.spec).toEqual({ ...source.spec, optim: { ...source.spec.optim, lr: 0.0003 } });
    expect(copy.spec_hash).not.toBe(source.spec_hash);
    const first = /created experiment "(.+)" \(([0-9a-f-]{36})\) with 1 run:/.exec(r.out)!;
    expect(first[1]).toBe('cli sweep / lr=0.001 (clone: lr=0.0003 epochs=3)');
    const stored = (await sys.api<{ items: RunView[] }>('GET', `/api/runs?experiment_id=${first[2]}`)).body.items;
    expect(stored.map((s) => [s.name, s.spec.optim.lr, s.spec.train.epochs])).toEqual([['lr=0.0003 epochs=3', 0.0003, 3]]);

    // Every error at once, with paths: a typo in a path and a value out of range.
    const bad = await cli(['clone', ids.lr001, '--set', 'optim.lrr=1', '--set', 'train.epochs=0']);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('set.optim.lrr: not a RunSpec path; did you mean "optim.lr"?');
    expect(bad.err).toContain('train.epochs: must be an integer in [1, 10000] (got 0)');
    const usage = await cli(['clone', ids.lr001, '--set', 'optim.lr']);
    expect(usage.code).toBe(2);
    expect(usage.err).toContain('expected PATH=VALUE');
  });

  it('clones an experiment; a --set that its sweep would override is refused', async () => {
    const refused = await cli(['experiments', 'clone', ids.sweep, '--set', 'optim.lr=3e-4']);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('set.optim.lr: the experiment sweeps optim.lr in grid');
    const ok = await json<{ experiment: ExperimentView; runs: RunView[] }>(['experiments', 'clone', ids.sweep, '--set', 'train.epochs=1']);
    expect(ok.experiment.name).toBe('cli sweep (clone: epochs=1)');
    expect(ok.runs.map((r) => [r.name, r.spec.optim.lr, r.spec.train.epochs, r.status])).toEqual([
      ['lr=0.001', 0.001, 1, 'queued'],
      ['lr=0.01', 0.01, 1, 'queued'],
    ]);
  });

  it('clone over REST: overrides and set on a preset, every error at once, body checks', async () => {
    const seed = (await sys.api<ExperimentView[]>('GET', '/api/experiments')).body.find((e) => e.name === 'seed-study (smoke)')!;
    // Variants set model.pretrained themselves: a base value would be ignored for them, so it is refused.
    const shadowed = await sys.api<{ errors: { path: string; message: string }[] }>('POST', `/api/experiments/${seed.id}/clone`, { set: { 'model.pretrained': true } });
    expect(shadowed.status).toBe(400);
    expect(shadowed.body.errors).toEqual([
      { path: 'set.model.pretrained', message: expect.stringMatching(/^5 of 10 variants set model\.pretrained themselves \("pretrained", "pretrained_224", "modified_pretrained_1", \.\.\.\)/) },
    ]);
    const res = await sys.api<{ experiment: ExperimentView; runs: RunView[] }>('POST', `/api/experiments/${seed.id}/clone`, {
      overrides: { train: { epochs: 2 }, tags: ['again'] },
      set: { 'optim.lr': 0.0003, 'resources.labels': ['gpu-box'] },
    });
    expect(res.status).toBe(201);
    expect(res.body.experiment.name).toBe('seed-study (smoke) (clone: epochs=2 tags=["again"] lr=0.0003 labels=["gpu-box"])');
    expect(res.body.runs).toHaveLength(10);
    for (const r of res.body.runs) {
      expect(r.status).toBe('queued');
      expect([r.spec.optim.lr, r.spec.train.epochs, r.spec.resources.labels]).toEqual([0.0003, 2, ['gpu-box']]);
    }
    // Everything else is the preset's: the variants still differ as before.
    expect(res.body.runs.filter((r) => r.spec.model.pretrained === true).map((r) => r.name)).toEqual(['pretrained', 'pretrained_224', 'modified_pretrained_1', 'modified_pretrained_2', 'modified_pretrained_3']);
    const stored = (await sys.api<{ document: Record<string, unknown> }>('GET', `/api/experiments/${res.body.experiment.id}`)).body.document;
    expect(stored).toMatchObject({ tags: ['again'], optim: { lr: 0.0003 }, train: { epochs: 2 }, resources: { labels: ['gpu-box'] } });

    // All problems in one answer: body fields, set paths, and the resulting document's values.
    const bad = await sys.api<{ errors: { path: string; message: string }[] }>('POST', `/api/runs/${ids.lr001}/clone`, {
      colour: 'red',
      name: '',
      set: { 'optim.lr': -1, 'train.epoch': 3 },
      overrides: { data: { resize: 4 } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual(
      expect.arrayContaining([
        { path: 'colour', message: 'unknown field (allowed: name, overrides, set)' },
        { path: 'name', message: 'must be a non-empty string of at most 120 characters' },
        { path: 'set.train.epoch', message: 'not a RunSpec path; did you mean "train.epochs"?' },
        { path: 'optim.lr', message: 'must be a number in (0, 10] (got -1)' },
        { path: 'data.resize', message: 'must be an integer in [8, 1024] (got 4)' },
      ]),
    );
    expect(bad.body.errors).toHaveLength(5);
    expect((await sys.api('POST', `/api/runs/${ids.lr001}/clone`, '[1]')).status).toBe(400);
    expect((await sys.api('POST', '/api/runs/no-such-run/clone', {})).status).toBe(404);
    expect((await sys.api('POST', '/api/experiments/no-such-experiment/clone', {})).status).toBe(404);
    // No body at all: a plain copy.
    const plain = await sys.api<{ runs: RunView[] }>('POST', `/api/runs/${ids.lr001}/clone`);
    expect(plain.status).toBe(201);
    expect(plain.body.runs.map((r) => r.name)).toEqual(['lr=0.001']);
    const source = (await sys.api<RunView>('GET', `/api/runs/${ids.lr001}`)).body;
    expect(plain.body.runs[0].spec_hash).toBe(source.spec_hash);
  });

  it('exports the runs of an experiment as CSV to a file', async () => {
    const r = await cli(['export', 'runs', '--format', 'csv', '--experiment', ids.sweep, '-o', 'runs.csv']);
    expect(r).toMatchObject({ code: 0, err: '', out: 'wrote runs.csv (2 runs)\n' });
    const csv = parseCsv(readFileSync(join(dir, 'runs.csv'), 'utf8'));
    expect(csv).toHaveLength(3);
    const header = csv[0];
    expect(header.slice(0, 5)).toEqual(['id', 'name', 'experiment_id', 'experiment_name', 'status']);
    const rows = csv.slice(1);
    expect(rows.map((c) => [c[0], c[1], c[4]]).sort()).toEqual(
      [
        [ids.lr001, 'lr=0.001', 'queued'],
        [ids.lr01, 'lr=0.01', 'cancelled'],
      ].sort(),
    );
    const lr = header.indexOf('spec.optim.lr');
    expect(rows.map((c) => Number(c[lr])).sort()).toEqual([0.001, 0.01]);
    const stdout = await cli(['export', 'runs', '--experiment', ids.sweep]);
    expect(parseCsv(stdout.out)).toEqual(csv);
    expect((await cli(['export', 'runs', '--format', 'xml'])).code).toBe(2);
  });

  it('shows the queue with reasons, hosts, and presets', async () => {
    const q = await cli(['queue']);
    expect(q.code).toBe(0);
    expect(q.out).toMatch(/^\s*#\s+run\s+name\s+experiment\s+needs\s+prio\s+why it waits/);
    expect(q.out).toContain('unschedulable: needs a CPU slot; no host is online');
    const entries = await json<{ position: number }[]>(['queue']);
    expect(q.out.split('\n').filter((l) => /^\s*\d+\s+[0-9a-f-]{36}/.test(l))).toHaveLength(entries.length);
    expect((await cli(['hosts'])).out).toContain('no hosts have connected yet');
    const presets = await cli(['presets']);
    expect(presets.out).toContain('seed-study: ');
    expect(presets.out).toMatch(/smoke\s+1\s+256\s+256/);
  });

  it('watches a run live until it ends, printing each epoch', async () => {
    // A high-priority run, queued before the worker connects, so it takes the worker's one slot.
    const created = await sys.api<{ runs: RunView[] }>('POST', '/api/experiments', {
      name: 'watched',
      data: { source: 'synthetic', synthetic: { train_size: 64, test_size: 8, image_size: 36, num_classes: 2 } },
      model: { num_classes: 2 },
      train: { epochs: 2 },
      priority: 100,
    });
    const runId = created.body.runs[0].id;
    worker = new SimulatedWorker({ endpoint: sys.zmqEndpoint, key: TEST_WORKER_KEY, host: 'cli-worker', cpuSlots: 1 });
    await worker.connect();
    const a = (await worker.next((m) => m.header.type === 'assign' && (m.content as AssignContent).run_id === runId)) as Message<'assign'>;
    let seq = a.content.first_seq;
    const send = (type: 'started' | 'metrics' | 'evaluation' | 'finished', content: unknown) => worker!.send(type, content as never, { run_id: runId, seq: seq++ });
    const now = Date.now() / 1000;
    const epoch = (n: number, loss: number, acc: number, testAcc: number): MetricPoint[] =>
      [
        ['train_loss', loss + 0.3], // a point inside the epoch: not the epoch's value
        ['train_loss', loss],
        ['train_acc', acc],
        ['images_per_s', 640],
        ['test_acc', testAcc],
        ['epoch_seconds', 12.5],
      ].map(([key, value], i) => ({ key: key as string, step: n * 10 + (i === 0 ? -5 : 0), epoch: n, value: value as number, wall_time: now + n }));
    send('started', { pid: 1, device: 'cpu', attempt: a.content.attempt, resumed_from_epoch: null, params: 1, dataset: { fingerprint: 'x', train_size: 64, test_size: 8, class_names: ['a', 'b'], input_shape: [3, 36, 36] } });
    // Epoch 1 happens before anyone watches: the watcher gets it by catch-up.
    send('evaluation', { epoch: 1, split: 'test', class_names: ['a', 'b'], matrix: [[3, 1], [1, 3]], misclassified: [], loss: 0.6, samples: 8 });
    send('metrics', { points: epoch(1, 0.5, 0.8, 0.75) });
    await sys.waitForRun(runId, (r) => r.epochs_completed === 1 || r.last.test_acc !== null, 20_000);

    let resumeLive: () => void = () => undefined;
    const live = new Promise<void>((r) => (resumeLive = r));
    const watching = cli(['watch', runId, '--timeout', '60'], (out) => {
      if (out.includes('running: running on')) resumeLive();
    });
    await live;
    send('evaluation', { epoch: 2, split: 'test', class_names: ['a', 'b'], matrix: [[4, 0], [1, 3]], misclassified: [], loss: 0.4, samples: 8 });
    send('metrics', { points: epoch(2, 0.25, 0.9, 0.875) });
    send('finished', { status: 'succeeded', error: null, epochs_completed: 2 });
    const r = await watching;
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n').map((l) => l.replace(/^\d\d:\d\d:\d\d {2}/, ''));
    expect(lines[0]).toBe(`watching watched (${runId}) of watched; Ctrl-C stops watching, not the run`);
    expect(lines).toContain('epoch 1/2  train_loss 0.5000  train_acc 80.00%  test_acc 75.00%  macro_f1 0.7500  time 12.5s  images/s 640');
    // Class a: P=4/5 R=1; class b: P=1 R=3/4 -> macro F1 = (8/9 + 6/7) / 2.
    const f1 = ((8 / 9 + 6 / 7) / 2).toFixed(4);
    expect(lines).toContain(`epoch 2/2  train_loss 0.2500  train_acc 90.00%  test_acc 87.50%  macro_f1 ${f1}  time 12.5s  images/s 640`);
    expect(lines.indexOf(lines.find((l) => l.startsWith('epoch 1/2'))!)).toBeLessThan(lines.indexOf(lines.find((l) => l.startsWith('epoch 2/2'))!));
    expect(lines.filter((l) => l.startsWith('epoch ')).length).toBe(2);
    expect(lines.at(-2)).toBe('succeeded');
    expect(lines.at(-1)).toBe(`watched succeeded: epochs 2/2, test_acc 87.50%, macro_f1 ${f1}, 12.5s/epoch`);

    // The finished run in detail and next to a run without results.
    const detail = await cli(['run', runId]);
    expect(detail.out).toMatch(/status:\s+succeeded/);
    expect(detail.out).toMatch(/test acc:\s+87\.50%/);
    expect(detail.out).toMatch(/running\s+-> succeeded/);
    const cmp = await cli(['compare', runId, ids.lr001]);
    expect(cmp.code).toBe(0);
    expect(cmp.out).toMatch(/watched\s+succeeded/);
    expect(cmp.out).toContain('lr=0.001');
    expect(cmp.out).toMatch(/87\.50%/);
    // A run that ended badly makes watch exit 1 at once.
    const cancelled = await cli(['watch', ids.lr01]);
    expect(cancelled.code).toBe(1);
    expect(cancelled.out).toContain('lr=0.01 cancelled');
  });

  it('fails clearly when the server cannot be reached or the command line is wrong', async () => {
    const port = await freePort();
    const down = await cli(['runs', '--url', `http://127.0.0.1:${port}`]);
    expect(down.code).toBe(1);
    expect(down.err).toMatch(new RegExp(`^error: cannot reach Trainyard at http://127\\.0\\.0\\.1:${port}: ECONNREFUSED`));
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['cancel'])).err).toContain('cancel: missing ID');
    expect((await cli(['runs', '--bogus'])).code).toBe(2);
    const notFound = await cli(['run', 'missing-run']);
    expect(notFound).toMatchObject({ code: 1, err: 'error: run missing-run not found (HTTP 404)\n' });
  });
});
