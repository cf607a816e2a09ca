// Metrics through REST on SQLite and PostgreSQL: stored evaluations, comparison (rank disagreements,
// dominance), CSV/JSON export with file names. Runs report through a simulated worker over the real
// broker so the figures are exact and known.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { EvaluationView, RunView } from '../../src/contracts/api.js';
import type { Message } from '../../src/contracts/wire.js';
import type { CompareResponse } from '../../src/metrics/compare.js';
import { SimulatedWorker } from '../../bench/simulated-worker.js';
import { testDatabases } from '../support/databases.js';
import { startSystem, TEST_WORKER_KEY, type System } from '../support/system.js';

jest.setTimeout(120_000);

const dbs = testDatabases();

// Two classes, 100 test images. A: accurate but never predicts class b (low macro F1). B: less
// accurate, better macro F1. C: worse than B and slower (B dominates C).
const MATRICES: Record<string, number[][]> = {
  a: [[90, 0], [10, 0]],
  b: [[72, 18], [2, 8]],
  c: [[63, 27], [3, 7]],
};
const SECONDS: Record<string, number> = { a: 10, b: 12, c: 30 };

describe.each(dbs)('metrics, comparison and export on $name', ({ url }) => {
  let sys: System;
  let worker: SimulatedWorker;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    sys = await startSystem({ localWorker: false, databaseUrl: await url() });
    worker = new SimulatedWorker({ endpoint: sys.zmqEndpoint, key: TEST_WORKER_KEY, cpuSlots: 3 });
    await worker.connect();
    const created = await sys.api<{ experiment: { id: string }; runs: RunView[] }>('POST', '/api/experiments', {
      name: 'compare me',
      data: { source: 'synthetic', synthetic: { train_size: 10, test_size: 100, image_size: 36, num_classes: 2 } },
      model: { num_classes: 2 },
      train: { epochs: 2 },
      variants: [{ name: 'a', overrides: {} }, { name: 'b', overrides: { optim: { lr: 0.0003 } } }, { name: 'c', overrides: { model: { maxpool: false } } }],
    });
    expect(created.status).toBe(201);
    for (const r of created.body.runs) ids[r.name] = r.id;
    for (let i = 0; i < 3; i++) {
      const a = (await worker.next((m) => m.header.type === 'assign')) as Message<'assign'>;
      const name = Object.keys(ids).find((k) => ids[k] === a.content.run_id)!;
      let seq = a.content.first_seq;
      const s = () => ({ run_id: a.content.run_id, seq: seq++ });
      worker.send('started', { pid: 1, device: 'cpu', attempt: 1, resumed_from_epoch: null, params: 1, dataset: { fingerprint: 'f', train_size: 10, test_size: 100, class_names: ['a', 'b'], input_shape: [3, 36, 36] } }, s());
      for (const epoch of [1, 2]) {
        const t = 1_800_000_000 + epoch;
        worker.send('metrics', { points: [
          { key: 'train_loss', step: epoch * 10, epoch, value: 1 / epoch, wall_time: t },
          { key: 'epoch_seconds', step: epoch * 10, epoch, value: SECONDS[name], wall_time: t },
          { key: 'images_per_s', step: epoch * 10, epoch, value: 1000 / SECONDS[name], wall_time: t },
        ] }, s());
        worker.send('evaluation', { epoch, split: 'test', class_names: ['a', 'b'], matrix: MATRICES[name], misclassified: [], loss: 0.3, samples: 100 }, s());
      }
      worker.send('finished', { status: 'succeeded', error: null, epochs_completed: 2 }, s());
    }
    for (const id of Object.values(ids)) await sys.waitForRun(id, (r) => r.status === 'succeeded', 20_000);
  });

  afterAll(async () => {
    await worker?.close();
    await sys?.close();
  });

  it('stores a confusion matrix per epoch that sums to the test-set size, with TS measures', async () => {
    for (const [name, id] of Object.entries(ids)) {
      const evals = (await sys.api<EvaluationView[]>('GET', `/api/runs/${id}/evaluations`)).body;
      expect(evals.map((e) => e.epoch)).toEqual([1, 2]);
      for (const e of evals) {
        expect(e.matrix.flat().reduce((x, y) => x + y, 0)).toBe(100);
        const m = MATRICES[name];
        expect(e.measures.accuracy).toBeCloseTo((m[0][0] + m[1][1]) / 100, 12);
      }
    }
  });

  it('compares runs: where accuracy and F1 disagree, and which run dominates', async () => {
    const res = await sys.api<CompareResponse>('POST', '/api/compare', { run_ids: [ids.a, ids.b, ids.c] });
    expect(res.status).toBe(200);
    const row = (n: string) => res.body.runs.find((r) => r.id === ids[n])!;
    expect(row('a').final.test_acc).toBeCloseTo(0.9, 12);
    expect(row('b').final.macro_f1!).toBeGreaterThan(row('a').final.macro_f1!);
    expect(row('c').seconds_per_epoch).toBe(30);
    expect(res.body.rank_disagreements).toEqual(expect.arrayContaining([expect.objectContaining({ higher_accuracy: ids.a, higher_macro_f1: ids.b })]));
    expect(res.body.dominates).toEqual(expect.arrayContaining([expect.objectContaining({ winner: ids.b, loser: ids.c })]));
    expect(res.body.curves.train_loss.epochs).toEqual([1, 2]);
    expect((await sys.api('POST', '/api/compare', { run_ids: [] })).status).toBe(400);
    expect((await sys.api('POST', '/api/compare', { run_ids: ['00000000-0000-4000-8000-000000000000'] })).status).toBe(400);
  });

  it('diffs two confusion matrices and finds the best epoch', async () => {
    const d = await sys.api<{ counts: number[][]; recall_delta: number[]; a: { epoch: number } }>('POST', '/api/compare/confusion', { a: { run_id: ids.a }, b: { run_id: ids.b, epoch: 1 } });
    expect(d.status).toBe(200);
    expect(d.body.a.epoch).toBe(2);
    // b - a, cell by cell.
    expect(d.body.counts).toEqual([[72 - 90, 18 - 0], [2 - 10, 8 - 0]]);
    expect(d.body.recall_delta[1]).toBeCloseTo(0.8, 12);
    const missing = await sys.api<{ errors: { path: string }[] }>('POST', '/api/compare/confusion', { a: { run_id: ids.a, epoch: 9 }, b: { run_id: ids.b } });
    expect(missing.status).toBe(400);
    expect(missing.body.errors[0].path).toBe('a.epoch');
    const best = await sys.api<{ best: { epoch: number; value: number } }>('GET', `/api/runs/${ids.b}/best-epoch?metric=macro_f1`);
    // Both epochs have the same matrix: ties go to the earliest.
    expect(best.body.best.epoch).toBe(1);
    expect((await sys.api('GET', `/api/runs/${ids.b}/best-epoch?metric=vibes`)).status).toBe(400);
  });

  it('exports the runs table and a history as CSV and JSON with file names', async () => {
    const expId = (await sys.api<RunView>('GET', `/api/runs/${ids.a}`)).body.experiment_id;
    const csv = await fetch(`${sys.url}/api/export/runs.csv?experiment_id=${expId}`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    expect(csv.headers.get('content-disposition')).toMatch(/attachment; filename="trainyard-runs-compare_me-\d{8}-\d{6}\.csv"/);
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines).toHaveLength(4);
    expect(lines[0].split(',')).toEqual(expect.arrayContaining(['id', 'name', 'status']));

    const json = (await sys.api<{ id: string }[]>('GET', `/api/export/runs.json?ids=${ids.a},${ids.b}`)).body;
    expect(json.map((r) => r.id).sort()).toEqual([ids.a, ids.b].sort());

    const hist = await fetch(`${sys.url}/api/export/runs/${ids.c}/history.csv`);
    const rows = (await hist.text()).trim().split('\r\n');
    expect(rows[0]).toBe('run_id,key,step,epoch,value,wall_time');
    expect(rows).toHaveLength(1 + 6);
    expect((await sys.api('GET', '/api/export/runs.xml')).status).toBe(400);
  });
});
